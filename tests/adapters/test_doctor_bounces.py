"""`gateway doctor` names agent addresses whose mail is suspended after hard bounces."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from adapters import doctor
from config.settings import Settings
from gateway.bounces import BOUNCE_KEY, BOUNCE_WINDOW
from store import admin
from store.unit_of_work import SqlCounters

AGENT = "agent.nl@example.org"


def agent_problems(tmp_path: Path, database_url: str) -> list[str]:
    settings = Settings(data_dir=tmp_path, database={"url": database_url},
                        security={"secret": "x"})
    return [p for p in asyncio.run(doctor.run_checks(settings)) if p.startswith("agent mail")]


def bounce(engine: Engine, address: str, times: int) -> None:
    with Session(engine) as session:
        for _ in range(times):
            SqlCounters(session).hit(f"{BOUNCE_KEY}{address}", BOUNCE_WINDOW, datetime.now(UTC))
        session.commit()


def test_doctor_reports_a_suspended_agent_address_and_what_to_do(
        tmp_path: Path, database_url: str, engine: Engine) -> None:
    admin.upsert_agent(engine, email=AGENT, name="Piet", languages=["nl"])
    bounce(engine, AGENT, 2)
    bounce(engine, "member@example.net", 3)  # members are not the doctor's business
    assert agent_problems(tmp_path, database_url) == []
    bounce(engine, AGENT, 1)
    [problem] = agent_problems(tmp_path, database_url)
    assert AGENT in problem and "suspended" in problem and "Fix the mailbox" in problem
    assert "member@example.net" not in problem
