"""The desk's people, added the one way: `seed(engine, ANNA, PIET, ...)`."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.people import Agent, Member
from store import admin

ANNA = Member("1001", "Anna de Vries", "anna@example.net", rank="Gold", language="nl")
BO = Member("1002", "Bo Jensen", "bo@example.net", rank="Gold", language="en")
PIET = Agent("agent.nl@example.org", "Piet", frozenset({"nl"}))
EMMA = Agent("agent.en@example.org", "Emma", frozenset({"en"}))


def seed(engine: Engine, *people: Member | Agent) -> None:
    """Add (or update) each member and agent, in order."""
    for person in people:
        if isinstance(person, Member):
            admin.upsert_member(engine, member_id=person.member_id, name=person.name,
                                email=person.email, rank=person.rank, language=person.language,
                                telegram_user_id=person.telegram_user_id)
        else:
            admin.upsert_agent(engine, email=person.email, name=person.name,
                               languages=sorted(person.languages))
