"""Email path benchmark: SMTP acceptance rate, end-of-DATA -> 250 latency, time to tickets.

Starts `gateway run` as a subprocess on a fresh database, sends MESSAGES mails from
SESSIONS concurrent SMTP sessions (4 KB each, a unique token in Message-ID and body),
then waits until every stored item is processed. Prints figures; asserts nothing about
time, but checks the ledger: lost = acknowledged - stored, duplicate tickets.

    .venv/bin/python bench/email_path.py [--messages 2000] [--sessions 50] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from store import admin  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

MEMBERS = 100
FILLER = ("Het probleem met mijn bestelling blijft bestaan, ook na opnieuw inloggen. " * 60)[:3800]


def message(index: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"member{index % MEMBERS}@bench.example"
    mail["To"] = "support@example.org"
    mail["Subject"] = f"Nederlands - Bestelling {index} lukt niet"
    mail["Message-ID"] = f"<token-{index}@bench.example>"
    mail.set_content(f"token-{index}\n{FILLER}")
    return mail


async def session(port: int, indexes: list[int], latencies: list[float], acked: set[int]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await client.connect()
    for index in indexes:
        started = time.perf_counter()
        try:
            await client.send_message(message(index))
        except aiosmtplib.SMTPException as error:
            print(f"refused {index}: {error}", file=sys.stderr)
            continue
        latencies.append(time.perf_counter() - started)
        acked.add(index)
    await client.quit()


def bench_database(url: str) -> str:
    """A fresh schema `bench` on the given PostgreSQL database, as a URL that uses it."""
    if not url:
        return ""
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench"))
    admin_engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dbench"


def waiting(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(
            text("SELECT count(*) FROM inbox WHERE status = 'received'")).scalar() or 0)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prepare(database: str, prefix: str) -> tuple[Path, str, Engine]:
    """A data dir, a migrated empty database and MEMBERS Gold members."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    url = bench_database(database) or f"sqlite:///{data_dir / 'gateway.db'}"
    engine = make_engine(url)
    upgrade(engine)
    for number in range(MEMBERS):
        admin.upsert_member(engine, member_id=str(number), name=f"Member {number}",
                            email=f"member{number}@bench.example", rank="Gold", language="nl")
    return data_dir, url, engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    data_dir, url, engine = prepare(args.database, "gw-bench-")
    port = free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_DATABASE__URL": url,
           "GATEWAY_SMTP__PORT": str(port), "GATEWAY_SECURITY__SECRET": "bench",
           "GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR": "1000000",
           "GATEWAY_POLICY__MAX_AUTO_REPLIES_PER_HOUR": "1000000"}
    process = subprocess.Popen([sys.executable, "-m", "adapters", "run"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None and process.stdout.readline().startswith("ready")

    latencies: list[float] = []
    acked: set[int] = set()
    chunks = [list(range(i, args.messages, args.sessions)) for i in range(args.sessions)]
    started = time.perf_counter()

    async def drive() -> None:
        await asyncio.gather(*(session(port, chunk, latencies, acked) for chunk in chunks))

    asyncio.run(drive())
    sent_in = time.perf_counter() - started
    while waiting(engine):
        time.sleep(0.2)  # outside any transaction: on SQLite one holds the write lock
    processed_in = time.perf_counter() - started
    with engine.connect() as connection:
        stored = {int(v.split("-")[1].split("@")[0]) for v in connection.execute(text(
            "SELECT external_id FROM messages WHERE external_id LIKE 'token-%'")).scalars()}
        tickets = connection.execute(text("SELECT count(*) FROM tickets")).scalar() or 0
    rss = peak_rss_mb(process.pid)
    process.terminate()
    process.wait(timeout=30)
    latencies.sort()
    figures = {
        "database": url.split("://")[0], "messages": args.messages, "sessions": args.sessions,
        "acknowledged": len(acked), "lost": len(acked - stored),
        "duplicate_tickets": tickets - len(stored),
        "smtp_accepted_per_s": round(len(acked) / sent_in, 1),
        "tickets_per_s": round(tickets / processed_in, 1),
        "data_to_250_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "data_to_250_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "gateway_peak_rss_mb": round(rss, 1),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
