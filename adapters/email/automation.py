"""Tell machine-sent mail (bounces, auto-replies, lists, our own) from people's."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from adapters.email.bounces import DSN_TYPES
from adapters.email.headers import address_tokens

# Delivery reports, and the other machine-made reports: abuse feedback, read receipts.
_REPORT_PART_TYPES = DSN_TYPES | {
    "message/feedback-report", "message/disposition-notification", "message/global-disposition-notification"}
_REPORT_TYPES = frozenset(
    {"delivery-status", "global-delivery-status", "feedback-report", "disposition-notification"}
)
_DAEMON_LOCALS = frozenset({"mailer-daemon", "postmaster"})
_DAEMON_HINT = re.compile(
    r"mailer-daemon|postmaster|mail delivery|mail administrator|mdaemon|bounce|"
    r"nobody@|noreply|no-reply|system administrator|mail ?system|auto.?reply",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not delivered|could not be delivered|delivery (status )?notif|"
    r"delivery fail|delivery has failed|failure notice|returned mail|return(ed)? to sender|"
    r"mail delivery failed|non-?delivery|nondeliverable|delivery problem|mail system error|"
    r"message (was )?rejected|warning: could not send|delayed mail|delivery delayed|"
    r"unzustellbar|non remis|onbestelbaar|kan ikke leveres|エラー通知|配信エラー",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(\[?auto[- ]?generated\]?|auto[- ]?reply|automatic reply|out of (the )?office|"
    r"autosvar|automatisch antwoord|réponse automatique|automatische antwort|"
    r"automaattinen vastaus|automatická odpověď|abwesenheitsnotiz)\b",
    re.IGNORECASE,
)
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_LIST_HEADERS = ("list-id", "list-post", "list-unsubscribe")


@dataclass(frozen=True)
class Facts:
    """What the classifier needs to know about one message."""

    sender: str
    from_raw: str | None
    subject: str
    headers: Mapping[str, Sequence[str]]
    content_types: tuple[str, ...]
    report_types: tuple[str, ...]

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0].strip() if values else None


def _is_self(facts: Facts, own: frozenset[str]) -> bool:
    if facts.sender and facts.sender in own:
        return True
    for loop in facts.headers.get("x-loop", ()):
        tokens = address_tokens(loop) or [loop.strip().lower()]
        if any(token in own for token in tokens):
            return True
    return False


def _is_null_sender(facts: Facts) -> bool:
    return_path = facts.first("return-path")
    if return_path is not None and return_path.replace(" ", "") in ("<>", ""):
        return True
    if facts.from_raw is None or "@" not in facts.from_raw:
        return True
    local = facts.sender.partition("@")[0]
    return local in _DAEMON_LOCALS


def _is_dsn(facts: Facts) -> bool:
    if any(ct in _REPORT_PART_TYPES for ct in facts.content_types):
        return True
    if any(rt in _REPORT_TYPES for rt in facts.report_types):
        return True
    # A classic bounce without a report part: a daemon-looking sender and a
    # bounce subject. Both are required so that a person writing "my mail was
    # returned" is not silenced.
    from_text = facts.from_raw or ""
    looks_daemon = bool(_DAEMON_HINT.search(from_text)) or bool(
        facts.headers.get("x-failed-recipients")
    )
    return looks_daemon and bool(_BOUNCE_SUBJECT.search(facts.subject))


def _is_auto_submitted(facts: Facts) -> bool:
    value = facts.first("auto-submitted")
    if value is None:
        return False
    return value.split(";")[0].split("(")[0].strip().lower() != "no"


def _is_autoreply(facts: Facts) -> bool:
    if facts.first("x-autoreply") is not None or facts.first("x-autorespond") is not None:
        return True
    # Exchange stamps "All" (or a bare "OOF") on the automatic messages it
    # generates itself. Outlook also adds a list such as "DR, RN, NRN, OOF,
    # AutoReply" to ordinary person-written mail: that only says the sender
    # wants no auto-replies, not that a machine wrote it, so it is ignored.
    xars = (facts.first("x-auto-response-suppress") or "").replace(" ", "").lower()
    if xars in ("all", "oof"):
        return True
    return bool(_AUTO_SUBJECT.search(facts.subject))


def _is_precedence(facts: Facts) -> bool:
    value = (facts.first("precedence") or "").lower()
    return value in _PRECEDENCE


def _is_list(facts: Facts) -> bool:
    return any(facts.first(name) is not None for name in _LIST_HEADERS)


_RULES: tuple[tuple[str, Callable[[Facts], bool]], ...] = (
    ("null-sender", _is_null_sender),
    ("dsn", _is_dsn),
    ("auto-submitted", _is_auto_submitted),
    ("autoreply", _is_autoreply),
    ("precedence", _is_precedence),
    ("list", _is_list),
)


def classify(facts: Facts, own_addresses: frozenset[str]) -> str | None:
    """The first matching reason code, or None for mail written by a person."""
    own = frozenset(address.lower() for address in own_addresses)
    if _is_self(facts, own):
        return "self"
    for name, rule in _RULES:
        if rule(facts):
            return name
    return None
