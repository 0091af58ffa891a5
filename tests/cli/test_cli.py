"""The `gateway` command (CONTRACT §7) through typer's CliRunner, on SQLite or PostgreSQL."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner, Result

from adapters.cli import app
from gateway.messages import Attachment, Channel, OutboundMessage
from gateway.people import Author, Entry
from gateway.tickets import Move
from store import inbox
from store.blobs import BlobStore
from store.inbox import InboxStatus
from store.tables import InboxRow
from store.unit_of_work import SqlUnitOfWork
from tests.conftest import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SUMMARY_KEYS = {"ref", "status", "title", "language", "member_id", "channel", "opened_at",
                "closed_at"}


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str | None]:
    return {"GATEWAY_DATABASE__URL": database_url, "GATEWAY_DATA_DIR": str(tmp_path),
            "GATEWAY_CONFIG": None, "GATEWAY_OUTBOUND__HOST": None,
            "GATEWAY_OUTBOUND__PORT": None, "GATEWAY_SECURITY__SECRET": "test-secret"}


@pytest.fixture
def cli(env: dict[str, str | None]) -> Iterator:
    runner = CliRunner()

    def invoke(*args: str, **extra_env: str) -> Result:
        return runner.invoke(app, list(args), env={**env, **extra_env})

    yield invoke
    gc.collect()  # the CLI opens an engine per command: let their pools go


def stderr(result: Result) -> str:
    try:
        return result.stderr
    except ValueError:  # older runners mix the streams
        return result.output


def assert_one_error_line(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception)
    text = stderr(result)
    assert "Traceback" not in result.output
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def make_ticket(engine: Engine, tmp_path: Path, title: str = "Printer is broken",
                member: str = "M1", attachment: bool = False) -> str:
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        ticket = uow.tickets.add(title, "en", member, Channel.EMAIL, T0)
        files = (Attachment("screen.png", "image/png", b"\x89PNG fake"),) if attachment else ()
        uow.tickets.add_entry(ticket, Entry(Author.MEMBER, "ann@example.org", Channel.EMAIL,
                                            "It prints nothing.", external_id="<m1@x>",
                                            attachments=files), T0)
        uow.tickets.add_entry(ticket, Entry(Author.AGENT, "desk@example.org", Channel.EMAIL,
                                            "Checked the queue.", internal=True), T0)
        uow.commit()
    return ticket.ref


# --- members and agents -------------------------------------------------------------------------

def test_members_add_then_update(cli, engine: Engine, tmp_path: Path):
    added = cli("members", "add", "--member-id", "M1", "--name", "Ann", "--email",
                "Ann@Example.org", "--rank", "Gold", "--language", "nl",
                "--telegram-user-id", "4242")
    assert added.exit_code == 0, added.output
    assert "member M1 added" in added.stdout
    updated = cli("members", "add", "--member-id", "M1", "--name", "Ann B.", "--email",
                  "ann.b@example.org", "--rank", "Diamond")
    assert updated.exit_code == 0, updated.output
    assert "member M1 updated" in updated.stdout
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        member = uow.members.get("M1")
    assert (member.name, member.email, member.rank, member.language) == (
        "Ann B.", "ann.b@example.org", "Diamond", "en")
    assert member.telegram_user_id == 4242  # kept when not given


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("--rank", "Bronze", "rank 'Bronze'"),
    ("--email", "not-an-address", "not an email address"),
    ("--language", "dutch", "two-letter"),
])
def test_members_add_rejects_bad_values(cli, field: str, value: str, fragment: str):
    args = {"--member-id": "M1", "--name": "Ann", "--email": "ann@example.org",
            "--rank": "Gold", "--language": "nl", field: value}
    result = cli("members", "add", *(part for pair in args.items() for part in pair))
    assert fragment in assert_one_error_line(result)


def test_members_import_keeps_good_rows_and_reports_bad_ones(cli, engine: Engine,
                                                             tmp_path: Path):
    result = cli("members", "import", str(FIXTURES / "members_mixed.csv"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "imported 3 members, 4 bad rows" in result.stdout
    text = stderr(result)
    reported = sorted(int(line.split()[1].rstrip(":")) for line in text.splitlines()
                      if line.startswith("line "))
    assert reported == [3, 4, 5, 7]
    assert "line 3: 'not-an-address' is not an email address" in text
    assert "line 4: rank 'Bronze'" in text
    assert "line 5: name is empty" in text
    assert "line 7: telegram_user_id '12a45' is not a number" in text
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        anna = uow.members.get("M100")
        pierre = uow.members.get("M104")
        aino = uow.members.by_telegram(98765)
        assert anna.email == "anna@example.nl"
        assert anna.telegram_user_id is None
        assert (pierre.rank, pierre.language, pierre.telegram_user_id) == ("Diamond", "fr", 12345)
        assert aino.member_id == "M106"
        for bad in ("M101", "M102", "M103", "M105"):
            assert uow.members.get(bad) is None
    # Importing again updates and reports the same rows.
    again = cli("members", "import", str(FIXTURES / "members_mixed.csv"))
    assert again.exit_code == 2
    assert "imported 3 members, 4 bad rows" in again.stdout


def test_members_import_all_good_exits_zero(cli, tmp_path: Path):
    good = tmp_path / "good.csv"
    good.write_text("member_id,name,email,rank,language\nM1,Ann,ann@example.org,Gold,\n",
                    encoding="utf-8")
    result = cli("members", "import", str(good))
    assert result.exit_code == 0, result.output
    assert "imported 1 members, 0 bad rows" in result.stdout


def test_members_import_missing_file(cli, tmp_path: Path):
    line = assert_one_error_line(cli("members", "import", str(tmp_path / "nope.csv")))
    assert "nope.csv" in line


def test_members_import_reports_a_clashing_email_as_a_bad_row(cli, engine: Engine,
                                                              tmp_path: Path):
    result = cli("members", "import", str(FIXTURES / "members_duplicate_email.csv"))
    assert "line 3:" in stderr(result)
    assert result.exit_code == 2
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        assert uow.members.get("M200") is not None
        assert uow.members.get("M202") is not None  # the good row after the clash is kept


def test_members_import_odd_digit_is_a_bad_row_not_a_traceback(cli, tmp_path: Path):
    odd = tmp_path / "odd.csv"
    odd.write_text("member_id,name,email,rank,language,telegram_user_id\n"
                   "M1,Ann,ann@example.org,Gold,en,\u00b2\n"
                   "M2,Bob,bob@example.org,Gold,en,77\n", encoding="utf-8")
    result = cli("members", "import", str(odd))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
    assert "line 2:" in stderr(result)


def test_agents_add_then_update(cli, engine: Engine, tmp_path: Path):
    first = cli("agents", "add", "--email", "NL@Example.org", "--name", "Nina",
                "--languages", "nl,en")
    assert first.exit_code == 0, first.output
    assert "added" in first.stdout
    second = cli("agents", "add", "--email", "nl@example.org", "--name", "Nina V.",
                 "--languages", "nl, da")
    assert second.exit_code == 0, second.output
    assert "updated" in second.stdout
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        agent = uow.agents.by_email("nl@example.org")
        assert (agent.name, agent.languages) == ("Nina V.", frozenset({"nl", "da"}))
        assert list(uow.agents.for_language("en")) == []
    assert "not an email address" in assert_one_error_line(
        cli("agents", "add", "--email", "nobody", "--name", "X", "--languages", "en"))


# --- tickets ------------------------------------------------------------------------------------

def test_tickets_list_json(cli, engine: Engine, tmp_path: Path):
    first = make_ticket(engine, tmp_path, "Printer is broken", member="M1")
    second = make_ticket(engine, tmp_path, "VPN down", member="M2")
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        ticket = uow.tickets.get(int(second[3:]))
        ticket.move(Move.CLOSE, datetime(2026, 3, 3, 8, 30, tzinfo=UTC))
        uow.tickets.save(ticket)
        uow.commit()

    result = cli("tickets", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert isinstance(listed, list)
    assert [item["ref"] for item in listed] == [first, second]
    for item in listed:
        assert set(item) == SUMMARY_KEYS
    assert listed[0] == {"ref": first, "status": "open", "title": "Printer is broken",
                         "language": "en", "member_id": "M1", "channel": "email",
                         "opened_at": "2026-03-02T10:00:00Z", "closed_at": None}
    assert listed[1]["status"] == "closed"
    assert datetime.fromisoformat(listed[1]["closed_at"]) == datetime(2026, 3, 3, 8, 30,
                                                                      tzinfo=UTC)

    closed = json.loads(cli("tickets", "list", "--status", "closed", "--json").stdout)
    assert [item["ref"] for item in closed] == [second]
    mine = json.loads(cli("tickets", "list", "--member", "M1", "--json").stdout)
    assert [item["ref"] for item in mine] == [first]
    assert json.loads(cli("tickets", "list", "--status", "awaiting_feedback", "--json").stdout) == []

    table = cli("tickets", "list")
    assert table.exit_code == 0
    assert first in table.stdout


def test_tickets_list_empty_json(cli, engine: Engine):
    result = cli("tickets", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_tickets_list_invalid_status(cli):
    line = assert_one_error_line(cli("tickets", "list", "--status", "pending"))
    assert "status" in line


def test_tickets_show_json_with_messages_and_attachments(cli, engine: Engine, tmp_path: Path):
    ref = make_ticket(engine, tmp_path, attachment=True)
    result = cli("tickets", "show", ref, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) >= SUMMARY_KEYS
    assert shown["ref"] == ref
    assert [m["text"] for m in shown["messages"]] == ["It prints nothing.", "Checked the queue."]
    assert [m["author_kind"] for m in shown["messages"]] == ["member", "agent"]
    assert [m["internal"] for m in shown["messages"]] == [False, True]
    [file] = shown["messages"][0]["attachments"]
    assert file["filename"] == "screen.png"
    assert file["content_type"] == "image/png"
    assert file["size"] == len(b"\x89PNG fake")
    assert (tmp_path / "blobs" / file["sha256"][:2] / file["sha256"]).is_file()
    assert shown["messages"][1]["attachments"] == []

    text = cli("tickets", "show", ref.lower())
    assert text.exit_code == 0, text.output
    assert "Printer is broken" in text.stdout
    assert "screen.png" in text.stdout
    assert "(internal)" in text.stdout


def test_tickets_show_unknown_and_nonsense(cli, engine: Engine):
    assert "TI-99" in assert_one_error_line(cli("tickets", "show", "TI-99"))
    assert "nonsense" in assert_one_error_line(cli("tickets", "show", "nonsense"))


# --- inbox and outbox ---------------------------------------------------------------------------

def quarantine(engine: Engine, key: str, raw: bytes) -> int:
    inbox.store_raw(engine, channel="email", dedupe_key=key, raw=raw, envelope="{}", now=T0)
    with Session(engine) as session:
        row_id = session.exec(select(InboxRow.id).where(col(InboxRow.dedupe_key) == key)).one()
    for attempt in range(3):
        inbox.record_failure(engine, row_id, f"Traceback: boom {attempt}", T0, max_attempts=3)
    return row_id


def test_inbox_list_show_replay(cli, engine: Engine):
    broken = quarantine(engine, "k1", b"Subject: broken\r\n\r\nbad body\r\n")
    other = quarantine(engine, "k2", b"Subject: other\r\n\r\nx\r\n")
    inbox.store_raw(engine, channel="email", dedupe_key="k3", raw=b"fine", envelope="{}", now=T0)

    listed = cli("inbox", "list", "--status", "quarantined", "--json")
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)
    assert sorted(item["id"] for item in items) == sorted([broken, other])
    assert all(item["status"] == "quarantined" and item["attempts"] == 3 for item in items)
    assert len(json.loads(cli("inbox", "list", "--json").stdout)) == 3
    assert "status" in assert_one_error_line(cli("inbox", "list", "--status", "lost"))

    shown = cli("inbox", "show", str(broken))
    assert shown.exit_code == 0, shown.output
    header, end = json.JSONDecoder().raw_decode(shown.stdout)
    assert header["id"] == broken
    assert header["status"] == "quarantined"
    assert header["error"] == "Traceback: boom 2"
    assert "bad body" in shown.stdout[end:]
    assert "999" in assert_one_error_line(cli("inbox", "show", "999"))

    replayed = cli("inbox", "replay", str(broken))
    assert replayed.exit_code == 0, replayed.output
    assert "1 item(s)" in replayed.stdout
    assert inbox.get(engine, broken).status == InboxStatus.RECEIVED
    # Not quarantined (any more): an error.
    assert "not quarantined" in assert_one_error_line(cli("inbox", "replay", str(broken)))
    assert assert_one_error_line(cli("inbox", "replay"))
    assert assert_one_error_line(cli("inbox", "replay", str(other), "--all"))

    everything = cli("inbox", "replay", "--all")
    assert everything.exit_code == 0, everything.output
    assert "1 item(s)" in everything.stdout
    assert inbox.rows(engine, InboxStatus.QUARANTINED) == []


def test_outbox_list_json(cli, engine: Engine, tmp_path: Path):
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        uow.outbox.add(OutboundMessage(Channel.EMAIL, "ann@example.org", "[TI-1] Printer", "ok",
                                       message_id="<o1@gateway.example>", ticket_ref="TI-1",
                                       kind="ack"), T0)
        uow.commit()
    result = cli("outbox", "list", "--json")
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.stdout)
    assert item["recipient"] == "ann@example.org"
    assert item["status"] == "pending"
    assert item["message_id"] == "<o1@gateway.example>"
    assert item["ticket_ref"] == "TI-1"
    assert item["created_at"] == "2026-03-02T10:00:00Z"
    assert json.loads(cli("outbox", "list", "--status", "sent", "--json").stdout) == []
    assert cli("outbox", "list").exit_code == 0


# --- database, configuration, doctor ------------------------------------------------------------

def test_db_upgrade_on_an_empty_database(cli, database_url: str):
    first = cli("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "up to date" in first.stdout
    again = cli("db", "upgrade")
    assert again.exit_code == 0, again.output
    listed = cli("tickets", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_missing_config_file_is_one_error_line(cli, tmp_path: Path):
    missing = tmp_path / "nope.toml"
    for args in (("tickets", "list", "--config", str(missing)),
                 ("doctor", "--config", str(missing)),
                 ("db", "upgrade", "--config", str(missing))):
        line = assert_one_error_line(cli(*args))
        assert "nope.toml" in line


def test_bad_config_value_is_one_error_line(cli, tmp_path: Path):
    config = tmp_path / "gateway.toml"
    config.write_text('[smtp]\nport = "many"\n', encoding="utf-8")
    line = assert_one_error_line(cli("tickets", "list", "--config", str(config)))
    assert "smtp.port" in line


def test_doctor_with_defaults_is_happy(cli, tmp_path: Path):
    result = cli("doctor")
    assert result.exit_code == 0, result.output
    text = stderr(result)
    assert "outbound" in text
    assert "FAIL" not in text


def test_doctor_names_an_unreachable_relay(cli):
    port = free_port()  # nothing listens there
    result = cli("doctor", GATEWAY_OUTBOUND__HOST="127.0.0.1", GATEWAY_OUTBOUND__PORT=str(port),
                 GATEWAY_OUTBOUND__SECURITY="none")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    failures = [line for line in stderr(result).splitlines() if "FAIL" in line]
    assert len(failures) == 1, stderr(result)
    assert failures[0].startswith("FAIL outbound:")
    assert str(port) in failures[0]
    joined = " ".join(stderr(result).split())  # rich wraps long lines at 80 columns
    assert "check outbound.host" in joined  # says what to fix
