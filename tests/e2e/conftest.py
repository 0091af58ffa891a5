"""The whole process: `gateway run` as a subprocess, driven over SMTP, read from its .eml outbox."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from store import admin
from tests.conftest import free_port

SUPPORT = "support@example.org"


@dataclass
class Gateway:
    data_dir: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[str] | None = None
    seen: set[Path] = field(default_factory=set)

    def start(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters", "run"], env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=open(self.data_dir / "gateway.log", "a"))  # noqa: SIM115
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready"), f"no ready line: {line!r}\n{self.log()}"
        return line

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=20)
        self.process = None
        return code

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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted((self.data_dir / "outbox").glob("*.eml")):
                if path in self.seen:
                    continue
                parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                if parsed["To"] == recipient:
                    self.seen.add(path)
                    return parsed
            time.sleep(0.1)
        raise AssertionError(f"no mail to {recipient} within {timeout} s\n{self.log()}")

    def no_mail_to(self, recipient: str, wait: float = 2.0) -> None:
        try:
            found = self.mail_to(recipient, timeout=wait)
        except AssertionError:
            return
        raise AssertionError(f"unexpected mail to {recipient}: {found['Subject']}")


@pytest.fixture
def gateway(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[Gateway]:
    admin.upsert_member(engine, member_id="1001", name="Anna de Vries",
                        email="anna@example.net", rank="Gold", language="nl")
    admin.upsert_member(engine, member_id="1002", name="Bo Jensen",
                        email="bo@example.net", rank="Manager", language="da")
    admin.upsert_agent(engine, email="agent.nl@example.org", name="Piet", languages=["nl"])
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE__URL": database_url,
           "GATEWAY_SECURITY__SECRET": "e2e-secret", "GATEWAY_SMTP__PORT": str(free_port())}
    env.pop("GATEWAY_CONFIG", None)
    gw = Gateway(tmp_path, env, port=int(env["GATEWAY_SMTP__PORT"]))
    gw.start()
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)


class Sink:
    """A local SMTP relay that keeps what the gateway sends."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        parsed = message_from_bytes(getattr(envelope, "content", b""), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 2.0.0 OK"

    def to(self, recipient: str, timeout: float = 15) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] == recipient]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"the relay got nothing for {recipient}")


@pytest.fixture
def relay() -> Iterator[Sink]:
    sink = Sink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def relayed(tmp_path: Path, database_url: str, engine: Engine, relay: Sink) -> Iterator[Gateway]:
    """The gateway sending through `relay` instead of writing .eml files."""
    admin.upsert_member(engine, member_id="1001", name="Anna de Vries",
                        email="anna@example.net", rank="Gold", language="nl")
    admin.upsert_agent(engine, email="agent.nl@example.org", name="Piet", languages=["nl"])
    port = free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE__URL": database_url,
           "GATEWAY_SECURITY__SECRET": "e2e-secret", "GATEWAY_SMTP__PORT": str(port),
           "GATEWAY_SMTP__MAX_MESSAGE_BYTES": "200000",
           "GATEWAY_OUTBOUND__HOST": "127.0.0.1",
           "GATEWAY_OUTBOUND__PORT": str(relay.port),
           "GATEWAY_OUTBOUND__SECURITY": "none"}
    env.pop("GATEWAY_CONFIG", None)
    gw = Gateway(tmp_path, env, port=port)
    gw.start()
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)
