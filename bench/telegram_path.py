"""Updates per second through the whole Telegram path, and update -> reply latency.

A local Bot API server (tests/telegram/fake_bot_api.py) feeds `gateway run` (a subprocess,
SQLite or GATEWAY_TEST_DATABASE_URL) with /tickets updates from linked members; each is
polled, stored, processed (member lookup, ticket query, reply rendered into the outbox) and
delivered with sendMessage. Prints figures; asserts nothing about time.

    .venv/bin/python -m bench.telegram_path [updates]
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from store import admin
from store.engine import make_engine
from store.migrate import upgrade
from tests.telegram import updates as u
from tests.telegram.conftest import TOKEN, TelegramDesk, desk_env
from tests.telegram.fake_bot_api import BotApiState, running

FIRST_USER = 700_000


def database(tmp: str) -> tuple[str, Callable[[], None]]:
    """SQLite in `tmp`, or a schema of its own in GATEWAY_TEST_DATABASE_URL (dropped after)."""
    base = os.environ.get("GATEWAY_TEST_DATABASE_URL", "")
    if not base:
        return f"sqlite:///{tmp}/gateway.db", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin_engine.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


def one_at_a_time(api: BotApiState, count: int) -> list[float]:
    """Unloaded latency: the next update only after the previous reply."""
    latencies = []
    for n in range(count):
        user = FIRST_USER + n
        before = len(api.sent(chat_id=user))
        start = time.monotonic()
        api.push(u.message(user, "/tickets"))
        while len([p for p in api.sent(chat_id=user) if "message_id" in p]) <= before:
            time.sleep(0.002)
        latencies.append(time.monotonic() - start)
    return sorted(latencies)


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, running(TOKEN) as (api, base_url):
        url, drop = database(tmp)
        engine = make_engine(url)
        upgrade(engine)
        for n in range(count):
            admin.upsert_member(engine, member_id=f"B{n}", name=f"Bench {n}",
                                email=f"b{n}@example.net", rank="Gold",
                                telegram_user_id=FIRST_USER + n)
        desk = TelegramDesk(Path(tmp), desk_env(Path(tmp), url, base_url))
        desk.start()
        try:
            pushed = {}
            started = time.monotonic()
            for n in range(count):
                pushed[FIRST_USER + n] = time.monotonic()
                api.push(u.message(FIRST_USER + n, "/tickets"))
            replied: dict[int, float] = {}
            deadline = time.monotonic() + 300
            while len(replied) < count and time.monotonic() < deadline:
                with api.lock:
                    for method, params, at in api.calls:
                        if method == "sendMessage" and "message_id" in params:
                            replied.setdefault(int(params["chat_id"]), at)
                time.sleep(0.02)
            elapsed = max(replied.values()) - started
            latencies = sorted(replied[c] - pushed[c] for c in replied)
            single = one_at_a_time(api, min(count, 50))
        finally:
            desk.stop(signal.SIGTERM)
            engine.dispose()
            drop()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"database: {url.split(':')[0]}  updates: {count}  replied: {len(latencies)}")
    print(f"throughput: {len(latencies) / elapsed:.1f} updates/s (burst of {count}, end to end)")
    print(f"one at a time: p50 {statistics.median(single) * 1000:.0f} ms, "
          f"p99 {single[min(len(single) - 1, int(len(single) * 0.99))] * 1000:.0f} ms "
          f"({len(single)} updates)")
    print(f"latency in the burst, update->reply: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
