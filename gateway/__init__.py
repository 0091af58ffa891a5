"""The service-desk gateway's core: decisions only, standard library only."""
