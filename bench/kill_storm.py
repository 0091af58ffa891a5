"""Kill storm: SMTP load while `gateway run` is killed with SIGKILL again and again.

A ledger records every token that got a 250. After the storm the gateway drains and the
figures are checked against the ledger (RELIABILITY 46-47): lost = acknowledged - stored,
duplicate tickets, and outbound duplicates at a sink relay (same Message-ID twice), which
may only come from sends whose relay answer was lost in a kill.

    .venv/bin/python bench/kill_storm.py [--kills 10] [--sessions 20] [--database URL]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.email_path import message, prepare, waiting  # noqa: E402
from tests.conftest import free_port  # noqa: E402


class Sink:
    """The outbound relay: counts deliveries per Message-ID."""

    def __init__(self) -> None:
        self.delivered: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "content", b"")
        self.delivered[str(message_from_bytes(content)["Message-ID"])] += 1
        return "250 OK"


def drive(port: int, stop: threading.Event, acked: set[int], counter: list[int],
          lock: threading.Lock) -> None:
    """One SMTP client: new connection per message, retries whatever was not acknowledged."""
    while not stop.is_set():
        with lock:
            index = counter[0]
            counter[0] += 1
        while not stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    client.send_message(message(index))
                acked.add(index)
                break
            except (OSError, smtplib.SMTPException):
                time.sleep(0.2)  # the gateway is down or answered 4xx: try again


def unsent(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar() or 0)


def start(env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "adapters", "run"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None and process.stdout.readline().startswith("ready")
    return process, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    data_dir, url, engine = prepare(args.database, "gw-storm-")
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    port = free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_DATABASE__URL": url,
           "GATEWAY_SMTP__PORT": str(port), "GATEWAY_SECURITY__SECRET": "storm",
           "GATEWAY_OUTBOUND__HOST": "127.0.0.1", "GATEWAY_OUTBOUND__PORT": str(relay.port),
           "GATEWAY_OUTBOUND__SECURITY": "none",
           "GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR": "1000000",
           "GATEWAY_POLICY__MAX_AUTO_REPLIES_PER_HOUR": "1000000"}
    process, _ = start(env)
    stop, lock, acked, counter = threading.Event(), threading.Lock(), set[int](), [0]
    clients = [threading.Thread(target=drive, args=(port, stop, acked, counter, lock))
               for _ in range(args.sessions)]
    for client in clients:
        client.start()
    restarts = []
    for _ in range(args.kills):
        time.sleep(random.uniform(2, 6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process, took = start(env)
        restarts.append(took)
    time.sleep(2)
    stop.set()
    for client in clients:
        client.join()
    while waiting(engine):
        time.sleep(0.2)
    drained = time.perf_counter()
    while unsent(engine) and time.perf_counter() - drained < 300:
        time.sleep(0.5)
    drained = time.perf_counter() - drained
    with engine.connect() as connection:
        stored = {int(v.split("-")[1].split("@")[0]) for v in connection.execute(text(
            "SELECT external_id FROM messages WHERE external_id LIKE 'token-%'")).scalars()}
        tickets = connection.execute(text("SELECT count(*) FROM tickets")).scalar() or 0
        pending = connection.execute(text(
            "SELECT count(*) FROM outbox WHERE status <> 'sent'")).scalar() or 0
    process.send_signal(signal.SIGTERM)
    exit_code = process.wait(timeout=30)
    relay.stop()
    sends = sum(sink.delivered.values())
    figures = {
        "database": url.split("://")[0], "kills": args.kills, "acknowledged": len(acked),
        "stored": len(stored), "lost": len(acked - stored),
        "duplicate_tickets": tickets - len(stored),
        "outbound_delivered": sends,
        "outbound_duplicates": sends - len(sink.delivered),
        "outbound_not_yet_sent": pending,
        "outbox_drain_after_load_s": round(drained, 1),
        "restart_to_ready_s_max": round(max(restarts), 2) if restarts else None,
        "sigterm_exit_code": exit_code,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
