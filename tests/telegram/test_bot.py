"""The bot end to end: `gateway run` polling a local Bot API server, agents on email."""

from __future__ import annotations

from datetime import UTC, datetime

from store import admin, inbox, outbox
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, STRANGER, TelegramDesk, code_in, issue_token


def open_ticket(desk: TelegramDesk, user: int = ANNA) -> str:
    desk.send(u.message(user, "/new"))
    desk.said(user, "Nederlands - ")
    desk.send(u.message(user, "Nederlands - Kan niet inloggen"))
    desk.send(u.message(user, "Sinds gisteren kan ik niet meer inloggen op mijn account."))
    desk.send(u.message(user, "/done"))
    desk.send(u.message(user, "/confirm"))
    opened = desk.said(user, "TI-")
    return "TI-" + opened["text"].split("TI-")[1].split()[0].strip("]")


def test_linking_with_a_code_read_from_the_email(desk: TelegramDesk) -> None:
    desk.send(u.message(STRANGER, "/link"))
    desk.said(STRANGER, "member ID")
    desk.send(u.message(STRANGER, "BO@example.net"))
    answer = desk.said(STRANGER, "6-digit")["text"]
    code = code_in(desk.mail_to("bo@example.net"))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    # Another Telegram user cannot use the code, and learns nothing about addresses.
    desk.send(u.message(504, "/link"))
    desk.send(u.message(504, "nobody@example.net"))
    assert desk.said(504, "6-digit")["text"] == answer
    desk.send(u.message(504, code))
    desk.said(504, "not right")
    desk.send(u.message(STRANGER, wrong))
    desk.said(STRANGER, "not right", "4 tries")
    desk.send(u.message(STRANGER, code))
    desk.said(STRANGER, "Bo Jensen", "1002")
    assert "linked" in desk.mail_to("bo@example.net")["Subject"]
    assert admin.list_tickets(desk.engine) == []
    desk.send(u.message(STRANGER, "/tickets"))
    desk.said(STRANGER, "Your tickets")
    for sent in desk.api.sent():
        assert "password" not in sent["text"].lower() or "never" in sent["text"].lower()


def test_a_deep_link_links_once_and_mails_a_confirmation(desk: TelegramDesk) -> None:
    token = issue_token(desk.engine, "tg-secret", "1002", datetime.now(UTC), 72)
    assert len(token) <= 64
    other = "y" if token[0] == "x" else "x"  # a different nonce, whatever the random token is
    desk.send(u.message(STRANGER, f"/start {other}{token[1:]}"))
    desk.said(STRANGER, "not valid")
    desk.send(u.message(STRANGER, f"/start {token}"))
    desk.said(STRANGER, "Bo Jensen")
    assert "linked" in desk.mail_to("bo@example.net")["Subject"]
    desk.send(u.message(505, f"/start {token}"))
    desk.said(505, "not valid")


def test_new_ticket_wrong_title_then_right_with_a_photo(desk: TelegramDesk) -> None:
    desk.api.files["photo-1"] = b"\xff\xd8\xff\xe0 a tiny jpeg"
    desk.send(u.message(ANNA, "/new", language="nl"))
    desk.said(ANNA, "Nederlands - ")
    desk.send(u.message(ANNA, "Ik kan niet inloggen op de website"))
    wrong = desk.said(ANNA, "Nederlands - Kan bestelling niet verwerken", "Dansk")
    assert "<" not in wrong["text"] and wrong.get("parse_mode") is None
    desk.send(u.message(ANNA, "Nederlands - Kan niet inloggen"))
    desk.send(u.message(ANNA, "Sinds gisteren kan ik niet meer inloggen."))
    desk.send(u.message(ANNA, caption="schermafdruk", photo="photo-1", photo_size=20))
    desk.said(ANNA, "photo-")
    desk.send(u.message(ANNA, "/done"))
    desk.said(ANNA, "/confirm")
    desk.send(u.message(ANNA, "/confirm"))
    desk.said(ANNA, "TI-1")
    ticket = admin.show_ticket(desk.engine, 1)
    assert ticket is not None
    assert (ticket["channel"], ticket["language"]) == ("telegram", "nl")
    assert ticket["messages"][0]["attachments"][0]["content_type"] == "image/jpeg"
    assert "[TI-1]" in desk.mail_to("agent.nl@example.org")["Subject"]


