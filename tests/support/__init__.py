"""One of each test helper: waiting, an SMTP sink, the gateway process, seeding, outcomes, defaults."""
