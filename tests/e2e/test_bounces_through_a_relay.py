"""The running gateway: mail leaves with a signed return path; reports sent back to it over
SMTP count, and three suspend the member; a forged one counts for nobody (F4)."""

from __future__ import annotations

import smtplib
from pathlib import Path

from tests.support.gateway_process import SUPPORT, Gateway
from tests.support.smtp_sink import Sink

FIXTURES = Path(__file__).parent.parent / "fixtures"
ANNA, AGENT = "anna@example.net", "agent.nl@example.org"


def report(gw: Gateway, name: str, n: int, rcpt: str, token: str = "") -> None:
    raw = (FIXTURES / name).read_bytes().replace(b"DSN-ID", f"e2e{n}".encode())
    raw = raw.replace(b"RETURN-PATH-TOKEN", token.encode())
    raw = raw.replace(b"anna@member.example", ANNA.encode()).replace(b"desk@", b"agent.nl@")
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=10) as client:
        client.sendmail("", [rcpt], raw)  # MAIL FROM:<>, like a mailer daemon


def test_reports_to_the_return_paths_suspend_the_member_forged_ones_nobody(
        relayed: Gateway, relay: Sink) -> None:
    for n in range(3):
        relayed.send(ANNA, f"Nederlands - Kan niet inloggen {n}", "Ik kan niet inloggen.")
    paths = relay.paths_to(ANNA, 3)
    assert len(set(paths)) == 3 and all(p.startswith("support+b-") for p in paths)
    for n in range(3):  # forged: to the plain address, naming Anna and the agent
        report(relayed, "dsn_forged_about_a_member_and_an_agent.eml", n, SUPPORT)
    for n, path in enumerate(paths):
        report(relayed, "dsn_to_return_path.eml", n + 10, path,
               path.partition("+")[2].partition("@")[0])
    # Inbox and outbox are worked in order: the reports before ticket 4, its acknowledgement
    # (if any) before its notification.
    relayed.send(ANNA, "Nederlands - Kan niet inloggen 4", "Nog steeds niet.")
    relay.paths_to(AGENT, 4)  # the agent, named by the forged reports, hears of ticket 4 ...
    assert len(relay.paths_to(ANNA, 3)) == 3  # ... Anna gets no acknowledgement
    assert "hard bounce counted" in relayed.log() and "nothing counted" in relayed.log()
