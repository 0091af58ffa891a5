"""Kill storm across channels (RELIABILITY 47): SIGKILL `gateway run` again and again while
SMTP, IMAP (Dovecot) and Telegram (local Bot API, polling) traffic flows, then restart, drain
and check each channel's ledger.

Ledgers: SMTP tokens that got 250; IMAP tokens Dovecot took in an APPEND; Telegram updates
the Bot API handed out and saw confirmed (a later getUpdates offset moved past them).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from bench.email_path import prepare
from bench.faults.common import (
    Gateway,
    Relay,
    SmtpLoad,
    drain,
    five_hundreds,
    gateway_env,
    ledger,
    pending,
    quarantined,
    running_relay,
    smtp_tokens,
)
from bench.imap_path import member_mail
from store.tables import MemberRow
from tests.imap.dovecot import PASSWORD, Dovecot
from tests.telegram import updates as u
from tests.telegram.conftest import ALWAYS_OPEN, TOKEN
from tests.telegram.fake_bot_api import BotApiState, running

FIRST_TELEGRAM_USER = 800_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--min-interval", type=float, default=1.0, help="seconds between kills")
    parser.add_argument("--max-interval", type=float, default=4.0)
    parser.add_argument("--sessions", type=int, default=10, help="concurrent SMTP clients")
    parser.add_argument("--smtp-rate", type=float, default=25.0, help="new mails per second")
    parser.add_argument("--imap-rate", type=float, default=3.0, help="APPENDs per second")
    parser.add_argument("--telegram-rate", type=float, default=3.0, help="updates per second")
    parser.add_argument("--channels", default="smtp,imap,telegram")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drain-timeout", type=float, default=1800.0)


@dataclass
class Paced:
    """A thread that does `one(n)` for n = 0, 1, ... at `rate` per second until stopped."""

    rate: float
    stopping: threading.Event = field(default_factory=threading.Event)
    done: list[int] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self, one: Any) -> None:
        def loop() -> None:
            started, n = time.perf_counter(), 0
            while not self.stopping.is_set():
                if (ahead := started + n / self.rate - time.perf_counter()) > 0:
                    time.sleep(ahead)
                one(n)
                self.done.append(n)
                n += 1

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()


class ImapTraffic:
    """Member mails APPENDed to the gateway's folder on a throwaway Dovecot."""

    def __init__(self, rate: float) -> None:
        self.server = Dovecot()
        self.server.start()
        self.user = self.server.new_user()
        self.client = self.server.client(self.user)
        self.client.create_folder("Support")
        self.paced = Paced(rate)

    def env(self) -> dict[str, str]:
        return {"GATEWAY_IMAP__ENABLED": "true", "GATEWAY_IMAP__PORT": str(self.server.port),
                "GATEWAY_IMAP__TLS": "false", "GATEWAY_IMAP__USERNAME": self.user,
                "GATEWAY_IMAP__PASSWORD": PASSWORD, "GATEWAY_IMAP__FOLDER": "Support"}

    def start(self) -> None:
        self.paced.start(lambda n: self.client.append("Support", member_mail(n)))

    def acknowledged(self) -> set[str]:
        return {f"imap-token-{n}" for n in self.paced.done}

    def left(self) -> int:
        return int(self.client.folder_status("Support", [b"MESSAGES"])[b"MESSAGES"])

    def close(self) -> None:
        self.paced.stop()
        self.server.remove()


class TelegramTraffic:
    """One linked member per update, so each update's reply can be counted per chat."""

    def __init__(self, api: BotApiState, base_url: str, rate: float) -> None:
        self.api, self.base_url = api, base_url
        self.paced = Paced(rate)
        self.update_of: dict[int, int] = {}  # update_id -> token number

    def link_members(self, engine: Engine, count: int) -> None:
        rows = [{"member_id": f"T{n}", "name": f"Telegram {n}", "email": f"t{n}@bench.example",
                 "rank": "Gold", "language": "en", "telegram_user_id": FIRST_TELEGRAM_USER + n}
                for n in range(count)]
        with engine.begin() as connection:
            connection.execute(insert(MemberRow), rows)

    def env(self) -> dict[str, str]:
        return {"GATEWAY_TELEGRAM__ENABLED": "true", "GATEWAY_TELEGRAM__TOKEN": TOKEN,
                "GATEWAY_TELEGRAM__BASE_URL": self.base_url, "GATEWAY_TELEGRAM__POLL_TIMEOUT": "1",
                "GATEWAY_HOURS__WINDOWS": ALWAYS_OPEN}

    def start(self) -> None:
        def push(n: int) -> None:
            text = f"tg-token-{n} my order page stays blank"
            self.update_of[self.api.push(u.message(FIRST_TELEGRAM_USER + n, text))] = n
        self.paced.start(push)

    def acknowledged(self) -> set[str]:
        """Handed out and confirmed: the offset of some later getUpdates moved past them."""
        with self.api.lock:
            confirmed_below = max(self.api.offsets, default=0)
        return {f"tg-token-{n}" for update, n in self.update_of.items() if update < confirmed_below}

    def unconfirmed(self) -> int:
        return len(self.update_of) - len(self.acknowledged())

    def reply_figures(self) -> dict[str, int]:
        per_chat = collections.Counter(str(p.get("chat_id")) for p in self.api.sent())
        return {"telegram_replies": sum(per_chat.values()),
                "telegram_reply_duplicates": sum(n - 1 for n in per_chat.values() if n > 1)}


