"""What every fault scenario shares: the gateway as a subprocess, a sink relay, SMTP load with
a ledger of reply codes, and the ledger check against the database afterwards.

Servers listen on 127.0.0.1 only. The gateway runs in a process group of its own, so a
scenario stops all of it (also on Ctrl-C or an error) with `Gateway.stop`.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import Engine, text

from bench.email_path import message
from tests.support.gateway_process import gateway_env as test_gateway_env
from tests.support.ports import free_port
from tests.support.smtp_sink import Sink as TestSink
from tests.support.smtp_sink import SinkServer

ROOT = Path(__file__).resolve().parents[2]

# Tokens as the helpers write them: email_path.message (token-N), imap_path.member_mail
# (imap-token-N); Telegram texts carry tg-token-N. Bounded digits: linear scans.
MAIL_TOKEN = re.compile(rb"^Message-ID: <((?:imap-)?token-\d{1,9})@bench\.example>", re.M | re.I)
TELEGRAM_TOKEN = re.compile(rb"tg-token-\d{1,9}")


class Sink(TestSink):
    """The outbound relay's handler: counts deliveries per Message-ID (keeps no messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "content", b"")
        with self.lock:
            self.delivered[str(message_from_bytes(content)["Message-ID"])] += 1
        return "250 OK"

    def figures(self) -> dict[str, int]:
        with self.lock:
            sends = sum(self.delivered.values())
            return {"outbound_delivered": sends,
                    "outbound_duplicates": sends - len(self.delivered)}


class Relay(SinkServer):
    """An aiosmtpd sink on a fixed loopback port that can go down (connection refused) and
    come back on the same port."""

    sink: Sink

    def __init__(self) -> None:
        super().__init__(Sink())


def gateway_env(data_dir: Path, url: str, relay_port: int, **extra: str) -> dict[str, str]:
    return test_gateway_env(data_dir, url, "faults", **{
        "GATEWAY_SMTP__PORT": str(free_port()),
        "GATEWAY_OUTBOUND__HOST": "127.0.0.1", "GATEWAY_OUTBOUND__PORT": str(relay_port),
        "GATEWAY_OUTBOUND__SECURITY": "none",
        "GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR": "1000000",
        "GATEWAY_POLICY__MAX_AUTO_REPLIES_PER_HOUR": "1000000", **extra})


