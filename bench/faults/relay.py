"""Relay down (RELIABILITY 49): the outbound relay refuses connections for a stretch while
mail arrives, then comes back; everything pending is delivered once, nothing is marked sent
while it is down.

The gateway retries a refused send after 30 s, then 1, 2, 4 ... minutes (gateway.delivery.
backoff). A poller records when each outbox row's attempt count went up; from the same
backoff function the scenario projects the wait after recovery for a 30-minute outage (the
gateway offers no accelerated clock, and the product is not changed for one).
"""

from __future__ import annotations

import argparse
import collections
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from bench.email_path import prepare
from bench.faults.common import (
    Gateway,
    SmtpLoad,
    drain,
    five_hundreds,
    gateway_env,
    ledger,
    quarantined,
    running_relay,
    smtp_tokens,
)
from gateway.delivery import backoff
from store import outbox
from store.unit_of_work import aware

THIRTY_MINUTES = 1800


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outage", type=float, default=75.0, help="seconds the relay refuses")
    parser.add_argument("--mails", type=int, default=60,
                        help="mails sent, spread over the first two thirds of the outage")
    parser.add_argument("--sessions", type=int, default=4)


def wait_after_recovery(outage_s: float, created_s: float) -> float:
    """When a row created `created_s` into an outage is next tried after the relay is back."""
    at, attempts = created_s, 0
    while at < outage_s:
        attempts += 1
        at += backoff(attempts).total_seconds()
    return at - outage_s


def projected(outage_s: float) -> dict[str, float]:
    """Worst and mean wait after recovery over rows created at each second of the outage."""
    waits = [wait_after_recovery(outage_s, c) for c in range(int(outage_s))]
    return {"outage_s": round(outage_s), "worst_wait_after_recovery_s": round(max(waits)),
            "mean_wait_after_recovery_s": round(sum(waits) / len(waits), 1)}


class AttemptLog:
    """Polls the outbox every second: when each row's attempts went up (seconds since `t0`)."""

    def __init__(self, engine: Engine, t0: float) -> None:
        self.engine, self.t0 = engine, t0
        self.attempts: dict[int, int] = {}
        self.seen: dict[int, list[float]] = collections.defaultdict(list)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stopping.wait(1.0):
            with self.engine.connect() as connection:
                rows = connection.execute(text("SELECT id, attempts FROM outbox")).all()
            now = round(time.time() - self.t0)
            for row_id, attempts in rows:
                if attempts > self.attempts.get(row_id, 0):
                    self.seen[row_id].append(now)
                self.attempts[row_id] = attempts

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir, url, engine = prepare(args.database, "gw-faults-relay-")
    with running_relay() as relay:
        gateway = Gateway(gateway_env(data_dir, url, relay.port), data_dir / "gateway.log")
        try:
            gateway.start()
            relay.down()
            t_down = time.time()
            attempts = AttemptLog(engine, t_down)
            load = SmtpLoad(gateway.smtp_port, args.sessions, rate=args.mails / (args.outage * 2 / 3))
            load.start()
            while len(load.acked) < args.mails and time.time() - t_down < args.outage:
                time.sleep(0.2)
            load.stop()
            time.sleep(max(0.0, t_down + args.outage - time.time()))
            while_down = outbox_state(engine)
            relay.up()
            t_up = time.time()
            drained_s = drain(engine)
            attempts.stop()
            figures = {"database": url.split("://")[0], "relay_refused_s": round(t_up - t_down, 1),
                       "smtp": ledger(smtp_tokens(load.acked), engine) | {
                           "five_hundreds": five_hundreds(load.counts())}}
            figures |= delivery_figures(engine, relay.sink.delivered, while_down, t_up)
            figures |= {"drain_after_recovery_s": round(drained_s, 1),
                        "attempts_seen_s_after_outage_start": sample(attempts.seen),
                        "quarantined": quarantined(engine),
                        "projection_30_min": projected(THIRTY_MINUTES),
                        "projection_this_outage": projected(t_up - t_down),
                        "sigterm_exit_code": gateway.stop()}
            return figures
        finally:
            gateway.stop()


def outbox_state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        by_status = connection.execute(text(
            "SELECT status, count(*) FROM outbox GROUP BY status")).all()
        by_attempts = connection.execute(text(
            "SELECT attempts, count(*) FROM outbox GROUP BY attempts ORDER BY attempts")).all()
    return {"by_status": {str(k): int(v) for k, v in by_status},
            "rows_by_attempts": {str(k): int(v) for k, v in by_attempts}}


def delivery_figures(engine: Engine, delivered: collections.Counter[str],
                     while_down: dict[str, Any], t_up: float) -> dict[str, Any]:
    """Every outbox row sent once, none marked sent while the relay refused."""
    rows = outbox.rows(engine, limit=1_000_000)
    ids = {row.message_id.strip("<>") for row in rows}
    sent_at = [at for row in rows if (at := aware(row.sent_at)) is not None]
    up = datetime.fromtimestamp(t_up, UTC)
    got = collections.Counter({str(m).strip("<>"): n for m, n in delivered.items()})
    return {"outbox_while_down": while_down,
            "marked_sent_while_down": while_down["by_status"].get("sent", 0),
            "outbound": {"queued": len(ids), "delivered": len(set(got) & ids),
                         "lost": len(ids - set(got)),
                         "duplicated": sum(n - 1 for n in got.values()),
                         "not_ours": len(set(got) - ids),
                         "sent_before_recovery": sum(1 for a in sent_at if a < up)},
            "recovery_to_sent_s": spread([(a - up).total_seconds() for a in sent_at])}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {"min": round(ordered[0], 1), "p50": round(ordered[len(ordered) // 2], 1),
            "max": round(ordered[-1], 1)}


def sample(seen: dict[int, list[float]]) -> dict[str, list[float]]:
    """The attempt times of the first, middle and last row (by id)."""
    ids = sorted(seen)
    picked = [ids[0], ids[len(ids) // 2], ids[-1]] if ids else []
    return {f"row {row_id}": seen[row_id] for row_id in dict.fromkeys(picked)}
