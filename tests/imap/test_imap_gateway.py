"""`gateway run` fetching a real Dovecot mailbox: every message becomes exactly one inbox row
(and, from a member, one ticket), is moved only after the commit, and nothing blocks it."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import Engine

from tests.imap.conftest import (
    ANNA,
    FOLDER,
    PROCESSED,
    GatewayFactory,
    Mailbox,
    member_mail,
    rows,
    settled,
    ticket_ids,
)
from tests.support.ports import free_port
from tests.support.waiting import wait_until

SEEN = rb"\Seen"


def all_imported(engine: Engine, mailbox: Mailbox, count: int) -> bool:
    return (rows(engine) == count and settled(engine) and mailbox.count(FOLDER) == 0
            and mailbox.count(PROCESSED) == count)


def test_idle_delivers_a_new_mail_and_the_member_is_answered(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    gateway = imap_gateway()
    gateway.start()
    wait_until(lambda: "IDLE)" in gateway.log(), 15, "the IDLE session", gateway.log)
    mailbox.append([member_mail("idle-1")])
    ack = gateway.mail_to(ANNA, timeout=15)
    assert ack["Subject"].startswith("[TI-1] Nederlands - Bestelling idle-1")
    wait_until(lambda: all_imported(engine, mailbox, 1), 10, "the move", gateway.log)
    assert ticket_ids(engine) == ["idle-1@imap.test"]


def test_polling_when_idle_is_off(imap_gateway: GatewayFactory, mailbox: Mailbox,
                                  engine: Engine) -> None:
    gateway = imap_gateway(idle="false", poll_seconds="0.3")
    gateway.start()
    mailbox.append([member_mail(f"poll-{n}") for n in range(3)])
    wait_until(lambda: all_imported(engine, mailbox, 3), 20, "3 imported", gateway.log)
    assert "polling 0.3s" in gateway.log()
    assert sorted(ticket_ids(engine)) == [f"poll-{n}@imap.test" for n in range(3)]


def test_a_message_already_read_elsewhere_is_imported_and_flags_are_untouched(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    mailbox.append([member_mail("read-first")], flags=(SEEN,))
    mailbox.append([member_mail("unread")])
    gateway = imap_gateway()
    gateway.start()
    wait_until(lambda: all_imported(engine, mailbox, 2), 20, "2 imported", gateway.log)
    flags = {body.split(b"Message-ID: <")[1].split(b"@")[0]: flags
             for body, flags in mailbox.bodies(PROCESSED).values()}
    assert SEEN in flags[b"read-first"]
    assert SEEN not in flags[b"unread"]  # BODY.PEEK[]: the gateway never marks mail read
    assert len(ticket_ids(engine)) == 2


def test_kill_9_in_the_middle_of_a_batch_then_restart(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    total = 500
    mailbox.append([member_mail(f"kill-{n}") for n in range(total)])
    gateway = imap_gateway(batch_size="10")
    gateway.start()
    wait_until(lambda: rows(engine) >= 20, 30, "a batch or two", gateway.log, interval=0.005)
    gateway.stop(signal.SIGKILL)
    assert rows(engine) < total, "too fast to kill mid-run: raise `total`"
    gateway.start()
    wait_until(lambda: all_imported(engine, mailbox, total), 60, "all imported", gateway.log)
    tokens = ticket_ids(engine)
    assert len(tokens) == total
    assert set(tokens) == {f"kill-{n}@imap.test" for n in range(total)}


def test_uidvalidity_change_reads_again_and_only_new_mail_makes_tickets(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    old = [member_mail(f"old-{n}") for n in range(20)]
    mailbox.append(old)
    gateway = imap_gateway()
    gateway.start()
    wait_until(lambda: all_imported(engine, mailbox, 20), 30, "20 imported", gateway.log)
    client = mailbox.client()  # the mailbox is recreated while the gateway idles on it
    client.delete_folder(FOLDER)
    client.create_folder(FOLDER)
    client.logout()
    mailbox.append(old + [member_mail(f"new-{n}") for n in range(5)])
    wait_until(lambda: mailbox.count(FOLDER) == 0 and rows(engine) == 25 and settled(engine),
               40, "the new mailbox read", gateway.log)
    assert "UIDVALIDITY changed" in gateway.log()
    assert mailbox.count(PROCESSED) == 45  # the old ones twice: read again, stored once
    assert len(ticket_ids(engine)) == 25


def test_the_server_restarting_while_idle(imap_gateway: GatewayFactory, mailbox: Mailbox,
                                          engine: Engine) -> None:
    gateway = imap_gateway()
    gateway.start()
    mailbox.append([member_mail("before")])
    wait_until(lambda: all_imported(engine, mailbox, 1), 15, "the first mail", gateway.log)
    mailbox.server.restart()
    mailbox.append([member_mail("after")])
    wait_until(lambda: all_imported(engine, mailbox, 2), 30, "the mail after the restart",
               gateway.log)
    assert "reconnecting" in gateway.log()
    assert sorted(ticket_ids(engine)) == ["after@imap.test", "before@imap.test"]


def test_a_message_over_the_limit_is_left_in_place_and_does_not_block(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    big = member_mail("big") + (b"y" * 999 + b"\n") * (30 * 1024 * 1024 // 1000)  # 30 MB
    mailbox.append([member_mail("small-1"), big, member_mail("small-2")])
    gateway = imap_gateway()
    gateway.start()
    wait_until(lambda: rows(engine) == 2 and settled(engine) and mailbox.count(FOLDER) == 1,
               30, "the small ones", gateway.log)
    assert "UID 2" in gateway.log() and "left in place" in gateway.log()
    assert mailbox.count(PROCESSED) == 2
    assert sorted(ticket_ids(engine)) == ["small-1@imap.test", "small-2@imap.test"]


def test_one_process_fetches_a_mailbox_and_another_takes_over(
        imap_gateway: GatewayFactory, mailbox: Mailbox, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the mailbox lock is for several processes on PostgreSQL")
    first, second = imap_gateway("first"), imap_gateway("second")
    first.start()
    wait_until(lambda: "connected" in first.log(), 15, "the first to connect", first.log)
    second.start()
    wait_until(lambda: "standing by" in second.log(), 15, "the second to wait", second.log)
    mailbox.append([member_mail(f"lock-{n}") for n in range(40)])
    wait_until(lambda: all_imported(engine, mailbox, 40), 30, "40 imported", first.log)
    assert "connected" not in second.log()
    first.stop(signal.SIGKILL)
    mailbox.append([member_mail(f"later-{n}") for n in range(5)])
    wait_until(lambda: all_imported(engine, mailbox, 45), 30, "the take-over", second.log)
    assert "took over" in second.log()
    assert len(set(ticket_ids(engine))) == 45


def test_a_broken_mailbox_does_not_stop_smtp(imap_gateway: GatewayFactory, engine: Engine) -> None:
    gateway = imap_gateway(smtp_port=free_port(), port=str(free_port()))  # nothing listens
    gateway.start()
    wait_until(lambda: "reconnecting" in gateway.log(), 10, "a failed connection", gateway.log)
    gateway.send(ANNA, "Nederlands - Printer doet het niet", "smtp-1\nDe printer doet niets.",
                 Message_ID="<smtp-1@imap.test>")
    assert gateway.mail_to(ANNA, timeout=15)["Subject"].startswith("[TI-1]")
    assert ticket_ids(engine) == ["smtp-1@imap.test"]
