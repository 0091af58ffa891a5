"""The fetcher's parts in process against Dovecot: the N:* trap, COPY+EXPUNGE without MOVE,
flag mode, bounded literals, checkpoints, OAuth tokens and `doctor`."""

from __future__ import annotations

import asyncio
import imaplib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters import doctor
from adapters.email import imap_session
from adapters.email.imap_auth import TokenError, TokenSource, parse_token
from adapters.email.imap_fetcher import ImapFetcher
from adapters.email.imap_session import Connection, bound_literals
from config.settings import ImapSettings, Settings
from store.imap_state import load_checkpoint
from tests.imap.conftest import FOLDER, PROCESSED, Mailbox, member_mail, rows
from tests.imap.dovecot import PASSWORD
from tests.support.waiting import wait_until


def imap_settings(mailbox: Mailbox, **changes: object) -> ImapSettings:
    values: dict[str, object] = {
        "enabled": True, "host": "127.0.0.1", "port": mailbox.server.port, "tls": False,
        "username": mailbox.user, "password": PASSWORD, "folder": FOLDER,
        "processed_folder": PROCESSED, "poll_seconds": 0.2}
    return ImapSettings.model_validate({**values, **changes})


@pytest.fixture
def fetchers() -> Iterator[list[ImapFetcher]]:
    running: list[ImapFetcher] = []
    yield running
    for fetcher in running:
        fetcher.stop()


def test_an_empty_poll_does_not_repeat_the_last_message(mailbox: Mailbox) -> None:
    mailbox.append([member_mail("a"), member_mail("b")])
    connection = Connection(imap_settings(mailbox), None, 1 << 20)
    try:
        connection.select(FOLDER)
        assert connection.client.search(["UID", "3:*"]) == [2]  # RFC 3501 §6.4.8
        assert connection.uids_after(2) == []
        assert connection.uids_after(0) == [1, 2]
        assert connection.uids_upto(1) == [1]
    finally:
        connection.close()


def test_without_move_it_copies_flags_and_expunges(
        mailbox: Mailbox, engine: Engine, fetchers: list[ImapFetcher],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_has = Connection.has
    monkeypatch.setattr(Connection, "has", lambda self, c: c != "MOVE" and real_has(self, c))
    mailbox.append([member_mail(f"copy-{n}") for n in range(7)])
    fetcher = ImapFetcher(imap_settings(mailbox, batch_size=3), engine, max_message_bytes=1 << 20)
    fetchers.append(fetcher)
    fetcher.start()
    wait_until(lambda: mailbox.count(FOLDER) == 0 and mailbox.count(PROCESSED) == 7, 15, "moved")
    assert rows(engine) == 7
    checkpoint = load_checkpoint(engine, fetcher.mailbox)
    assert checkpoint is not None and checkpoint.last_uid == 7


def test_with_no_processed_folder_mail_is_flagged_and_read_once(
        mailbox: Mailbox, engine: Engine, fetchers: list[ImapFetcher]) -> None:
    mailbox.append([member_mail("stay")])
    fetcher = ImapFetcher(imap_settings(mailbox, processed_folder="", idle=False), engine,
                          max_message_bytes=1 << 20)
    fetchers.append(fetcher)
    fetcher.start()
    wait_until(lambda: rows(engine) == 1, 15, "stored")
    wait_until(lambda: all(rb"\Seen" in flags for _, flags in mailbox.bodies(FOLDER).values()),
               5, "flagged")
    mailbox.append([member_mail("next")])
    wait_until(lambda: rows(engine) == 2, 15, "the next one")
    assert mailbox.count(FOLDER) == 2


def test_a_literal_over_the_bound_drops_the_connection(mailbox: Mailbox) -> None:
    mailbox.append([member_mail("long") + b"z" * 5000 + b"\n"])
    connection = Connection(imap_settings(mailbox), None, 1 << 20)
    try:
        connection.select(FOLDER)
        bound_literals(connection.client, 1000)
        with pytest.raises(imaplib.IMAP4.abort, match="literal"):
            connection.client.fetch([1], ["BODY.PEEK[]"])
    finally:
        connection.close()


def test_tokens_from_a_command_a_file_and_json(tmp_path: Path) -> None:
    token = parse_token('{"access_token": "abc", "expires_in": 600}', now=1000.0)
    assert (token.value, token.expires_at, token.renew_at) == ("abc", 1600.0, 1300.0)
    assert parse_token("plain-token\n", now=0.0).renew_at == 3300.0
    with pytest.raises(TokenError):
        parse_token("", now=0.0)
    file = tmp_path / "token"
    file.write_text(json.dumps({"access_token": "from-file", "expires_in": 3600}))
    assert TokenSource(ImapSettings(auth="xoauth2", oauth_token_file=str(file))).get().value == \
        "from-file"
    command = f"{sys.executable} -c \"print('from-command')\""
    source = TokenSource(ImapSettings(auth="xoauth2", oauth_token_command=command))
    assert source.get().value == "from-command"
    failing = TokenSource(ImapSettings(auth="xoauth2", oauth_token_command="false"))
    with pytest.raises(TokenError, match="exited 1"):
        failing.get()


def test_a_token_is_fetched_again_before_it_expires(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text(json.dumps({"access_token": "one", "expires_in": 600}))
    now = [time.time()]
    source = TokenSource(ImapSettings(auth="xoauth2", oauth_token_file=str(file)),
                         clock=lambda: now[0])
    assert source.get().value == "one"
    file.write_text(json.dumps({"access_token": "two", "expires_in": 600}))
    assert source.get().value == "one"  # cached while fresh
    now[0] += 301
    assert source.get().value == "two"


def run_doctor(tmp_path: Path, database_url: str, imap: ImapSettings) -> list[str]:
    settings = Settings(data_dir=tmp_path, database={"url": database_url}, imap=imap,
                        security={"secret": "x"})
    return asyncio.run(doctor.run_checks(settings))


def test_doctor_logs_in_and_finds_the_folder(tmp_path: Path, database_url: str,
                                             mailbox: Mailbox) -> None:
    assert run_doctor(tmp_path, database_url, imap_settings(mailbox)) == []
    problems = run_doctor(tmp_path, database_url, imap_settings(mailbox, folder="Nope"))
    assert problems and "imap" in problems[0] and "Nope" in problems[0]
    assert "IDLE" in imap_session.check(imap_settings(mailbox), 1 << 20)


def test_doctor_fails_when_the_token_cannot_be_refreshed(tmp_path: Path, database_url: str,
                                                         mailbox: Mailbox) -> None:
    imap = imap_settings(mailbox, auth="xoauth2", oauth_token_command="false")
    [problem] = run_doctor(tmp_path, database_url, imap)
    assert problem.startswith("imap: OAuth token refresh failed")
