"""The `gateway` command: thin, calls runtime and store. Errors are one sentence on stderr."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adapters import doctor as doctor_checks
from adapters import logs
from adapters.runtime import ROLES, make_desk, open_database, serve
from adapters.telegram import invite as telegram_invite
from config.settings import Settings, load_settings
from gateway.errors import ConfigError, GatewayError
from gateway.tickets import Status, parse_ref
from store import admin, inbox, outbox
from store.blobs import BlobStore
from store.inbox import InboxStatus
from store.migrate import upgrade
from store.outbox import OutboxStatus

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(no_args_is_help=True, help="The database.")
members_app = typer.Typer(no_args_is_help=True, help="Members of the network.")
agents_app = typer.Typer(no_args_is_help=True, help="Support agents.")
tickets_app = typer.Typer(no_args_is_help=True, help="Tickets.")
inbox_app = typer.Typer(no_args_is_help=True, help="Every inbound item, with its outcome.")
outbox_app = typer.Typer(no_args_is_help=True, help="Every outbound message, with its state.")
for name, sub in (("db", db_app), ("members", members_app), ("agents", agents_app),
                  ("tickets", tickets_app), ("inbox", inbox_app), ("outbox", outbox_app)):
    app.add_typer(sub, name=name)

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="GATEWAY_CONFIG", help="TOML configuration file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
out = Console()
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=StrEnum)
TICKET_STATUSES = tuple(status.value for status in Status)


def fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(code=1)


def check_status(status: str | None, known: Iterable[str]) -> None:
    """A `--status` that is none of the `known` ones fails, naming them."""
    names = tuple(known)
    if status and status not in names:
        raise fail(f"status must be one of {', '.join(names)}")


def ledger_items(config: Path | None, status: str | None, statuses: type[S],
                 read: Callable[[Engine, S | None], Sequence[R]],
                 summary: Callable[[R], dict[str, Any]]) -> list[dict[str, Any]]:
    """The inbox's or the outbox's rows (of one `--status`), newest first, as summaries."""
    check_status(status, statuses)
    _, engine = settings_and_engine(config)
    wanted = statuses(status) if status else None
    return [summary(row) for row in guarded(lambda: read(engine, wanted))]


def guarded(action: Callable[[], T]) -> T:
    """Run an action; a known failure becomes one line on stderr, never a traceback."""
    try:
        return action()
    except (ConfigError, GatewayError) as error:
        raise fail(str(error)) from None
    except IntegrityError:
        raise fail("that email or Telegram id already belongs to someone else") from None
    except SQLAlchemyError as error:
        reason = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
        raise fail(f"the database failed: {reason}") from None
    except OSError as error:
        raise fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None


def settings_and_engine(config: Path | None) -> tuple[Settings, Engine]:
    settings = guarded(lambda: load_settings(config))
    return settings, guarded(lambda: open_database(settings))


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


@app.command()
def run(config: ConfigOption = None,
        only: Annotated[str, typer.Option(help="Comma-separated roles: " + ",".join(ROLES))]
        = ",".join(ROLES)) -> None:
    """Start every enabled channel and worker; stop cleanly on SIGTERM."""
    logs.configure()
    settings = guarded(lambda: load_settings(config))
    roles = frozenset(role.strip() for role in only.split(",") if role.strip())
    if unknown := roles - set(ROLES):
        raise fail(f"unknown role {sorted(unknown)[0]!r}; roles are {', '.join(ROLES)}")
    guarded(lambda: asyncio.run(serve(settings, roles)))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply the migrations."""
    settings = guarded(lambda: load_settings(config))
    guarded(lambda: open_database(settings, migrate=False))
    from store.engine import make_engine
    guarded(lambda: upgrade(make_engine(settings.database_url)))
    print("database is up to date")


