"""500 real-world mails (the shared corpus, read in place) and generated ones with attachments
and odd charsets, through Dovecot into the inbox: each stored once, each processed."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, text

from adapters.email.ingest import dedupe_key
from tests.imap.conftest import (
    ANNA,
    FOLDER,
    PROCESSED,
    GatewayFactory,
    Mailbox,
    rows,
    settled,
    ticket_ids,
)
from tests.support.peers import missing
from tests.support.waiting import wait_until

TOTAL = 500
FULL_MESSAGES = ("chatwoot", "discourse", "django-helpdesk", "flanker", "mikel-mail",
                 "python-stdlib", "sisimai", "spamscope-mail-parser", "zammad",
                 "talon/standard_replies")
HEADER = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)
ODD = [("koi8-r", "Проблема с заказом: кнопка не работает."),
       ("iso-2022-jp", "注文ボタンが動きません。"),
       ("iso-8859-2", "Objednávka se nedá dokončit, tlačítko nereaguje."),
       ("windows-1252", "De knop doet niets – ook niet na opnieuw inloggen."),
       ("big5", "訂單按鈕沒有反應。")]


def corpus_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("GATEWAY_CORPUS", root.parent / "shared" / "corpus"))


def corpus_messages(limit: int) -> list[bytes]:
    """Whole messages, those with attachments or other charsets first; read in place."""
    root = corpus_dir()
    if not (root / "FEATURES.tsv").is_file():
        missing(f"the email corpus is not at {root}", "set GATEWAY_CORPUS")
    picked: list[tuple[int, bytes]] = []
    for line in (root / "FEATURES.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        if not fields[0].startswith(FULL_MESSAGES):
            continue
        raw = (root / fields[0]).read_bytes()
        if b"\0" in raw or not HEADER.match(raw) or b"\n\n" not in raw.replace(b"\r", b""):
            continue
        interesting = "attach" in fields[7] or fields[2] not in ("", "utf-8", "us-ascii")
        picked.append((0 if interesting else 1, raw))
    picked.sort(key=lambda pair: pair[0])
    return [raw for _, raw in picked[:limit]]


def generated(index: int) -> bytes:
    charset, words = ODD[index % len(ODD)]
    mail = EmailMessage()
    mail["From"], mail["To"] = ANNA, "support@example.org"
    mail["Subject"] = f"Nederlands - Bestelling {index} lukt niet"
    mail["Message-ID"] = f"<gen-{index}@imap.test>"
    mail.set_content(f"gen-{index}\n{words}\n", charset=charset)
    mail.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, maintype="image",
                        subtype="png", filename=f"scherm-{index}.png")
    mail.add_attachment(f"log {index}\n".encode() * 50, maintype="text", subtype="plain",
                        filename="log.txt")
    return bytes(mail)


def test_500_corpus_and_generated_mails_each_stored_once(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    corpus = corpus_messages(TOTAL - 60)
    mine = [generated(n) for n in range(TOTAL - len(corpus))]
    client = mailbox.client()
    appended = 0
    for raw in corpus + mine:  # one by one: a message the server refuses is left out
        try:
            client.append(FOLDER, raw)
            appended += 1
        except client.Error:
            continue
    client.logout()
    assert appended >= TOTAL - 20
    gateway = imap_gateway()
    gateway.start()
    wait_until(lambda: mailbox.count(FOLDER) == 0 and mailbox.count(PROCESSED) == appended,
               60, "the mailbox emptied", gateway.log)
    keys = {dedupe_key(body) for body, _ in mailbox.bodies(PROCESSED).values()}
    # Copies under one key with other bytes are kept as `key#n` rows and refused `duplicate`.
    wait_until(lambda: rows(engine, "dedupe_key NOT LIKE '%#%'") == len(keys) and settled(engine),
               60, "all processed", gateway.log)
    assert sorted(ticket_ids(engine)) == sorted(f"gen-{n}@imap.test" for n in range(len(mine)))
    with engine.connect() as connection:
        attachments = connection.execute(text("SELECT count(*) FROM attachments")).scalar()
    assert attachments == 2 * len(mine)
