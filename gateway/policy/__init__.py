"""The rules every inbound message passes, one per file, ordered by `chain.RULES`."""