@dataclass
class Gateway:
    """`gateway run` in its own process group, from the tree this bench lives in (run it from
    a snapshot to keep others' half-done edits out); stderr appended to `log` (kept off the
    data volume: the disk-full scenario fills that)."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[str] | None = None
    restarts: list[float] = field(default_factory=list)

    @property
    def smtp_port(self) -> int:
        return int(self.env["GATEWAY_SMTP__PORT"])

    def start(self) -> float:
        """Start and wait for the `ready` line (printed once SMTP accepts); returns seconds."""
        started = time.perf_counter()
        with self.log.open("a") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "adapters", "run"],
                                            env=self.env, text=True, stdout=subprocess.PIPE,
                                            stderr=log, start_new_session=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"gateway did not start: {line!r}; see {self.log}")
        took = time.perf_counter() - started
        self.restarts.append(took)
        return took

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 30 s; the exit code of the SIGTERM, if it was enough."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return None
        self._signal_group(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
            self._signal_group(signal.SIGKILL)
        self.process = None
        return code

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        if signum == signal.SIGKILL:
            self.process.wait()
            self.process = None


@dataclass
class SmtpLoad:
    """SMTP clients, one connection per message; what is not acknowledged is retried with a
    new attempt of the same token. Records every token that got 250 (and when) and every
    reply code, with its time."""

    port: int
    sessions: int
    rate: float = 0.0  # new tokens per second over all sessions; 0: flat out
    first: int = 0
    acked: dict[int, float] = field(default_factory=dict)
    codes: list[tuple[float, str]] = field(default_factory=list)  # (time, "250" / "451" / "conn")
    stopping: threading.Event = field(default_factory=threading.Event)
    _next: int = 0
    _started: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._next, self._started = self.first, time.perf_counter()
        self._threads = [threading.Thread(target=self._client, daemon=True)
                         for _ in range(self.sessions)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join()

    def counts(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        with self.lock:
            return dict(collections.Counter(c for at, c in self.codes if since <= at < until))

    def _client(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                index, self._next = self._next, self._next + 1
            if self.rate and (ahead := self._started + (index - self.first) / self.rate
                              - time.perf_counter()) > 0:
                time.sleep(ahead)
            while not self.stopping.is_set():
                code = self._send(index)
                with self.lock:
                    self.codes.append((time.time(), code))
                    if code == "250":
                        self.acked[index] = time.time()
                if code == "250":
                    break
                time.sleep(0.2)  # down, or a 4xx: retry the same token

    def _send(self, index: int) -> str:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                client.send_message(message(index))
            return "250"
        except smtplib.SMTPRecipientsRefused as refused:
            return str(next(iter(refused.recipients.values()))[0])
        except smtplib.SMTPResponseException as error:
            return str(error.smtp_code)
        except (OSError, smtplib.SMTPException):
            return "conn"  # refused, reset or closed: the gateway is down


def refusal_window(load: SmtpLoad, since: float) -> dict[str, float | None]:
    """When, after `since`, clients were refused (seconds from `since`: first and last non-250
    reply), and how long after the last refusal the next 250 came."""
    with load.lock:
        refused = [at for at, code in load.codes if code != "250" and at >= since]
    if not refused:
        return {"first_refusal_s": None, "last_refusal_s": None, "last_refusal_to_next_250_s": None}
    last = max(refused)
    next_ok = min((at for at in load.acked.values() if at > last), default=None)
    return {"first_refusal_s": round(min(refused) - since, 2), "last_refusal_s": round(last - since, 2),
            "last_refusal_to_next_250_s": round(next_ok - last, 2) if next_ok else None}


def five_hundreds(codes: dict[str, int]) -> int:
    return sum(n for code, n in codes.items() if code.startswith("5"))


def tokens_in_inbox(engine: Engine) -> collections.Counter[str]:
    """Inbox rows per token (mail: the Message-ID; Telegram: the text in the update JSON)."""
    found: collections.Counter[str] = collections.Counter()
    with engine.connect() as connection:
        for channel, raw in connection.execute(text("SELECT channel, raw FROM inbox")):
            head = bytes(raw)[:16_000]
            match = (TELEGRAM_TOKEN.search(head) if channel == "telegram"
                     else MAIL_TOKEN.search(head))
            if match:
                found[(match.group(1) if match.groups() else match.group(0)).decode()] += 1
    return found


def tickets_per_token(engine: Engine) -> collections.Counter[str]:
    """Ticket messages per mail token (Message-ID is the message's external id)."""
    with engine.connect() as connection:
        ids = connection.execute(text(
            "SELECT external_id FROM messages WHERE external_id LIKE '%token-%'")).scalars()
        return collections.Counter(value.split("@")[0] for value in ids)


def quarantined(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {str(reason): int(n) for reason, n in connection.execute(text(
            "SELECT reason, count(*) FROM inbox WHERE status = 'quarantined' GROUP BY reason"))}


def ledger(acknowledged: set[str], engine: Engine, *, tickets: bool = True) -> dict[str, int]:
    """acknowledged / stored / lost / duplicated for one channel's tokens (all share a prefix
    scheme, so `acknowledged` decides which stored tokens are this channel's)."""
    rows = tokens_in_inbox(engine)
    stored = {t for t in rows if t in acknowledged}
    figures = {"acknowledged": len(acknowledged), "stored": len(stored),
               "lost": len(acknowledged - stored),
               "duplicated": sum(rows[t] - 1 for t in stored)}
    if tickets:
        per_ticket = tickets_per_token(engine)
        figures["ticketed"] = len([t for t in acknowledged if per_ticket[t]])
        figures["duplicate_tickets"] = sum(per_ticket[t] - 1 for t in acknowledged if per_ticket[t])
    return figures


def pending(engine: Engine) -> tuple[int, int]:
    """(inbox rows waiting for the worker, outbox rows waiting for delivery)."""
    with engine.connect() as connection:  # outside any transaction: SQLite's write lock
        waiting = connection.execute(text(
            "SELECT count(*) FROM inbox WHERE status = 'received'")).scalar() or 0
        unsent = connection.execute(text(
            "SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar() or 0
    return int(waiting), int(unsent)


def drain(engine: Engine, timeout: float = 600.0) -> float:
    """Wait until the worker and the delivery loop have nothing left; returns seconds."""
    started = time.perf_counter()
    while any(pending(engine)) and time.perf_counter() - started < timeout:
        time.sleep(0.5)
    return time.perf_counter() - started


@contextmanager
def running_relay() -> Iterator[Relay]:
    relay = Relay()
    relay.up()
    try:
        yield relay
    finally:
        relay.down()


def smtp_tokens(indexes: dict[int, float] | set[int]) -> set[str]:
    return {f"token-{i}" for i in indexes}
