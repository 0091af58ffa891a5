"""IMAP ingestion against a real Dovecot: one server per session, one fresh user per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine, text

from tests.imap.dovecot import PASSWORD, Dovecot
from tests.support.gateway_process import Gateway, gateway_env
from tests.support.peers import missing
from tests.support.seeding import ANNA as ANNA_MEMBER
from tests.support.seeding import seed

FOLDER, PROCESSED = "Support", "Processed"
ANNA = "anna@example.net"


def member_mail(token: str, *, subject: str = "") -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"] = ANNA, "support@example.org"
    mail["Subject"] = subject or f"Nederlands - Bestelling {token} lukt niet"
    mail["Message-ID"] = f"<{token}@imap.test>"
    mail.set_content(f"{token}\nDe knop om mijn bestelling af te ronden doet niets.\n")
    return bytes(mail)


@dataclass
class Mailbox:
    server: Dovecot
    user: str

    def client(self) -> IMAPClient:
        return self.server.client(self.user)

    def append(self, messages: list[bytes], flags: tuple[bytes, ...] = ()) -> None:
        client = self.client()
        try:
            for start in range(0, len(messages), 50):
                client.multiappend(FOLDER, [{"msg": m, "flags": flags}
                                            for m in messages[start:start + 50]])
        finally:
            client.logout()

    def count(self, folder: str = FOLDER) -> int:
        client = self.client()
        try:
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
        except IMAPClient.Error:
            return -1  # no such folder (yet)
        finally:
            client.logout()

    def bodies(self, folder: str) -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            answer = client.fetch(client.search(), ["BODY.PEEK[]", "FLAGS"])
            return {uid: (data[b"BODY[]"], data[b"FLAGS"]) for uid, data in answer.items()}
        finally:
            client.logout()


def rows(engine: Engine, where: str = "1=1") -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM inbox WHERE {where}")).scalar()
                   or 0)


def ticket_ids(engine: Engine) -> list[str]:
    """The Message-ID token of the first message of every ticket."""
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT m.external_id FROM messages m WHERE m.id IN "
            "(SELECT min(id) FROM messages GROUP BY ticket_number)")).scalars())


def settled(engine: Engine) -> bool:
    """Every stored item processed."""
    return rows(engine, "status = 'received'") == 0


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if shutil.which("dovecot") is None:
        missing("dovecot is not installed", "apt-get install -y dovecot-imapd")
    server = Dovecot()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    box = Mailbox(dovecot, dovecot.new_user())
    client = box.client()
    client.create_folder(FOLDER)
    client.logout()
    return box


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def imap_gateway(tmp_path: Path, database_url: str, engine: Engine,
                 mailbox: Mailbox) -> Iterator[GatewayFactory]:
    """Makes (not starts) gateways on the test's mailbox; keyword arguments become [imap] keys."""
    seed(engine, ANNA_MEMBER)
    made: list[Gateway] = []

    def make(name: str = "gw", smtp_port: int = 0, **imap: str) -> Gateway:
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)
        env = gateway_env(data_dir, database_url, "imap-secret", **{
            "GATEWAY_SMTP__ENABLED": "false",
            "GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR": "1000000",
            "GATEWAY_POLICY__MAX_AUTO_REPLIES_PER_HOUR": "1000000",
            "GATEWAY_IMAP__ENABLED": "true", "GATEWAY_IMAP__HOST": "127.0.0.1",
            "GATEWAY_IMAP__PORT": str(mailbox.server.port), "GATEWAY_IMAP__TLS": "false",
            "GATEWAY_IMAP__USERNAME": mailbox.user, "GATEWAY_IMAP__PASSWORD": PASSWORD,
            "GATEWAY_IMAP__FOLDER": FOLDER, "GATEWAY_IMAP__PROCESSED_FOLDER": PROCESSED})
        env.update({f"GATEWAY_IMAP__{key.upper()}": value for key, value in imap.items()})
        if smtp_port:
            env.update({"GATEWAY_SMTP__ENABLED": "true", "GATEWAY_SMTP__PORT": str(smtp_port)})
        gateway = Gateway(data_dir, env, port=smtp_port, engine=engine)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()
