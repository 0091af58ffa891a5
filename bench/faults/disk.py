"""Full disk on the data directory (RELIABILITY 50): SQLite on a small tmpfs, filled up under
SMTP load. Expected: 452 4.3.1 while full (never 5xx, never a 250 without a commit), no partial
rows, and recovery by itself once the filler file is deleted.

Needs root for `mount -t tmpfs`; without it the scenario says so and measures nothing.
"""

from __future__ import annotations

import argparse
import errno
import shutil
import subprocess
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.email_path import FILLER, prepare
from bench.faults.common import (
    MAIL_TOKEN,
    Gateway,
    SmtpLoad,
    drain,
    five_hundreds,
    gateway_env,
    ledger,
    quarantined,
    refusal_window,
    running_relay,
    smtp_tokens,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size-mb", type=int, default=64, help="size of the tmpfs")
    parser.add_argument("--full-seconds", type=float, default=15.0, help="how long it stays full")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="new mails per second")


def fill(path: Path) -> int:
    """Write `path` until the volume refuses (ENOSPC); returns the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as file:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    written += file.write(block) or 0
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


def partial_rows(engine: Engine) -> dict[str, Any]:
    """SQLite's own integrity check, and every stored SMTP mail whole (its body intact)."""
    broken = 0
    with engine.connect() as connection:
        check = connection.execute(text("PRAGMA integrity_check")).scalar()
        for (raw,) in connection.execute(text("SELECT raw FROM inbox WHERE channel = 'email'")):
            mail = message_from_bytes(bytes(raw), policy=policy.default)
            body = mail.get_body()
            content = body.get_content() if body is not None else ""
            if not MAIL_TOKEN.search(bytes(raw)) or FILLER not in str(content):
                broken += 1
    return {"integrity_check": check, "incomplete_inbox_rows": broken}


def run(args: argparse.Namespace) -> dict[str, Any]:
    mount = Path(tempfile.mkdtemp(prefix="gw-faults-disk-"))
    logs = Path(tempfile.mkdtemp(prefix="gw-faults-disk-logs-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size_mb}m", "tmpfs",
                              str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        return {"skipped": f"mount -t tmpfs refused: {mounted.stderr.strip()}"}
    engine: Engine | None = None
    try:
        # mkdtemp joins an absolute prefix as it is: the data dir (and SQLite) land on the tmpfs.
        data_dir, url, engine = prepare("", str(mount / "gw-"))
        return scenario(args, data_dir, url, engine, logs) | {"log": str(logs / "gateway.log")}
    finally:
        if engine is not None:
            engine.dispose()
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)


def scenario(args: argparse.Namespace, data_dir: Path, url: str, engine: Engine,
             logs: Path) -> dict[str, Any]:
    filler = data_dir.parent / "filler"
    with running_relay() as relay:
        gateway = Gateway(gateway_env(data_dir, url, relay.port), logs / "gateway.log")
        load: SmtpLoad | None = None
        try:
            gateway.start()
            load = SmtpLoad(gateway.smtp_port, args.sessions, rate=args.rate)
            load.start()
            time.sleep(5)
            t_full = time.time()
            filled = fill(filler)
            time.sleep(args.full_seconds)
            free_before = shutil.disk_usage(data_dir).free
            filler.unlink()
            t_free = time.time()
            time.sleep(10)
            load.stop()
            alive = gateway.process is not None and gateway.process.poll() is None
            drained_s = drain(engine, timeout=300)
        finally:
            if load is not None:
                load.stop()
            filler.unlink(missing_ok=True)
            exit_code = gateway.stop()
    first_250 = min((at for at in load.acked.values() if at >= t_free), default=t_free + 10)
    return {
        "database": "sqlite on tmpfs", "size_mb": args.size_mb, "filler_bytes": filled,
        "free_bytes_while_full": free_before, "full_s": round(t_free - t_full, 1),
        "smtp": ledger(smtp_tokens(load.acked), engine) | {
            "five_hundreds": five_hundreds(load.counts())},
        "replies_before_full": load.counts(until=t_full),
        "replies_while_full": load.counts(since=t_full, until=t_free),
        "replies_after_freed": load.counts(since=t_free),
        "freed_to_first_250_s": round(first_250 - t_free, 2),
        **refusal_window(load, t_full),
        "gateway_alive_after": alive,
        "drain_after_load_s": round(drained_s, 1),
        **partial_rows(engine),
        "quarantined": quarantined(engine),
        "sigterm_exit_code": exit_code,
    }
