"""PostgreSQL restarted with `-m immediate` under SMTP load (RELIABILITY 48): only 4xx while it
is down, no 250 without a commit, recovery without a person.

Restarts the machine's cluster (every connection to it drops, other users' too), and makes
sure it runs again when the scenario ends, whatever happens.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.email_path import prepare
from bench.faults.common import (
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

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLUSTER = "main"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rate", type=float, default=25.0, help="new mails per second")
    parser.add_argument("--before", type=float, default=8.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=20.0, help="seconds of load after")


def cluster_version() -> str:
    return sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]


def pg_ctl(action: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster_version(), CLUSTER,
                           action, *options], capture_output=True, text=True, timeout=120)


def ensure_running() -> None:
    if pg_ctl("status").returncode != 0:
        pg_ctl("start")


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir, url, engine = prepare(args.database, "gw-faults-pg-")
    with running_relay() as relay:
        gateway = Gateway(gateway_env(data_dir, url, relay.port), data_dir / "gateway.log")
        load: SmtpLoad | None = None
        try:
            gateway.start()
            load = SmtpLoad(gateway.smtp_port, args.sessions, rate=args.rate)
            load.start()
            time.sleep(args.before)
            t_down = time.time()
            restarted = pg_ctl("restart", "-m", "immediate")
            t_up = time.time()
            time.sleep(args.after)
            load.stop()
            drained_s = drain(engine)
        finally:
            if load is not None:
                load.stop()
            ensure_running()
            exit_code = gateway.stop()
    after = [at for at in load.acked.values() if at >= t_up]
    first_250 = min(after, default=t_up + args.after)
    return {
        "database": "postgresql", "restart_rc": restarted.returncode,
        "restart_command_s": round(t_up - t_down, 2),
        "smtp": ledger(smtp_tokens(load.acked), engine) | {
            "five_hundreds": five_hundreds(load.counts())},
        "replies_before": load.counts(until=t_down),
        "replies_from_restart_to_first_250": load.counts(since=t_down, until=first_250),
        "replies_after": load.counts(since=first_250),
        **refusal_window(load, t_down),
        "restart_done_to_first_250_s": round(first_250 - t_up, 2),
        "restart_begun_to_first_250_s": round(first_250 - t_down, 2),
        "drain_after_load_s": round(drained_s, 1),
        "quarantined": quarantined(engine),
        "sigterm_exit_code": exit_code,
    }