@members_app.command("add")
def members_add(
    member_id: Annotated[str, typer.Option("--member-id")],
    name: Annotated[str, typer.Option("--name")],
    email: Annotated[str, typer.Option("--email")],
    rank: Annotated[str, typer.Option("--rank")],
    language: Annotated[str, typer.Option("--language")] = "en",
    telegram_user_id: Annotated[int | None, typer.Option("--telegram-user-id")] = None,
    config: ConfigOption = None,
) -> None:
    """Add or update a member."""
    settings, engine = settings_and_engine(config)
    error = admin.member_problem(settings.policy.ranks, member_id, email, rank, language)
    if error:
        raise fail(error)
    added = guarded(lambda: admin.upsert_member(
        engine, member_id=member_id, name=name, email=email, rank=rank, language=language,
        telegram_user_id=telegram_user_id))
    print(f"member {member_id} {'added' if added else 'updated'}")


@members_app.command("import")
def members_import(file: Path, config: ConfigOption = None) -> None:
    """Import members from CSV: member_id,name,email,rank,language[,telegram_user_id]."""
    settings, engine = settings_and_engine(config)
    rows = guarded(lambda: list(csv.DictReader(file.open(encoding="utf-8-sig", newline=""))))
    good = bad = 0
    for line, row in track(list(enumerate(rows, start=2)), description="Importing",
                           console=Console(stderr=True)):
        problem, values = admin.parse_member_row(settings.policy.ranks, row)
        if problem:
            print(f"line {line}: {problem}", file=sys.stderr)
            bad += 1
            continue
        try:
            admin.upsert_member(engine, **values)
        except IntegrityError:  # the email or Telegram id belongs to another member
            print(f"line {line}: email or telegram_user_id already belongs to another member",
                  file=sys.stderr)
            bad += 1
            continue
        good += 1
    print(f"imported {good} members, {bad} bad rows")
    if bad:
        raise typer.Exit(code=2)


@members_app.command("invite")
def members_invite(member_id: str, config: ConfigOption = None) -> None:
    """Mail a member a Telegram deep link that links their account in one step."""
    settings = guarded(lambda: load_settings(config))
    username = guarded(lambda: telegram_invite.bot_username(settings))
    engine = guarded(lambda: open_database(settings))
    invitation = guarded(lambda: telegram_invite.invite(
        make_desk(settings), engine, BlobStore(settings.data_dir / "blobs"), member_id, username,
        datetime.now(UTC), settings.telegram.link_token_hours))
    print(invitation.link)
    print(f"queued the invitation to {invitation.email} (expires "
          f"{invitation.expires_at.isoformat(timespec='minutes')})", file=sys.stderr)


@agents_app.command("add")
def agents_add(email: Annotated[str, typer.Option("--email")],
               name: Annotated[str, typer.Option("--name")],
               languages: Annotated[str, typer.Option("--languages")] = "",
               config: ConfigOption = None) -> None:
    """Add or update an agent and the languages they cover."""
    _, engine = settings_and_engine(config)
    if not admin.plausible_address(email):
        raise fail(f"{email!r} is not an email address")
    added = guarded(lambda: admin.upsert_agent(engine, email=email, name=name,
                                               languages=languages.split(",")))
    print(f"agent {email} {'added' if added else 'updated'}")