def save_ledger(path: Path, acknowledged: dict[str, set[str]]) -> None:
    """The acknowledged tokens, kept on disk: a long run's ledger outlives a failed report."""
    path.write_text(json.dumps({channel: sorted(tokens) for channel, tokens in acknowledged.items()}))


def run(args: argparse.Namespace) -> dict[str, Any]:
    channels = set(args.channels.split(","))
    random.seed(args.seed)
    data_dir, url, engine = prepare(args.database, "gw-faults-storm-")
    with running_relay() as relay, running(TOKEN) as (api, base_url):
        imap = ImapTraffic(args.imap_rate) if "imap" in channels else None
        telegram = TelegramTraffic(api, base_url, args.telegram_rate) if "telegram" in channels else None
        if telegram:
            expected = args.telegram_rate * args.kills * (args.max_interval + 4) + 100
            telegram.link_members(engine, int(expected))
        extra = {**(imap.env() if imap else {}), **(telegram.env() if telegram else {})}
        gateway = Gateway(gateway_env(data_dir, url, relay.port, **extra), data_dir / "gateway.log")
        try:
            return storm(args, engine, gateway, relay, imap, telegram) | {
                "database": url.split("://")[0], "data_dir": str(data_dir)}
        finally:
            gateway.stop()
            if imap:
                imap.close()
            if telegram:
                telegram.paced.stop()


def storm(args: argparse.Namespace, engine: Engine, gateway: Gateway, relay: Relay,
          imap: ImapTraffic | None, telegram: TelegramTraffic | None) -> dict[str, Any]:
    gateway.start()
    gateway.restarts.clear()  # the first start is no restart
    smtp = SmtpLoad(gateway.smtp_port, args.sessions, args.smtp_rate) if "smtp" in args.channels else None
    for traffic in (smtp, imap, telegram):
        if traffic is not None:
            traffic.start()
    started = time.perf_counter()
    for _ in range(args.kills):
        time.sleep(random.uniform(args.min_interval, args.max_interval))
        gateway.kill()
        gateway.start()
    storm_s = time.perf_counter() - started
    time.sleep(2)
    for paced in (imap.paced if imap else None, telegram.paced if telegram else None):
        if paced is not None:
            paced.stop()
    if smtp:
        smtp.stop()
    settled = time.perf_counter()
    while ((imap and imap.left()) or (telegram and telegram.unconfirmed())) \
            and time.perf_counter() - settled < 300:
        time.sleep(0.5)
    acknowledged = {"smtp": smtp_tokens(smtp.acked) if smtp else set(),
                    "imap": imap.acknowledged() if imap else set(),
                    "telegram": telegram.acknowledged() if telegram else set()}
    save_ledger(gateway.log.parent / "ledger.json", acknowledged)
    drained_s = drain(engine, args.drain_timeout) + time.perf_counter() - settled
    figures = {"kills": args.kills, "storm_s": round(storm_s, 1),
               "interval_s": [args.min_interval, args.max_interval]}
    figures |= channel_figures(engine, acknowledged, smtp, imap, telegram) | relay.sink.figures()
    figures |= {"inbox_waiting_outbox_pending_after_drain": pending(engine),
                "quarantined": quarantined(engine),
                "restart_to_ready_s_max": round(max(gateway.restarts, default=0), 2),
                "restart_to_ready_s_mean": round(
                    sum(gateway.restarts) / max(len(gateway.restarts), 1), 2),
                "drain_after_storm_s": round(drained_s, 1),
                "sigterm_exit_code": gateway.stop()}
    return figures


def channel_figures(engine: Engine, acknowledged: dict[str, set[str]], smtp: SmtpLoad | None,
                    imap: ImapTraffic | None, telegram: TelegramTraffic | None) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if smtp:
        figures["smtp"] = ledger(acknowledged["smtp"], engine) | {
            "five_hundreds": five_hundreds(smtp.counts())}
    if imap:
        figures["imap"] = ledger(acknowledged["imap"], engine) | {"left_in_folder": imap.left()}
    if telegram:
        figures["telegram"] = ledger(acknowledged["telegram"], engine, tickets=False) | {
            "pushed": len(telegram.update_of)} | telegram.reply_figures()
    return figures
