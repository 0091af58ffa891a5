"""The template renderer: every kind in every language, fallbacks, localized dates."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.render import TemplateRenderer, default_locales_dir
from adapters.telegram.sender import telegram_text
from gateway.messages import Channel, OutboundMessage
from gateway.replies import AGENT_KINDS, MEMBER_KINDS, TELEGRAM_KINDS, Reply
from gateway.tickets import Status

LOCALES = default_locales_dir()
LANGUAGE_FILES = sorted(p.stem for p in LOCALES.glob("*.toml"))
REQUIRED = {"en", "nl", "da", "fr", "cs", "fi"}
EVERY_LANGUAGE = MEMBER_KINDS - TELEGRAM_KINDS  # what every language file translates

OPENED = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
CLOSED = datetime(2024, 3, 6, 16, 5, tzinfo=UTC)
WINDOW_START = datetime(2024, 3, 4, 13, 0, tzinfo=UTC)
WINDOW_END = datetime(2024, 3, 4, 21, 0, tzinfo=UTC)
AUTO_CLOSE = datetime(2024, 3, 18, 13, 0, tzinfo=UTC)

REF = "TI-42"
TITLE = "Nederlands - Kan bestelling niet verwerken"

TICKET_MAIL_KINDS = {
    "ticket_opened",
    "message_added",
    "ticket_reopened",
    "feedback_requested",
    "agent_answer",
    "ticket_closed",
    "feedback_reminder",
}


def _tickets() -> dict[str, list[dict[str, Any]]]:
    return {
        "open": [{"ref": "TI-7", "title": TITLE, "opened_at": OPENED, "closed_at": None}],
        "awaiting_feedback": [],
        "closed": [
            {
                "ref": "TI-3",
                "title": "English - Old issue",
                "opened_at": OPENED,
                "closed_at": CLOSED,
            }
        ],
    }


SAMPLES: dict[str, dict[str, Any]] = {
    "ticket_opened": {
        "ref": REF,
        "title": TITLE,
        "status": "open",
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "member_name": "Anna de Vries",
        "rejected_attachments": ["setup.exe", "huge.mov"],
    },
    "message_added": {
        "ref": REF,
        "title": TITLE,
        "status": "open",
        "member_name": "Anna de Vries",
        "rejected_attachments": [],
    },
    "ticket_reopened": {"ref": REF, "title": TITLE, "member_name": "Anna de Vries"},
    "feedback_requested": {
        "ref": REF,
        "title": TITLE,
        "text": "Which browser do you use?",
        "member_name": "Anna de Vries",
    },
    "agent_answer": {
        "ref": REF,
        "title": TITLE,
        "text": "Please clear your cache and try again.",
        "member_name": "Anna de Vries",
        "status": "open",
    },
    "ticket_closed": {
        "ref": REF,
        "title": TITLE,
        "closed_by": "agent",
        "text": "The order went through now.",
        "member_name": "Anna de Vries",
        "reopen_days": 14,
        "ask_rating": True,
    },
    "rating_thanks": {"ref": REF, "title": TITLE, "member_name": "Anna de Vries", "score": 4},
    "follow_up_opened": {
        "ref": REF,
        "title": TITLE,
        "status": "open",
        "follows": "TI-41",
        "reopen_days": 14,
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "member_name": "Anna de Vries",
        "rejected_attachments": [],
    },
    "feedback_reminder": {
        "ref": REF,
        "title": TITLE,
        "member_name": "Anna de Vries",
        "auto_close_at": AUTO_CLOSE,
    },
    "ticket_list": {"member_name": "Anna de Vries", **_tickets()},
    "refusal_unknown_sender": {"address": "stranger@example.com"},
    "refusal_rank": {"member_name": "Anna de Vries", "rank": "Elite", "min_rank": "Silver"},
    "refusal_title_language": {
        "title": "Cannot process order",
        "example": "Nederlands - Kan bestelling niet verwerken",
        "languages": ["Nederlands", "English", "Dansk", "Français", "Čeština", "suomi"],
    },
    "refusal_not_found": {"ref": "TI-999"},
    "refusal_unreadable": {},
    "link_code": {"code": "493021", "minutes": 10},
    "agent_new_ticket": {
        "ref": REF,
        "title": TITLE,
        "language": "nl",
        "detected_language": "de",
        "member_name": "Anna de Vries",
        "member_id": "1234567",
        "rank": "Gold",
        "channel": "email",
        "text": "Ik kan mijn bestelling niet afronden.",
        "attachments": ["screenshot.png"],
        "rejected_attachments": ["setup.exe"],
        "follows": "TI-41",
    },
    "agent_member_reply": {
        "ref": REF,
        "title": TITLE,
        "language": "nl",
        "detected_language": None,
        "member_name": "Anna de Vries",
        "member_id": "1234567",
        "rank": "Gold",
        "channel": "telegram",
        "text": "Ik gebruik Firefox.",
        "attachments": [],
        "rejected_attachments": [],
        "is_feedback": True,
        "status": "open",
    },
    "agent_ticket_closed": {
        "ref": REF,
        "title": TITLE,
        "member_name": "Anna de Vries",
        "member_id": "1234567",
        "closed_by": "member",
    },
    "agent_ticket_rated": {
        "ref": REF,
        "title": TITLE,
        "status": "closed",
        "member_name": "Anna de Vries",
        "member_id": "1234567",
        "score": 2,
        "comment": "Slow, but it works now.",
    },
    "agent_command_error": {"ref": REF, "title": TITLE, "status": "open",
                            "reason": "feedback-without-question", "commands": ["/feedback"],
                            "subject": f"Re: [{REF}] {TITLE}"},
}


def _flat(text: str) -> str:
    """`text` with its line breaks (and runs of spaces) as single spaces: as one reads it."""
    return " ".join(text.split())


def _load(lang: str) -> dict[str, Any]:
    with (LOCALES / f"{lang}.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def test_samples_cover_every_kind() -> None:
    assert set(SAMPLES) == (MEMBER_KINDS | AGENT_KINDS) - TELEGRAM_KINDS


def test_required_languages_are_present(renderer: TemplateRenderer) -> None:
    assert renderer.languages() >= REQUIRED
    assert set(LANGUAGE_FILES) == set(renderer.languages())


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_each_language_has_every_member_kind(lang: str) -> None:
    english = _load("en")
    data = _load(lang)
    english_member = {k for k in english if k in EVERY_LANGUAGE}
    assert english_member == EVERY_LANGUAGE
    assert {k for k in data if k in EVERY_LANGUAGE} == english_member
    for table in ("strings", "statuses"):
        assert table in data
    assert set(data["statuses"]) == {status.value for status in Status}
    for key in ("marker", "scope", "signature", "example_title"):
        assert data["strings"].get(key), f"{lang}: strings.{key} missing"
    unknown = set(data) - MEMBER_KINDS - AGENT_KINDS - {"strings", "statuses"}
    assert not unknown, f"{lang}: unknown tables {unknown}"


def test_agent_kinds_are_in_english(renderer: TemplateRenderer) -> None:
    assert renderer.kinds("en") >= AGENT_KINDS


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_renders(renderer: TemplateRenderer, lang: str, kind: str) -> None:
    out = renderer.render(Reply(kind=kind, language=lang, data=SAMPLES[kind]))
    assert out.subject
    assert "\n" not in out.subject
    assert "\r" not in out.subject
    assert out.subject == " ".join(out.subject.split())
    assert out.text.endswith("\n")
    assert not out.text.endswith("\n\n")
    for leak in ("{{", "}}", "{%", "%}", "None", "Undefined"):
        assert leak not in out.text, f"{leak!r} in {lang}/{kind}"
        assert leak not in out.subject, f"{leak!r} in subject of {lang}/{kind}"
    data = SAMPLES[kind]
    if "ref" in data:
        assert data["ref"] in out.text or data["ref"] in out.subject


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", sorted(TICKET_MAIL_KINDS | {"follow_up_opened", "rating_thanks"}))
def test_ticket_mail_starts_with_marker_and_threads(
    renderer: TemplateRenderer, lang: str, kind: str
) -> None:
    out = renderer.render(Reply(kind=kind, language=lang, data=SAMPLES[kind]))
    marker = _load(lang)["strings"]["marker"]
    first, blank = out.text.split("\n")[:2]
    assert first == f"##- {marker} -##"
    assert re.fullmatch(r"##-.*-##", first)
    assert blank == ""
    assert out.subject == f"[{REF}] {TITLE}"


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_ticket_opened_has_everything(renderer: TemplateRenderer, lang: str) -> None:
    data = _load(lang)
    out = renderer.render(Reply("ticket_opened", lang, SAMPLES["ticket_opened"]))
    assert REF in out.text
    assert data["statuses"]["open"] in out.text
    assert data["strings"]["scope"] in _flat(out.text)  # wrapped in the mail
    assert "/close" in out.text
    assert "setup.exe" in out.text
    assert "huge.mov" in out.text
    assert "10 M" in out.text
    assert "GMT" in out.text
    assert "13" in out.text
    assert "21" in out.text


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_statuses_are_localized_in_list(renderer: TemplateRenderer, lang: str) -> None:
    statuses = _load(lang)["statuses"]
    out = renderer.render(Reply("ticket_list", lang, SAMPLES["ticket_list"]))
    lines = out.text.splitlines()
    positions = [
        next(i for i, line in enumerate(lines) if line.startswith(statuses[key]))
        for key in ("open", "awaiting_feedback", "closed")
    ]
    assert positions == sorted(positions)
    assert "TI-7" in out.text
    assert "TI-3" in out.text
    # the empty group says so, right under its heading
    empty = lines[positions[1] + 1]
    assert empty.startswith("- ")
    assert "TI-" not in empty


def test_dutch_dates_and_window() -> None:
    renderer = TemplateRenderer()
    out = renderer.render(Reply("ticket_list", "nl", SAMPLES["ticket_list"]))
    assert "mrt" in out.text  # 4 maart 2024, medium format
    opened = renderer.render(Reply("ticket_opened", "nl", SAMPLES["ticket_opened"]))
    assert "maandag 4 maart 13:00–21:00 GMT" in opened.text
    reminder = renderer.render(Reply("feedback_reminder", "nl", SAMPLES["feedback_reminder"]))
    assert "18 maart 2024 om 13:00 GMT" in reminder.text
    assert "In afwachting van feedback" in reminder.text


def test_english_window_format() -> None:
    out = TemplateRenderer().render(Reply("ticket_opened", "en", SAMPLES["ticket_opened"]))
    assert "Monday 4 March 13:00–21:00 GMT" in out.text


def test_other_locales_dates() -> None:
    renderer = TemplateRenderer()
    fi = renderer.render(Reply("ticket_opened", "fi", SAMPLES["ticket_opened"]))
    assert "maaliskuuta" in fi.text
    cs = renderer.render(Reply("feedback_reminder", "cs", SAMPLES["feedback_reminder"]))
    assert "března" in cs.text


def test_unknown_language_falls_back_to_english(renderer: TemplateRenderer) -> None:
    out = renderer.render(Reply("ticket_opened", "xx", SAMPLES["ticket_opened"]))
    english = renderer.render(Reply("ticket_opened", "en", SAMPLES["ticket_opened"]))
    assert out == english
    assert "Please type your reply above this line" in out.text


def test_region_codes_are_accepted(renderer: TemplateRenderer) -> None:
    out = renderer.render(Reply("ticket_reopened", "nl-BE", SAMPLES["ticket_reopened"]))
    assert out == renderer.render(Reply("ticket_reopened", "nl", SAMPLES["ticket_reopened"]))


def test_missing_kind_falls_back_to_english_whole(renderer: TemplateRenderer) -> None:
    out = renderer.render(Reply("agent_new_ticket", "fr", SAMPLES["agent_new_ticket"]))
    assert out == renderer.render(Reply("agent_new_ticket", "en", SAMPLES["agent_new_ticket"]))
    assert "Open" in out.text


def test_unknown_kind_raises(renderer: TemplateRenderer) -> None:
    with pytest.raises(LookupError):
        renderer.render(Reply("no_such_kind", "en", {}))


def test_missing_language_file_and_kind_fallback(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_bytes((LOCALES / "en.toml").read_bytes())
    (tmp_path / "xy.toml").write_text(
        '[strings]\nmarker = "XY marker"\n[statuses]\nopen = "Auki"\n'
        '[ticket_reopened]\nsubject = "[{{ ref }}] {{ title }}"\n'
        "body = \"##- {{ strings.marker }} -##\\n\\n{{ strings.scope }} {{ 'open'|status }}\"\n",
        encoding="utf-8",
    )
    renderer = TemplateRenderer(tmp_path)
    assert renderer.languages() == {"en", "xy"}
    out = renderer.render(Reply("ticket_reopened", "xy", SAMPLES["ticket_reopened"]))
    assert out.text.startswith("##- XY marker -##\n\n")
    assert "account manager" in out.text  # scope filled in from English
    assert "Auki" in out.text
    other = renderer.render(Reply("message_added", "xy", SAMPLES["message_added"]))
    assert other.text.startswith("##- Please type your reply above this line -##")


def test_subject_is_one_line_even_with_newlines_in_title(renderer: TemplateRenderer) -> None:
    data = {**SAMPLES["message_added"], "title": "English -  broken\r\n  login\tpage"}
    out = renderer.render(Reply("message_added", "en", data))
    assert out.subject == f"[{REF}] English - broken login page"


@pytest.mark.parametrize("closed_by", ["member", "agent", "auto"])
@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_ticket_closed_variants(renderer: TemplateRenderer, lang: str, closed_by: str) -> None:
    data = {**SAMPLES["ticket_closed"], "closed_by": closed_by, "text": ""}
    out = renderer.render(Reply("ticket_closed", lang, data))
    assert "14" in out.text
    assert _load(lang)["statuses"]["closed"] in out.text
    assert "None" not in out.text


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_none_values_do_not_leak(renderer: TemplateRenderer, lang: str) -> None:
    data = {**SAMPLES["message_added"], "member_name": None}
    out = renderer.render(Reply("message_added", lang, data))
    assert "None" not in out.text
    tickets = {
        "member_name": "",
        "open": [],
        "awaiting_feedback": [],
        "closed": [{"ref": "TI-1", "title": "x", "opened_at": OPENED, "closed_at": None}],
    }
    listing = renderer.render(Reply("ticket_list", lang, tickets))
    assert "None" not in listing.text


def test_agent_language_mismatch_is_flagged(renderer: TemplateRenderer) -> None:
    out = renderer.render(Reply("agent_new_ticket", "en", SAMPLES["agent_new_ticket"]))
    assert "looks like German" in out.text
    assert "title says Dutch" in out.text
    for command in ("/feedback", "/close", "/open", "/note"):
        assert command in out.text
    assert "1234567" in out.text
    assert "Gold" in out.text
    same = {**SAMPLES["agent_new_ticket"], "detected_language": "nl"}
    assert "looks like" not in renderer.render(Reply("agent_new_ticket", "en", same)).text


def test_link_code_and_refusals(renderer: TemplateRenderer) -> None:
    code = renderer.render(Reply("link_code", "fr", SAMPLES["link_code"]))
    assert "493021" in code.text
    assert "10 minutes" in code.text
    rank = renderer.render(Reply("refusal_rank", "da", SAMPLES["refusal_rank"]))
    assert "Silver" in rank.text
    title = renderer.render(
        Reply("refusal_title_language", "cs", SAMPLES["refusal_title_language"])
    )
    assert "Nederlands - Kan bestelling niet verwerken" in title.text
    assert "suomi" in title.text
    unknown = renderer.render(
        Reply("refusal_unknown_sender", "fi", SAMPLES["refusal_unknown_sender"])
    )
    assert "stranger@example.com" in unknown.text


def test_czech_plural_forms(renderer: TemplateRenderer) -> None:
    one = {**SAMPLES["follow_up_opened"], "reopen_days": 1}
    assert "1 dnem" in renderer.render(Reply("follow_up_opened", "cs", one)).text
    many = renderer.render(Reply("follow_up_opened", "cs", SAMPLES["follow_up_opened"]))
    assert "14 dny" in many.text


def _in_telegram(renderer: TemplateRenderer, kind: str, lang: str) -> str:
    """What the member reads in Telegram: rendered for the channel, as the sender sends it."""
    out = renderer.render(Reply(kind, lang, {**SAMPLES[kind], "channel": "telegram"}))
    return telegram_text(OutboundMessage(
        channel=Channel.TELEGRAM, recipient="501", subject=out.subject, text=out.text,
        message_id="m@example.org", ticket_ref=REF))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_telegram_ticket_opened_does_not_speak_of_email(
    renderer: TemplateRenderer, lang: str
) -> None:
    text = _in_telegram(renderer, "ticket_opened", lang)
    assert "mail" not in text.lower()
    assert "##-" not in text
    assert REF in text
    assert f"/close {REF}" in text
    assert "setup.exe" in text  # the rejected attachments are still listed
    email = renderer.render(Reply("ticket_opened", lang, {**SAMPLES["ticket_opened"],
                                                          "channel": "email"}))
    assert email == renderer.render(Reply("ticket_opened", lang, SAMPLES["ticket_opened"]))
    assert "mail" in email.text.lower()


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", sorted(TICKET_MAIL_KINDS | {"follow_up_opened", "rating_thanks"}))
def test_ticket_messages_in_telegram_do_not_speak_of_email(
    renderer: TemplateRenderer, lang: str, kind: str
) -> None:
    text = _in_telegram(renderer, kind, lang).lower()
    email_words = ("mail", "correo", "sähköpost", "first line", "eerste regel", "første linje",
                   "première ligne", "prvním řádku", "ensimmäisellä rivillä", "ersten zeile",
                   "primera línea")
    for word in email_words:
        assert word not in text, f"{word!r} in {lang}/{kind}"
    assert REF.lower() in text


# ------------------------------------ Texts (CONTRACT §10): wrapping, day counts, greetings

WIDTH = 76
MAIL_KINDS = sorted(kind for kind in MEMBER_KINDS | AGENT_KINDS if not kind.startswith("tg_"))
MEMBER_MAIL_KINDS = sorted(set(MAIL_KINDS) & MEMBER_KINDS)
# What members and agents write: long, over several lines, spaced their way.
WRITTEN_TITLE = ("Nederlands - De bestelling voor ons nieuwe kantoor in Utrecht blijft hangen bij "
                 "de betaalstap")
WRITTEN_TEXT = (
    "Goedemorgen,\n"
    "\n"
    "Ik heb het vanochtend opnieuw geprobeerd en het bestelformulier weigert nog steeds het "
    "afleveradres van ons nieuwe kantoor, met dezelfde foutmelding als vorige week.\n"
    "   Foutcode:   E-4021   (zie bijlage)\n"
    "> Op 3 maart schreef u: wis uw cache en probeer het opnieuw, dan zou het moeten werken.\n"
    "Anna"
)
WRITTEN_PARTS = [WRITTEN_TITLE, *WRITTEN_TEXT.splitlines()]


def _sample(kind: str) -> dict[str, Any]:
    from tests.telegram.test_templates import DATA  # the Telegram channel's mail kinds

    return SAMPLES.get(kind, DATA)


def _as_sent(value: Any, key: str = "") -> Any:
    """A sample as the core sends it: day counts are floats (settings), and what people wrote
    (titles, messages, comments, chat lines) is long and runs over several lines."""
    if isinstance(value, dict):
        return {k: _as_sent(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sent(v, key) for v in value]
    if key.endswith("_days") and isinstance(value, int):
        return float(value)
    if key in ("title", "subject") and value:
        return WRITTEN_TITLE
    if key in ("text", "comment") and value:
        return WRITTEN_TEXT
    return value


def _overlong(text: str) -> list[str]:
    """Lines over 76 characters that are not long because of what someone wrote."""
    return [line for line in text.splitlines() if len(line) > WIDTH and not any(
        part in line and len(line) - len(part) <= WIDTH for part in WRITTEN_PARTS
        if len(part) > WIDTH // 2)]


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_mail_is_wrapped_at_76_and_days_are_whole_numbers(
    renderer: TemplateRenderer, lang: str, kind: str
) -> None:
    data = _as_sent(_sample(kind))
    out = renderer.render(Reply(kind, lang, data))
    assert _overlong(out.text) == [], f"{lang}/{kind}"
    for key, days in data.items():
        if key.endswith("_days"):
            assert f"{days:g}" in out.text
            assert f"{days:g}.0" not in out.text and f"{days:g},0" not in out.text


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", ["agent_answer", "feedback_requested", "ticket_closed",
                                  "agent_new_ticket", "agent_member_reply"])
def test_what_people_wrote_is_left_as_written(
    renderer: TemplateRenderer, lang: str, kind: str
) -> None:
    out = renderer.render(Reply(kind, lang, _as_sent(SAMPLES[kind])))
    assert WRITTEN_TEXT in out.text


def test_a_chat_line_is_left_as_written(renderer: TemplateRenderer) -> None:
    from tests.telegram.test_templates import DATA

    line = WRITTEN_TEXT.splitlines()[2]  # 160 characters
    data = {**DATA, "lines": [{"at": "13:00:00", "text": line},
                              {"at": "13:00:05", "text": "en het adres is Kanaalweg 12"}]}
    out = renderer.render(Reply("agent_chat_request", "en", data))
    assert f"[13:00:00 GMT] {line}\n[13:00:05 GMT] en het adres is Kanaalweg 12\n" in out.text


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
def test_a_closing_notice_counts_days_as_people_do(renderer: TemplateRenderer, lang: str) -> None:
    words = {"en": "14 days", "nl": "14 dagen", "da": "14 dage", "de": "14 Tagen",
             "fr": "14 jours", "es": "14 días", "cs": "14 dnů", "fi": "14 päivän"}
    out = renderer.render(Reply("ticket_closed", lang, {**SAMPLES["ticket_closed"],
                                                        "reopen_days": 14.0}))
    assert words[lang] in _flat(out.text)
    assert "14.0" not in out.text and "14,0" not in out.text


def test_fractions_of_days_are_written_the_languages_way(renderer: TemplateRenderer) -> None:
    def closing(lang: str, days: float) -> str:
        data = {**SAMPLES["ticket_closed"], "reopen_days": days}
        return _flat(renderer.render(Reply("ticket_closed", lang, data)).text)

    assert "1.5 days" in closing("en", 1.5)
    assert "1,5 dagen" in closing("nl", 1.5)
    assert "1 day " in closing("en", 1.0)
    assert "do 1 dne " in closing("cs", 1.0)  # one, not the decimal form


@pytest.mark.parametrize("lang", LANGUAGE_FILES)
@pytest.mark.parametrize("kind", MEMBER_MAIL_KINDS)
def test_a_known_member_is_greeted_by_name(renderer: TemplateRenderer, lang: str, kind: str) -> None:
    data = {**_sample(kind), "member_name": "Zofia Wiśniewska"}
    out = renderer.render(Reply(kind, lang, data))
    greeting = next(line for line in out.text.splitlines() if line and not line.startswith("##-"))
    assert "Zofia Wiśniewska" in greeting, f"{lang}/{kind}: {greeting!r}"


def test_telegram_texts_are_not_wrapped(renderer: TemplateRenderer) -> None:
    scope = _load("en")["strings"]["scope"]  # 119 characters
    assert len(scope) > WIDTH
    assert scope in _in_telegram(renderer, "ticket_opened", "en").splitlines()
    mail = renderer.render(Reply("ticket_opened", "en", SAMPLES["ticket_opened"]))
    assert scope not in mail.text
    assert scope in _flat(mail.text)
