"""`/new` as a state machine over stored state: title -> description -> files -> confirm.

The ticket itself is opened by the core (`handle_inbound`), so every rule that applies to an
email applies here too; this module only collects the pieces, checking the title early so
the member is re-asked at once with the localized explanation.
"""

from __future__ import annotations

from adapters.telegram.state import Conversation, clear_conversation, save_conversation
from adapters.telegram.turn import Turn
from gateway.handlers import Outcome
from gateway.messages import Attachment, Channel, InboundMessage
from gateway.service import handle_inbound
from store.blobs import BlobStore

MAX_FILES = 10
PREVIEW = 500


def start(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    if not turn.desk.rank_allows_tickets(member.rank):
        turn.say("refusal_rank", {"rank": member.rank, "min_rank": turn.desk.min_rank})
        return
    save_conversation(turn.uow.session, turn.user_id, Conversation("new", "title"), turn.now)
    turn.say("tg_new_title", {"example": turn.desk.languages.example(turn.language)})


def step(turn: Turn, conversation: Conversation, command: str | None, blobs: BlobStore) -> Outcome | None:
    """Feed one message to the flow; returns the core's outcome once the ticket is submitted."""
    data, text = conversation.data, turn.update.text.strip()
    if conversation.step == "title":
        _title(turn, conversation, text)
    elif conversation.step == "description":
        if not text and not turn.files:
            turn.say("tg_new_description")
            return None
        data["text"] = text
        _take_files(turn, conversation, blobs)
        conversation.step = "files"
        turn.say("tg_new_files", {"received": [f["filename"] for f in data.get("files", [])]})
    elif conversation.step == "files":
        if command in ("done", "confirm"):
            conversation.step = "confirm"
            turn.say("tg_new_confirm", {"title": data["title"], "text": data["text"][:PREVIEW],
                                        "count": len(data.get("files", []))})
        else:
            if text and not command:
                data["text"] = f"{data['text']}\n\n{text}".strip()
            received = _take_files(turn, conversation, blobs)
            turn.say("tg_new_files", {"received": received})
    elif conversation.step == "confirm":
        if command == "confirm":
            clear_conversation(turn.uow.session, turn.user_id)
            return submit(turn, conversation, blobs)
        turn.say("tg_new_confirm", {"title": data["title"], "text": data["text"][:PREVIEW],
                                    "count": len(data.get("files", []))})
    save_conversation(turn.uow.session, turn.user_id, conversation, turn.now)
    return None


def _title(turn: Turn, conversation: Conversation, text: str) -> None:
    languages = turn.desk.languages
    if text and "\n" not in text and languages.parse_title(text):
        conversation.data["title"] = text[:200]
        conversation.step = "description"
        turn.say("tg_new_description")
        return
    # Explain in the language the title appears to be written in (as for email).
    language = turn.desk.detector.detect(text) or turn.language
    turn.say("tg_new_title_wrong", {"example": languages.example(language),
                                    "languages": languages.names()}, language=language)


def _take_files(turn: Turn, conversation: Conversation, blobs: BlobStore) -> list[str]:
    files: list[dict[str, str]] = conversation.data.setdefault("files", [])
    refused: list[str] = conversation.data.setdefault("refused", [])
    received = []
    for attachment in turn.files[: max(0, MAX_FILES - len(files))]:
        digest = blobs.put(attachment.data)
        files.append({"filename": attachment.filename, "content_type": attachment.content_type,
                      "digest": digest})
        received.append(attachment.filename)
    if turn.refused_files:
        refused.extend(turn.refused_files)
        turn.say("tg_file_refused", {"names": list(turn.refused_files), "too_big": turn.too_big})
    return received


def submit(turn: Turn, conversation: Conversation, blobs: BlobStore) -> Outcome:
    data = conversation.data
    attachments = tuple(Attachment(f["filename"], f["content_type"], blobs.get(f["digest"]))
                        for f in data.get("files", []))
    msg = InboundMessage(
        channel=Channel.TELEGRAM, external_id=f"tg:{turn.update.update_id}",
        sender=str(turn.user_id), subject=data["title"], text=data["text"],
        full_text=data["text"], received_at=turn.now, attachments=attachments,
        rejected_attachments=tuple(data.get("refused", [])))
    return handle_inbound(msg, turn.uow, turn.desk, turn.now)
