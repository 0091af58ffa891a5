"""The runners that move work between the ledgers, named as Mailman names its own.

ingest (channels -> inbox), incoming (inbox -> core -> outbox), outgoing (outbox -> each
channel's Sender), scheduler (follow-ups, chat batches); each runs in a `loop.Loop`.
"""

from __future__ import annotations

from datetime import timedelta

# How long a claimed inbox or outbox row stays with its runner before another may take it
# (the runner died), and how many rows one round claims.
LEASE = timedelta(minutes=2)
BATCH = 50
