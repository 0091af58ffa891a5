"""Behaviour of `strip_reply`: reply headers, separators, signatures, languages."""

from __future__ import annotations

import time

import pytest

from adapters.email.quotes import strip_reply
from tests.support.cpu import assert_linear, cpu_seconds

QUOTE = "\n> earlier text\n> more earlier text\n"


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Mar 4, 2024 at 9:12 AM Support <support@example.org> wrote:",
        "On Mon, Mar 4, 2024 at 9:12 AM Support Desk\n<support@example.org> wrote:",
        "On 4 Mar 2024, at 09:12, Support <support@example.org> wrote:",
        "Op ma 4 mrt 2024 om 09:12 schreef Support <support@example.org>:",
        "Op 4 mrt. 2024 om 09:12 heeft Support <support@example.org> het volgende geschreven:",
        "Den man. 4. mar. 2024 kl. 09.12 skrev Support <support@example.org>:",
        "Le lun. 4 mars 2024 à 09:12, Support <support@example.org> a écrit :",
        "Le 04/03/2024 à 09:12, Support a écrit :",
        "Dne 04.03.2024 v 9:12 Support napsal(a):",
        "po 4. 3. 2024 v 9:12 odesílatel Support <support@example.org> napsal:",
        "Support <support@example.org> kirjoitti 4.3.2024 kello 9.12:",
        "ma 4.3.2024 klo 9.12 Support (support@example.org) kirjoitti:",
        "Am Mo., 4. März 2024 um 09:12 Uhr schrieb Support <support@example.org>:",
        "Den 4 mars 2024 09:12 skrev Support <support@example.org>:",
        "El lun, 4 mar 2024 a las 9:12, Support (<support@example.org>) escribió:",
        "Il giorno lun 4 mar 2024 alle ore 09:12 Support <support@example.org> ha scritto:",
        "W dniu 4.03.2024 o 09:12, Support pisze:",
        "Dnia 4 marca 2024 09:12 Support <support@example.org> napisał(a):",
    ],
)
def test_reply_headers_in_many_languages(header: str) -> None:
    body = "The answer.\n\n" + header + "\n\n> earlier text\nline without marker\n"
    assert strip_reply(body) == "The answer."
    assert strip_reply("The answer.\n\n" + header + QUOTE) == "The answer."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Oorspronkelijk bericht-----",
        "-----Oprindelig meddelelse-----",
        "-----Message d'origine-----",
        "-----Původní zpráva-----",
        "-----Alkuperäinen viesti-----",
        "-----Ursprüngliche Nachricht-----",
        "---------- Forwarded message ---------",
    ],
)
def test_outlook_separators(separator: str) -> None:
    body = f"New text.\n\n{separator}\nFrom: x\nSubject: y\n\nOld text.\n"
    assert strip_reply(body) == "New text."


@pytest.mark.parametrize(
    "block",
    [
        "From: Support\nSent: Monday\nTo: Anna\nSubject: Hi",
        "*From:* Support\n*Sent:* Monday\n*To:* Anna\n*Subject:* Hi",
        "Van: Support\nVerzonden: maandag\nAan: Anna\nOnderwerp: Hi",
        "Fra: Support\nSendt: mandag\nTil: Anna\nEmne: Hi",
        "De : Support\nEnvoyé : lundi\nÀ : Anna\nObjet : Hi",
        "Od: Support\nOdesláno: pondělí\nKomu: Anna\nPředmět: Hi",
        "Lähettäjä: Support\nLähetetty: maanantai\nVastaanottaja: Anna\nAihe: Hi",
        "Von: Support\nGesendet: Montag\nAn: Anna\nBetreff: Hi",
    ],
)
def test_outlook_header_blocks(block: str) -> None:
    body = f"New text.\n\n________________________________\n{block}\n\nOld text.\n"
    assert strip_reply(body) == "New text."
    assert strip_reply(f"New text.\n\n{block}\n\nOld text.\n") == "New text."


def test_gateway_marker() -> None:
    body = "Fixed, thanks.\n\n##- Antwoord boven deze regel -##\nTicket TI-3 ..."
    assert strip_reply(body) == "Fixed, thanks."


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Verzonden vanaf mijn iPhone",
        "Envoyé de mon iPhone",
        "Sendt fra min iPhone",
        "Odesláno z iPhonu",
        "Lähetetty iPhonesta",
        "Von meinem iPhone gesendet",
        "Get Outlook for Android",
    ],
)
def test_mobile_signatures(signature: str) -> None:
    assert strip_reply(f"It works now.\n\n{signature}\n") == "It works now."


