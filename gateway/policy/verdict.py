"""What a rule says and what it sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.commands import Command
from gateway.desk import Desk
from gateway.messages import InboundMessage
from gateway.people import Agent, Member
from gateway.ports import Counters
from gateway.replies import Reply


@dataclass(frozen=True)
class PolicyContext:
    msg: InboundMessage
    member: Member | None
    agent: Agent | None
    command: Command | None
    desk: Desk
    counters: Counters
    now: datetime


@dataclass(frozen=True)
class Verdict:
    """A refusal: the rule's name, a reason code shared by logs and templates, and the reply."""

    rule: str
    reason: str
    reply: Reply | None = None
