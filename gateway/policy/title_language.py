"""title-language: a new ticket's title starts with the language it is written in."""

from __future__ import annotations

from gateway.commands import OpenTicket
from gateway.policy.verdict import PolicyContext, Verdict
from gateway.replies import Kind, Reply

NAME = "title-language"


def check(ctx: PolicyContext) -> Verdict | None:
    command = ctx.command
    if ctx.member is None or not isinstance(command, OpenTicket):
        return None
    if ctx.desk.languages.parse_title(command.title):
        return None
    # Explain in the language the text appears to be written in.
    language = ctx.desk.detector.detect(f"{command.title}\n{command.text}") or ctx.member.language
    data = {
        "member_name": ctx.member.name,
        "title": command.title,
        "example": ctx.desk.languages.example(language),
        "languages": ctx.desk.languages.names(),
    }
    return Verdict(NAME, "title-language", Reply(Kind.REFUSAL_TITLE_LANGUAGE, language, data))
