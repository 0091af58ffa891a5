"""The running gateway: mail leaves with a signed return path; reports sent back to it over
SMTP count, and three suspend the member; a forged one counts for nobody (F4)."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.e2e.conftest import SUPPORT, Gateway, Sink

FIXTURES = Path(__file__).parent.parent / "fixtures"
ANNA, AGENT = "anna@example.net", "agent.nl@example.org"


class EnvelopeSink(Sink):
    """The relay, keeping each envelope's MAIL FROM too: (mail from, rcpt tos)."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[tuple[str, tuple[str, ...]]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.envelopes.append((str(getattr(envelope, "mail_from", "")),
                               tuple(getattr(envelope, "rcpt_tos", ()))))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay() -> Iterator[EnvelopeSink]:
    sink = EnvelopeSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def report(gw: Gateway, name: str, n: int, rcpt: str, token: str = "") -> None:
    raw = (FIXTURES / name).read_bytes().replace(b"DSN-ID", f"e2e{n}".encode())
    raw = raw.replace(b"RETURN-PATH-TOKEN", token.encode())
    raw = raw.replace(b"anna@member.example", ANNA.encode()).replace(b"desk@", b"agent.nl@")
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=10) as client:
        client.sendmail("", [rcpt], raw)  # MAIL FROM:<>, like a mailer daemon


def paths_to(relay: EnvelopeSink, recipient: str, count: int) -> list[str]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [mail_from for mail_from, rcpts in relay.envelopes if rcpts == (recipient,)]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{len(relay.envelopes)} mails relayed, not {count} to {recipient}")


def test_reports_to_the_return_paths_suspend_the_member_forged_ones_nobody(
        relayed: Gateway, relay: EnvelopeSink) -> None:
    for n in range(3):
        relayed.send(ANNA, f"Nederlands - Kan niet inloggen {n}", "Ik kan niet inloggen.")
    paths = paths_to(relay, ANNA, 3)
    assert len(set(paths)) == 3 and all(p.startswith("support+b-") for p in paths)
    for n in range(3):  # forged: to the plain address, naming Anna and the agent
        report(relayed, "dsn_forged_about_a_member_and_an_agent.eml", n, SUPPORT)
    for n, path in enumerate(paths):
        report(relayed, "dsn_to_return_path.eml", n + 10, path,
               path.partition("+")[2].partition("@")[0])
    # Inbox and outbox are worked in order: the reports before ticket 4, its acknowledgement
    # (if any) before its notification.
    relayed.send(ANNA, "Nederlands - Kan niet inloggen 4", "Nog steeds niet.")
    paths_to(relay, AGENT, 4)  # the agent, named by the forged reports, hears of ticket 4 ...
    assert len(paths_to(relay, ANNA, 3)) == 3  # ... Anna gets no acknowledgement
    assert "hard bounce counted" in relayed.log() and "nothing counted" in relayed.log()
