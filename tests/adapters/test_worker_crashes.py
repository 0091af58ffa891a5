"""Items that kill or hang the worker process: counted before they start, quarantined, never
looping; innocent rows of the same batch untouched; SIGTERM still stops a busy parser."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine

from adapters.email.ingest import dedupe_key
from store import admin, inbox
from store.inbox import InboxStatus
from tests.support.gateway_process import gateway_env
from tests.support.ports import free_port
from tests.support.waiting import wait_until

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def mail(subject: str, attachments: int = 0) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = "anna@member.example", "support@example.org"
    message["Subject"] = f"English - {subject}"
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@member.example>"
    message.set_content(f"{subject}: the printer on floor 3 does not print.")
    for number in range(attachments):  # ~24 MB: about a second of CPU to parse
        message.add_attachment(b"%PDF-1.4 " + bytes(240_000), maintype="application",
                               subtype="pdf", filename=f"scan{number}.pdf")
    return message.as_bytes()


def put_mail(engine: Engine, raw: bytes) -> None:
    assert inbox.store_raw(engine, channel="email", dedupe_key=dedupe_key(raw), raw=raw,
                           envelope=json.dumps({"from": "anna@member.example", "to": []}), now=NOW)


def put_update(engine: Engine, update_id: int, text: str) -> None:
    assert inbox.store_raw(engine, channel="telegram", dedupe_key=f"tg:{update_id}",
                           raw=json.dumps({"update_id": update_id, "text": text}).encode(),
                           envelope="", now=NOW)


def statuses(engine: Engine) -> dict[str, tuple[str, str, int]]:
    """Per row (its subject or update text): status, reason, attempts."""
    found = {}
    for row in inbox.rows(engine):
        label = (json.loads(row.raw)["text"] if row.channel == "telegram"
                 else row.raw.split(b"Subject: English - ")[1].split(b"\n")[0].decode())
        found[label] = (row.status, row.reason, row.attempts)
    return found


def test_an_item_that_kills_the_worker_is_quarantined_and_its_batch_is_not(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    admin.upsert_member(engine, member_id="7", name="Anna Smith", email="anna@member.example",
                        rank="Silver")
    put_mail(engine, mail("first"))
    put_mail(engine, mail("second"))
    put_mail(engine, mail("POISON"))
    put_update(engine, 1, "hello")
    put_update(engine, 2, "poison")
    put_mail(engine, mail("last"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_DATA_DIR": str(tmp_path),
           "GATEWAY_SECURITY__SECRET": "crash-secret", "GATEWAY_WORKER__MAX_ATTEMPTS": "2"}
    env.pop("GATEWAY_CONFIG", None)
    codes = []
    for _ in range(10):  # a supervisor restarting the worker after each death
        codes.append(subprocess.run([sys.executable, str(HERE / "poison_worker.py"), database_url],
                                    env=env, cwd=ROOT, timeout=120).returncode)
        if codes[-1] == 0:
            break
    # Two deaths (worker.max_attempts) on each poisoned item, then it is quarantined at claim.
    assert codes == [-9] * 4 + [0]
    assert statuses(engine) == {
        "first": ("done", "ok", 1),
        "second": ("done", "ok", 1),
        "POISON": ("quarantined", "crashed the worker", 2),
        "hello": ("done", "answered", 1),
        "poison": ("quarantined", "crashed the worker", 2),
        "last": ("done", "ok", 1),
    }


def child_pids(pid: int) -> list[int]:
    """Children of every thread of `pid` (the worker thread starts the parser)."""
    return [int(child) for path in Path(f"/proc/{pid}/task").glob("*/children")
            for child in path.read_text().split()]


def test_sigterm_while_the_parser_is_busy_exits_at_once_and_takes_the_parser_with_it(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    for number in range(2):
        put_mail(engine, mail(f"big {number}", attachments=100))
    env = gateway_env(tmp_path, database_url, "crash-secret", GATEWAY_SMTP__PORT=str(free_port()),
                      GATEWAY_WORKER__PARSE_CPU_SECONDS="60")
    process = subprocess.Popen([sys.executable, "-m", "adapters", "run"], env=env, cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("ready")
        wait_until(lambda: child_pids(process.pid), 60, "the parser child", interval=0.05)
        [parser] = child_pids(process.pid)
        time.sleep(0.3)  # the first big mail is being parsed
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - started < 8  # the two mails take longer than that to parse
        assert not Path(f"/proc/{parser}").exists() or "Z" in Path(
            f"/proc/{parser}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rows = inbox.rows(engine)
    waiting = [row for row in rows if row.status == InboxStatus.RECEIVED]
    assert waiting, "the stop came after the whole batch: nothing was interrupted"
    # What was not finished waits for the next start, its interrupted attempt not counted.
    assert all((row.attempts, row.lease_until) == (0, None) for row in waiting)
