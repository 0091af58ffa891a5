"""IMAP path benchmark: Dovecot -> `gateway run` (IDLE) -> inbox -> tickets -> .eml acknowledgements.

Starts a throwaway Dovecot and the gateway on a fresh database, APPENDs MESSAGES mixed mails
(whole messages from the shared corpus, read in place, and generated member mails, a third
with attachments) from APPENDERS connections, then waits until every one is processed.
Prints messages per second (first APPEND -> last item processed) and, for member mails,
APPEND -> acknowledgement written (p50/p99). Asserts nothing about time; checks the ledger.

    .venv/bin/python bench/imap_path.py [--messages 2000] [--appenders 4] [--rate 0]
                                        [--database URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.email.ingest import dedupe_key  # noqa: E402
from store import admin  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.tables import InboxRow  # noqa: E402
from tests.imap.dovecot import PASSWORD, Dovecot  # noqa: E402
from tests.imap.test_imap_corpus import corpus_messages  # noqa: E402

MEMBERS = 100
FILLER = "De knop om mijn bestelling af te ronden doet niets, ook niet na opnieuw inloggen.\n" * 20


def member_mail(index: int) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = f"member{index % MEMBERS}@bench.example", "support@example.org"
    mail["Subject"] = f"Nederlands - Bestelling {index} lukt niet"
    mail["Message-ID"] = f"<imap-token-{index}@bench.example>"
    mail.set_content(f"imap-token-{index}\n{FILLER}")
    if index % 3 == 0:
        mail.add_attachment(bytes(range(256)) * 64, maintype="image", subtype="png",
                            filename=f"scherm-{index}.png")
    return bytes(mail)


def fresh_database(url: str, data_dir: Path) -> tuple[str, Engine | None]:
    """A SQLite file, or a PostgreSQL schema of its own (dropped at the end)."""
    if not url:
        return f"sqlite:///{data_dir / 'gateway.db'}", None
    schema = f"bench_imap_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", admin_engine


def watch_acks(outbox: Path, seen: dict[str, float], stop: threading.Event) -> None:
    """Records when each acknowledgement (In-Reply-To our token) appears in the outbox."""
    known: set[str] = set()
    parser = BytesHeaderParser(policy=compat32)
    while not stop.is_set():
        for path in outbox.glob("*.eml") if outbox.is_dir() else ():
            if path.name in known:
                continue
            known.add(path.name)
            reply_to = str(parser.parsebytes(path.read_bytes()).get("In-Reply-To", ""))
            if "imap-token-" in reply_to:
                seen.setdefault(reply_to.strip("<> ").split("@")[0], time.time())
        time.sleep(0.01)


def append_all(server: Dovecot, user: str, mails: list[tuple[str, bytes]],
               appended: dict[str, float], interval: float) -> None:
    client = server.client(user)
    started = time.perf_counter()
    for number, (token, raw) in enumerate(mails):
        if interval and (ahead := started + number * interval - time.perf_counter()) > 0:
            time.sleep(ahead)
        client.append("Support", raw)
        appended[token] = time.time()
    client.logout()


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM inbox")).scalar() or 0
        waiting = connection.execute(
            text("SELECT count(*) FROM inbox WHERE status = 'received'")).scalar() or 0
    return int(total), int(waiting)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def start_gateway(data_dir: Path, url: str, server: Dovecot, user: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_DATABASE__URL": url,
           "GATEWAY_SECURITY__SECRET": "bench", "GATEWAY_SMTP__ENABLED": "false",
           "GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR": "1000000",
           "GATEWAY_POLICY__MAX_AUTO_REPLIES_PER_HOUR": "1000000",
           "GATEWAY_IMAP__ENABLED": "true", "GATEWAY_IMAP__PORT": str(server.port),
           "GATEWAY_IMAP__TLS": "false", "GATEWAY_IMAP__USERNAME": user,
           "GATEWAY_IMAP__PASSWORD": PASSWORD, "GATEWAY_IMAP__FOLDER": "Support"}
    log = open(data_dir / "gateway.log", "w")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "adapters", "run"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None and process.stdout.readline().startswith("ready")
    deadline = time.monotonic() + 20
    while "IDLE)" not in (data_dir / "gateway.log").read_text():
        assert time.monotonic() < deadline, "the gateway did not reach IDLE"
        time.sleep(0.05)
    return process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--appenders", type=int, default=4)
    parser.add_argument("--database", default="")
    parser.add_argument("--rate", type=float, default=0, help="APPENDs per second; 0: flat out")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="gw-imap-bench-"))
    url, admin_engine = fresh_database(args.database, data_dir)
    engine = make_engine(url)
    upgrade(engine)
    for number in range(MEMBERS):
        admin.upsert_member(engine, member_id=str(number), name=f"Member {number}",
                            email=f"member{number}@bench.example", rank="Gold", language="nl")
    corpus = corpus_messages(args.messages // 5)
    mails = [(f"corpus-{n}", raw) for n, raw in enumerate(corpus)]
    mails += [(f"imap-token-{n}", member_mail(n)) for n in range(args.messages - len(corpus))]
    mails.sort(key=lambda pair: hash(pair[0]))  # mixed
    server = Dovecot()
    server.start()
    user = server.new_user()
    client = server.client(user)
    client.create_folder("Support")
    client.logout()
    process = start_gateway(data_dir, url, server, user)
    appended: dict[str, float] = {}
    acks: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_acks, args=(data_dir / "outbox", acks, stop))
    watcher.start()
    try:
        started = time.perf_counter()
        appenders = [threading.Thread(target=append_all,
                                      args=(server, user, mails[i::args.appenders], appended,
                                            args.appenders / args.rate if args.rate else 0.0))
                     for i in range(args.appenders)]
        for thread in appenders:
            thread.start()
        for thread in appenders:
            thread.join()
        appended_in = time.perf_counter() - started
        expected = len({raw for _, raw in mails})
        stored_in = 0.0
        while True:
            total, waiting = counts(engine)
            if total >= expected - len(corpus) and not waiting:
                box = server.client(user)
                left = box.folder_status("Support", [b"MESSAGES"])[b"MESSAGES"]
                box.logout()
                if left == 0:
                    break
            if not stored_in and total >= expected - len(corpus):
                stored_in = time.perf_counter() - started
            time.sleep(0.1)
        processed_in = time.perf_counter() - started
        members = [token for token, _ in mails if token.startswith("imap-token-")]
        deadline = time.monotonic() + 30
        while len(acks) < len(members) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()
        process.terminate()
        process.wait(timeout=30)
        server.remove()
    report(engine, args, len(mails), (appended_in, stored_in, processed_in), appended, acks,
           dict(mails))
    engine.dispose()
    if admin_engine is not None:
        schema = url.rsplit("%3D", 1)[1]
        with admin_engine.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()


def report(engine: Engine, args: argparse.Namespace, count: int,
           times: tuple[float, float, float], appended: dict[str, float],
           acks: dict[str, float], raws: dict[str, bytes]) -> None:
    appended_in, stored_in, processed_in = times
    members = [token for token in raws if token.startswith("imap-token-")]
    with engine.connect() as connection:
        received = {key: (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
                    for key, at in connection.execute(
                        select(InboxRow.dedupe_key, InboxRow.received_at))}  # type: ignore[call-overload]
        rows = connection.execute(text("SELECT count(*) FROM inbox")).scalar()
        tickets = connection.execute(text("SELECT count(*) FROM tickets")).scalar() or 0
        stored = set(connection.execute(text(
            "SELECT external_id FROM messages WHERE external_id LIKE 'imap-token-%'")).scalars())
    latencies = [acks[t] - appended[t] for t in members if t in acks and t in appended]
    commits = [received[key] - appended[t] for t in members
               if (key := dedupe_key(raws[t].replace(b"\n", b"\r\n"))) in received]
    lost = {f"{t}@bench.example" for t in members} - stored
    print(f"database                 {engine.dialect.name}")
    pace = f"paced at {args.rate:.0f}/s" if args.rate else "flat out"
    print(f"messages appended        {count} ({len(members)} member mails) by {args.appenders} "
          f"connections in {appended_in:.1f} s ({pace})")
    print(f"inbox rows / tickets     {rows} / {tickets}")
    print(f"lost member mails        {len(lost)}   duplicate tickets {tickets - len(stored)}")
    print(f"Dovecot -> inbox stored  {count / stored_in:.0f} msg/s ({stored_in:.1f} s, bounded "
          f"by the APPEND rate)" if stored_in else "Dovecot -> inbox stored  (not seen)")
    print(f"APPEND -> committed      p50 {statistics.median(commits) * 1000:.0f} ms   "
          f"p99 {percentile(commits, 0.99) * 1000:.0f} ms   ({len(commits)} member mails)"
          if commits else "APPEND -> committed      (no rows matched)")
    print(f"Dovecot -> processed     {count / processed_in:.0f} msg/s ({processed_in:.1f} s, "
          f"tickets and replies included)")
    print(f"APPEND -> ack written    p50 {statistics.median(latencies) * 1000:.0f} ms   "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms   ({len(latencies)} acks)"
          if latencies else "APPEND -> ack written    no acknowledgements seen")


if __name__ == "__main__":
    main()
