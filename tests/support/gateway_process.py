"""`gateway run` as a subprocess: started with a data dir and an environment, ready once it
prints its `ready` line, stopped with SIGTERM (then SIGKILL); its stderr is its log."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine

from tests.support.outcomes import assert_no_outbox_rows_to, wait_for_outcomes
from tests.support.waiting import wait_until

SUPPORT = "support@example.org"


def gateway_env(data_dir: Path, database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """This process's environment with the gateway's settings; no config file."""
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_DATABASE__URL": database_url,
           "GATEWAY_SECURITY__SECRET": secret, **extra}
    env.pop("GATEWAY_CONFIG", None)
    return env


@dataclass
class Gateway:
    data_dir: Path
    env: dict[str, str]
    port: int = 0  # its SMTP port
    engine: Engine | None = None  # its database, for "no reply" checks
    process: subprocess.Popen[str] | None = None
    seen: set[Path] = field(default_factory=set)

    def start(self, *roles: str) -> str:
        """Start (only `roles`, if given) and wait for the `ready` line; returns it."""
        args = [sys.executable, "-m", "adapters", "run"]
        if roles:
            args += ["--only", ",".join(roles)]
        with open(self.data_dir / "gateway.log", "a") as log:
            self.process = subprocess.Popen(args, env=self.env, text=True,
                                            stdout=subprocess.PIPE, stderr=log)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready"), f"no ready line: {line!r}\n{self.log()}"
        return line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `sig` and wait for the exit; SIGKILL if that takes over `timeout` s."""
        assert self.process is not None
        process, self.process = self.process, None
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=timeout)
        finally:
            if process.stdout is not None:
                process.stdout.close()

    def close(self) -> None:
        """A fixture's teardown: kill it if it still runs."""
        if self.process is not None:
            self.stop(signal.SIGKILL)

    def log(self) -> str:
        return (self.data_dir / "gateway.log").read_text()

    def send(self, sender: str, subject: str, body: str, to: str = SUPPORT,
             **headers: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        message.set_content(body)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.send_message(message)

    def mail_to(self, recipient: str, timeout: float = 15) -> EmailMessage:
        """The next not yet read .eml in the outbox addressed to `recipient`."""
        found = wait_until(lambda: self._unread_to(recipient), timeout, f"mail to {recipient}",
                           self.log)
        assert found is not None  # wait_until returns only a found one
        self.seen.add(found[0])
        return found[1]

    def no_reply_to(self, recipient: str, timeout: float = 15) -> None:
        """Once every stored item has its outcome, nothing is queued or written for `recipient`."""
        assert self.engine is not None, "give the Gateway its engine"
        wait_for_outcomes(self.engine, timeout=timeout, log=self.log)
        assert_no_outbox_rows_to(self.engine, recipient)
        found = self._unread_to(recipient)
        assert found is None, f"unexpected mail to {recipient}: {found[1]['Subject']}"

    def _unread_to(self, recipient: str) -> tuple[Path, EmailMessage] | None:
        for path in sorted((self.data_dir / "outbox").glob("*.eml")):
            if path in self.seen:
                continue
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            if parsed["To"] == recipient:
                return path, parsed
        return None