def test_feedback_cycle_with_an_agent_on_email_and_reply_threading(desk: TelegramDesk) -> None:
    ref = open_ticket(desk)
    notice = desk.mail_to("agent.nl@example.org")
    desk.mail("agent.nl@example.org", notice["Reply-To"], "/feedback\nWelke browser gebruik je?")
    asked = desk.said(ANNA, "Welke browser")
    desk.send(u.message(ANNA, "Firefox 128 <b>op</b> Linux", reply_to=asked["message_id"]))
    answer = desk.mail_to("agent.nl@example.org")
    assert ref in answer["Subject"] and "Firefox 128 <b>op</b> Linux" in answer.get_content()
    assert admin.list_tickets(desk.engine)[0]["status"] == "open"
    desk.mail("agent.nl@example.org", answer["Reply-To"], "Opgelost, kijk nog eens.")
    solved = desk.said(ANNA, "Opgelost")
    desk.send(u.message(ANNA, f"/close {ref}"))
    desk.said(ANNA, ref, "gesloten")
    assert admin.list_tickets(desk.engine)[0]["status"] == "closed"
    desk.send(u.message(ANNA, "/tickets"))
    listing = desk.said(ANNA, "Gesloten")
    assert ref in listing["text"] and solved["message_id"]


def test_live_chat_in_english_and_in_dutch(desk: TelegramDesk) -> None:
    desk.send(u.message(STRANGER, "/chat"))
    desk.said(STRANGER, "name")
    for text in ("Bo Jensen", "/skip", "bo@example.net",
                 "My password reset email never arrives, what should I do?"):
        desk.send(u.message(STRANGER, text))
    desk.said(STRANGER, "number 1")
    request = desk.mail_to("agent.en@example.org")
    assert "password reset" in request.get_content()
    desk.mail("agent.en@example.org", request["Reply-To"], "Please check your spam folder.")
    desk.said(STRANGER, "spam folder")
    desk.send(u.message(STRANGER, "Found it, thank you!"))
    assert "Found it" in desk.mail_to("agent.en@example.org").get_content()
    desk.mail("agent.en@example.org", request["Reply-To"], "/end")
    desk.said(STRANGER, "ended")
    desk.send(u.message(506, "/chat", language="nl"))
    for text in ("Jan", "/skip", "jan@example.net",
                 "Mijn wachtwoord herstellen werkt niet, wat moet ik nu doen?"):
        desk.send(u.message(506, text, language="nl"))
    desk.said(506, "Engels", "/new")


def test_a_blocked_bot_sends_by_email_and_tells_the_agents(desk: TelegramDesk) -> None:
    ref = open_ticket(desk)
    notice = desk.mail_to("agent.nl@example.org")
    desk.api.blocked.add(ANNA)
    desk.mail("agent.nl@example.org", notice["Reply-To"], "Probeer het nu opnieuw.")
    fallback = desk.mail_to("anna@example.net")
    assert ref in fallback["Subject"] and "Probeer het nu opnieuw" in fallback.get_content()
    assert "blocked" in desk.mail_to("agent.nl@example.org")["Subject"]
    failed = [r for r in outbox.rows(desk.engine, "failed") if r.channel == "telegram"]
    assert len(failed) == 1 and failed[0].last_error.startswith("403")


def test_429_waits_retry_after(desk: TelegramDesk) -> None:
    desk.api.flood.extend([2])
    desk.send(u.message(ANNA, "/help"))
    desk.reply_to(ANNA, lambda p: "message_id" in p)  # delivered, not only attempted
    times = [t for m, _, t in desk.api.calls if m == "sendMessage"]
    assert len(times) == 2 and times[1] - times[0] >= 2.0


def test_the_same_update_twice_acts_once_and_edits_groups_forwards_do_not(desk: TelegramDesk) -> None:
    update = {"update_id": 77, **u.message(ANNA, "/help")}
    desk.send(update)
    desk.send(dict(update))
    desk.send(u.message(ANNA, "/tickets", edited=True))
    desk.send(u.message(ANNA, "/tickets", group=True))
    desk.send(u.message(ANNA, "/close TI-1", forwarded_from=STRANGER))
    desk.send(u.message(ANNA, "/hours"))
    desk.said(ANNA, "GMT")
    desk.wait_inbox(5)
    assert len(desk.api.sent(chat_id=ANNA)) == 3  # /help, the forward's "not understood", /hours
    reasons = sorted(r.reason for r in inbox.rows(desk.engine))
    assert "telegram: ignored-edited_message" in reasons and "telegram: not-private" in reasons


def test_callback_buttons_are_authorized_again(desk: TelegramDesk) -> None:
    ref = open_ticket(desk)
    desk.send(u.message(ANNA, "/tickets"))
    listing = desk.said(ANNA, "Je tickets", ref)
    assert listing["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"t:{ref}"
    desk.send(u.callback(ANNA, f"t:{ref}"))
    desk.said(ANNA, "Sinds gisteren")
    desk.send(u.callback(STRANGER, f"t:{ref}"))
    desk.no_message_to(STRANGER)
    assert desk.api.sent(chat_id=STRANGER) == []
    assert len(desk.api.sent("answerCallbackQuery")) == 2
