"""Telegram documents are typed by their bytes: a program named photo.png is left out, the member told."""

from __future__ import annotations

from store import admin
from tests.fixtures.make_attachment_fixtures import pe_program, png_1x1
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, TelegramDesk


def document(file_id: str, name: str, mime_type: str, data: bytes) -> dict[str, object]:
    return {"file_id": file_id, "file_unique_id": file_id, "file_name": name,
            "mime_type": mime_type, "file_size": len(data)}


def test_a_program_named_photo_png_is_left_out_of_a_new_ticket(desk: TelegramDesk) -> None:
    desk.api.files["doc-exe"] = pe_program()
    desk.api.files["doc-png"] = png_1x1()
    desk.send(u.message(ANNA, "/new", language="nl"))
    desk.said(ANNA, "Nederlands - ")
    desk.send(u.message(ANNA, "Nederlands - Kan niet inloggen"))
    desk.send(u.message(ANNA, "Sinds gisteren kan ik niet meer inloggen."))
    desk.send(u.message(ANNA, document=document("doc-exe", "photo.png", "image/png", pe_program())))
    desk.said(ANNA, "photo.png", "niet accepteren")
    desk.send(u.message(ANNA, document=document("doc-png", "scherm", "application/octet-stream",
                                                png_1x1())))
    desk.said(ANNA, "scherm.png")
    desk.send(u.message(ANNA, "/done"))
    desk.said(ANNA, "/confirm")
    desk.send(u.message(ANNA, "/confirm"))
    desk.said(ANNA, "TI-1")
    ticket = admin.show_ticket(desk.engine, 1)
    assert ticket is not None
    assert [(a["filename"], a["content_type"]) for a in ticket["messages"][0]["attachments"]] == [
        ("scherm.png", "image/png")]
    notice = desk.mail_to("agent.nl@example.org")
    assert [part.get_filename() for part in notice.iter_attachments()] == ["scherm.png"]
    body = notice.get_body(("plain",))
    assert body is not None and "photo.png" in body.get_content()  # named as refused, not attached


def test_a_program_sent_as_a_reply_is_left_out(desk: TelegramDesk) -> None:
    desk.api.files["doc-exe"] = pe_program()
    desk.send(u.message(ANNA, "/new", language="nl"))
    desk.said(ANNA, "Nederlands - ")
    desk.send(u.message(ANNA, "Nederlands - Kan niet inloggen"))
    desk.send(u.message(ANNA, "Sinds gisteren kan ik niet meer inloggen."))
    desk.send(u.message(ANNA, "/done"))
    desk.said(ANNA, "/confirm")
    desk.send(u.message(ANNA, "/confirm"))
    opened = desk.said(ANNA, "TI-1")
    desk.mail_to("agent.nl@example.org")
    desk.send(u.message(ANNA, caption="de foto", reply_to=opened["message_id"],
                        document=document("doc-exe", "photo.png", "image/png", pe_program())))
    desk.said(ANNA, "photo.png", "niet accepteren")
    added = desk.mail_to("agent.nl@example.org")
    assert list(added.iter_attachments()) == []