@tickets_app.command("list")
def tickets_list(status: Annotated[str | None, typer.Option("--status")] = None,
                 member: Annotated[str | None, typer.Option("--member")] = None,
                 as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List tickets."""
    check_status(status, TICKET_STATUSES)
    _, engine = settings_and_engine(config)
    tickets = guarded(lambda: admin.list_tickets(engine, status=status, member_id=member))
    if as_json:
        print_json(tickets)
        return
    table = Table("ref", "status", "title", "language", "member", "channel", "opened", "closed")
    for t in tickets:
        table.add_row(t["ref"], t["status"], t["title"], t["language"], t["member_id"],
                      t["channel"], t["opened_at"], t["closed_at"] or "")
    out.print(table)


@tickets_app.command("show")
def tickets_show(ref: str, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One ticket with its messages and attachments."""
    number = parse_ref(ref)
    if number is None:
        raise fail(f"{ref!r} is not a ticket reference like TI-12")
    _, engine = settings_and_engine(config)
    ticket = guarded(lambda: admin.show_ticket(engine, number))
    if ticket is None:
        raise fail(f"there is no ticket TI-{number}")
    if as_json:
        print_json(ticket)
        return
    out.print(f"[bold]{ticket['ref']}[/bold] {ticket['title']}  ({ticket['status']}, "
              f"{ticket['language']}, member {ticket['member_id']}, {ticket['channel']})",
              markup=True, highlight=False)
    if ticket["follows"]:
        out.print(f"follows {ticket['follows']}", highlight=False)
    if rating := ticket["satisfaction"]:
        out.print(f"rated {rating['score']}/5 at {rating['at']}: {rating['comment']}",
                  markup=False, highlight=False)
    for message in ticket["messages"]:
        note = " (internal)" if message["internal"] else ""
        out.print(f"\n— {message['at']} {message['author_kind']} {message['author']}{note}",
                  highlight=False)
        out.print(message["text"], markup=False, highlight=False)
        for file in message["attachments"]:
            out.print(f"  [attachment] {file['filename']} ({file['content_type']}, "
                      f"{file['size']} bytes)", markup=False)


@inbox_app.command("list")
def inbox_list(status: Annotated[str | None, typer.Option("--status")] = None,
               as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Inbound items, newest first."""
    items = ledger_items(config, status, InboxStatus, inbox.rows, admin.inbox_summary)
    if as_json:
        print_json(items)
        return
    table = Table("id", "channel", "status", "reason", "ticket", "attempts", "received")
    for i in items:
        table.add_row(str(i["id"]), i["channel"], i["status"], i["reason"], i["ticket_ref"],
                      str(i["attempts"]), i["received_at"])
    out.print(table)


@inbox_app.command("show")
def inbox_show(item_id: int, config: ConfigOption = None) -> None:
    """One inbound item: outcome, error and the raw message."""
    _, engine = settings_and_engine(config)
    row = guarded(lambda: inbox.get(engine, item_id))
    if row is None:
        raise fail(f"there is no inbox item {item_id}")
    print_json({**admin.inbox_summary(row), "error": row.error})
    sys.stdout.write(row.raw.decode("utf-8", "replace"))


@inbox_app.command("replay")
def inbox_replay(item_id: Annotated[int | None, typer.Argument()] = None,
                 all_items: Annotated[bool, typer.Option("--all")] = False,
                 config: ConfigOption = None) -> None:
    """Put a quarantined item (or --all of them) back in the queue."""
    if (item_id is None) == (not all_items):
        raise fail("give one item ID or --all")
    _, engine = settings_and_engine(config)
    count = guarded(lambda: inbox.replay(engine, None if all_items else item_id))
    if item_id is not None and count == 0:
        raise fail(f"inbox item {item_id} is not quarantined")
    print(f"{count} item(s) queued again")


@outbox_app.command("list")
def outbox_list(status: Annotated[str | None, typer.Option("--status")] = None,
                as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Outbound messages, newest first."""
    items = ledger_items(config, status, OutboxStatus, outbox.rows, admin.outbox_summary)
    if as_json:
        print_json(items)
        return
    table = Table("id", "channel", "recipient", "kind", "ticket", "status", "attempts", "error")
    for i in items:
        table.add_row(str(i["id"]), i["channel"], i["recipient"], i["kind"], i["ticket_ref"] or "",
                      i["status"], str(i["attempts"]), i["last_error"][:60])
    out.print(table)


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check the configuration and reach every configured server."""
    settings = guarded(lambda: load_settings(config))
    problems = asyncio.run(doctor_checks.run_checks(settings))
    if problems:
        raise typer.Exit(code=1)


def main() -> None:
    app()