def test_sentence_starting_like_a_signature_is_kept() -> None:
    body = "Here it is\n\nSent from my desk, is much easier than my mobile phone."
    assert strip_reply(body) == body


def test_signature_delimiter() -> None:
    assert strip_reply("Thanks!\n\n-- \nAnna Smith\nACME") == "Thanks!"
    assert strip_reply("a -- b stays\nline two") == "a -- b stays\nline two"


def test_trailing_quote_block_removed_inline_kept() -> None:
    assert strip_reply("My answer\n\n> old\n> older\n") == "My answer"
    inline = "> question one\nanswer one\n\n> question two\nanswer two"
    assert strip_reply(inline) == inline


def test_bottom_post_keeps_text_below_header() -> None:
    body = "On Mon, Mar 4, 2024 at 9:12 AM Support <s@example.org> wrote:\n> Hi\nHello there"
    assert strip_reply(body) == "Hello there"


def test_nothing_left_returns_original() -> None:
    assert strip_reply("> only a quote") == "> only a quote"
    assert strip_reply("") == ""


def test_a_sentence_beginning_with_on_is_not_a_header() -> None:
    body = "On your remote host you can run:\n\n  ls -la\n\nThat should work."
    assert strip_reply(body) == body


def test_crlf_and_pathological_input_fast() -> None:
    assert strip_reply("Yes\r\n\r\nOn 1 Jan 2024, A <a@b.example> wrote:\r\n> x\r\n") == "Yes"
    hostile = ("On " + "x " * 5000 + "\n") * 50 + "-" * 50000 + "\n" + ">" * 100000
    start = time.process_time()
    strip_reply(hostile)
    assert time.process_time() - start < 1.0



@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone, please excuse typos",
        "Sent from my iPhone please excuse my typos and brevity",
        "Sent from my Samsung Galaxy S21 Ultra please excuse typos",
        "Sent from my iPhone <https://example.org/app>",
        "Sent from my iPhone  .",
        "(Sent from my Fairphone)",
        "Von meinem Samsung Galaxy Smartphone gesendet.",
        "Sent with Proton Mail secure email.",
    ],
)
def test_mobile_signature_variants(signature: str) -> None:
    assert strip_reply(f"It works now.\n\n{signature}\n") == "It works now."


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my Samsung Galaxy S21 Ultra 5G phone",  # more than five words
        "Sent from my iPhone - which I dropped yesterday",
        "sent from my " + "a" * 300,  # longer than a signature line
    ],
)
def test_lines_that_only_look_like_mobile_signatures_are_kept(line: str) -> None:
    body = f"It works now.\n\n{line}"
    assert strip_reply(body) == body


@pytest.mark.parametrize(
    "last_line",
    [
        "sent from my " + "a" * 300 + "#",  # backtracked for hours
        "Verzonden vanaf mijn " + "a" * 300 + "#",
        "Von meinem " + "x" * 300 + " gesendet?",
    ],
)
def test_device_names_do_not_backtrack(last_line: str) -> None:
    body = "It works now.\n\n" + last_line
    assert cpu_seconds(lambda: strip_reply(body)) < 0.5  # it backtracked for hours
    assert strip_reply(body) == body


def test_separator_padded_with_spaces_is_fast() -> None:
    padded = "New text.\n\n---------- Forwarded message" + " " * 1500 + "\nFrom: a\n\nOld text."
    spoiled = "New text.\n\n---------- Forwarded message" + " " * 1500 + "x\nFrom: a\n\nOld text."
    assert_linear(strip_reply, lambda n: "New text.\n\n---------- Forwarded message" + " " * n
                  + "x\nFrom: a\n\nOld text.", 12_000)
    assert strip_reply(padded) == "New text."
    assert strip_reply(spoiled) == spoiled


def test_many_quoted_lines_are_scanned_once() -> None:
    assert_linear(strip_reply, lambda n: "My answer\n" + "> old\n" * n, 100_000)
    assert strip_reply("My answer\n" + "> old\n" * 1000) == "My answer"


def test_lines_of_spaces_are_cheap() -> None:
    assert_linear(strip_reply, lambda n: "Hello\n" + (" " * 1590 + "x\n") * n, 125)
