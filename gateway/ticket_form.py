"""The /new form on Telegram: title -> description -> files -> confirm, kept in the store.

The ticket itself is opened by `OpenTicket` (parsed from /confirm), so every rule that applies
to an email applies here too; the form only collects the pieces, checking the title early so
the member is asked again at once, with the explanation in the title's language.
"""

from __future__ import annotations

from typing import Any

from gateway import events as ev
from gateway.commands import FillTicketForm, StartTicketForm
from gateway.conversations import Flow, Form, Step
from gateway.handlers import Outcome, Request, accepted_with, file_refused
from gateway.replies import Kind

MAX_FILES = 10
MAX_TITLE = 200
PREVIEW = 500


def start(command: StartTicketForm, r: Request) -> Outcome:
    r.uow.forms.save(r.msg.user_id, Form(Flow.NEW_TICKET, Step.TITLE), r.now)
    example = r.desk.languages.example(r.desk.language_for(r.member, _locale(r)))
    return accepted_with(None, ev.Answered(Kind.TG_NEW_TITLE, {"example": example}))


def fill(command: FillTicketForm, r: Request) -> Outcome:
    form, text, word = command.form, command.text, command.word
    answers: list[ev.Event] = []
    if form.step is Step.TITLE:
        answers.append(_title(form, text, r))
    elif form.step is Step.DESCRIPTION:
        if not text and not r.msg.attachments:
            return accepted_with(None, ev.Answered(Kind.TG_NEW_DESCRIPTION))
        form.data["text"] = text
        answers += _take_files(form, r)[1]
        form.step = Step.FILES
        answers.append(ev.Answered(Kind.TG_NEW_FILES, {
            "received": [f["filename"] for f in form.data.get("files", [])]}))
    elif form.step is Step.FILES and word in ("done", "confirm"):
        form.step = Step.CONFIRM
        answers.append(_confirm(form))
    elif form.step is Step.FILES:
        if text and not word:
            form.data["text"] = f"{form.data['text']}\n\n{text}".strip()
        received, refused = _take_files(form, r)
        answers += [*refused, ev.Answered(Kind.TG_NEW_FILES, {"received": received})]
    else:
        answers.append(_confirm(form))
    r.uow.forms.save(r.msg.user_id, form, r.now)
    return accepted_with(None, *answers)


def _title(form: Form, text: str, r: Request) -> ev.Answered:
    languages = r.desk.languages
    if text and "\n" not in text and languages.parse_title(text):
        form.data["title"] = text[:MAX_TITLE]
        form.step = Step.DESCRIPTION
        return ev.Answered(Kind.TG_NEW_DESCRIPTION)
    # Explain in the language the title appears to be written in (as for email).
    language = r.desk.detector.detect(text) or r.desk.language_for(r.member, _locale(r))
    return ev.Answered(Kind.TG_NEW_TITLE_WRONG, {"example": languages.example(language),
                                              "languages": languages.names()}, language=language)


def _take_files(form: Form, r: Request) -> tuple[list[str], list[ev.Event]]:
    """Store this message's files in the form (up to MAX_FILES in all): the names taken, and
    the answer about files refused."""
    files: list[dict[str, str]] = form.data.setdefault("files", [])
    taken = r.msg.attachments[:max(0, MAX_FILES - len(files))]
    for attachment in taken:
        files.append({"filename": attachment.filename, "content_type": attachment.content_type,
                      "digest": r.uow.blobs.put(attachment.data)})
    if not r.msg.rejected_attachments:
        return [a.filename for a in taken], []
    form.data.setdefault("refused", []).extend(r.msg.rejected_attachments)
    return [a.filename for a in taken], [file_refused(r)]


def _confirm(form: Form) -> ev.Answered:
    data: dict[str, Any] = form.data
    return ev.Answered(Kind.TG_NEW_CONFIRM, {"title": data["title"], "text": data["text"][:PREVIEW],
                                          "count": len(data.get("files", []))})


def _locale(r: Request) -> str:
    return r.msg.bot.locale if r.msg.bot else ""
