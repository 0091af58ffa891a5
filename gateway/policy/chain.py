"""The order of the rules (CONTRACT §3): the first refusal wins."""

from __future__ import annotations

from collections.abc import Callable

from gateway.policy import known_sender, loop_guard, rank, rate_limit, title_language
from gateway.policy.verdict import PolicyContext, Verdict

Rule = Callable[[PolicyContext], Verdict | None]

RULES: tuple[tuple[str, Rule], ...] = (
    (loop_guard.NAME, loop_guard.check),
    (known_sender.NAME, known_sender.check),
    (rate_limit.NAME, rate_limit.check),
    (rank.NAME, rank.check),
    (title_language.NAME, title_language.check),
)


def run(ctx: PolicyContext) -> Verdict | None:
    for _name, rule in RULES:
        verdict = rule(ctx)
        if verdict is not None:
            return verdict
    return None
