"""The whole corpus through the real worker: one recorded outcome each, machines never answered."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.email.ingest import dedupe_key
from adapters.email.normalize import Limits, UnreadableMessage, parse_email
from adapters.runtime import make_desk, make_incoming
from config.settings import load_settings
from store import admin, inbox, outbox
from tests.unit.fakes import FakeClock

from .expectations import WHEN, index_rows
from .test_corpus import KNOWN_MISSES


def sender_of(raw: bytes, limits: Limits) -> str:
    try:
        return parse_email(raw, received_at=WHEN, limits=limits).sender
    except UnreadableMessage:
        return ""


def feed(engine: Engine, corpus: Path, paths: list[str]) -> None:
    for path in paths:
        raw = (corpus / path).read_bytes()
        # The path joins the key: some fixtures share a Message-ID and body on purpose.
        key = hashlib.sha256(f"{dedupe_key(raw)}:{path}".encode()).hexdigest()
        inbox.store_raw(engine, channel="email", dedupe_key=key,
                        raw=raw, envelope=json.dumps({"from": "x@y.example", "to": []}),
                        now=WHEN)


def test_every_corpus_mail_ends_in_one_outcome_and_machines_get_no_reply(
        corpus: Path, limits: Limits, engine: Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "corpus")
    rows = index_rows(corpus)
    machines = sorted(row["path"] for row in rows if row["category"] in ("bounce", "auto-reply")
                      and row["path"] not in KNOWN_MISSES)
    people = sorted(row["path"] for row in rows if row["path"] not in machines)
    # Every sender is a member of high rank: only the loop rules may keep a reply back.
    senders = {sender_of((corpus / path).read_bytes(), limits)
               for path in machines + people} - {""}
    for number, sender in enumerate(sorted(senders)):
        admin.upsert_member(engine, member_id=f"c{number}", name="Corpus", email=sender,
                            rank="Gold")
    # The incoming runner `gateway run` builds, parsing in this process.
    settings = load_settings()
    incoming = replace(make_incoming(settings, engine, make_desk(settings), FakeClock(WHEN)),
                       parse_budget=None)

    feed(engine, corpus, machines)
    while incoming.process_inbox():
        pass
    reasons = {row.reason for row in inbox.rows(engine, limit=10_000)}
    assert all(r.startswith(("loop-guard", "unreadable")) for r in reasons), reasons
    assert outbox.rows(engine) == []  # not one bounce or auto-reply answered

    feed(engine, corpus, people)
    while incoming.process_inbox():
        pass
    stored = inbox.rows(engine, limit=10_000)
    assert len(stored) == len(machines) + len(people)
    assert {row.status for row in stored} <= {"done", "refused", "quarantined"}
