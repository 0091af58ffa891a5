"""`gateway doctor`: check the configuration and reach every configured server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from rich.console import Console

from adapters.email import imap_session
from adapters.runtime import (
    check_exposure,
    ensure_secret,
    make_desk,
    make_mail_transport,
    open_database,
)
from config.settings import Settings
from gateway.bounces import BOUNCE_KEY, BOUNCE_WINDOW, SUSPEND_AFTER_BOUNCES
from gateway.errors import DeliveryError, GatewayError
from store.admin import suspended_agent_addresses

console = Console(stderr=True, highlight=False)


async def run_checks(settings: Settings) -> list[str]:
    """Print one line per check; return the problems (each says what to fix)."""
    checks: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("configuration", lambda: _sync(lambda: _configuration(settings))),
        ("database", lambda: _sync(lambda: _database(settings))),
        ("outbound", lambda: _outbound(settings)),
        ("agent mail", lambda: _sync(lambda: _agent_mail(settings))),
    ]
    if settings.telegram.enabled:
        checks.append(("telegram", lambda: _telegram(settings)))
    if settings.imap.enabled:  # login (or token refresh), folder
        checks.append(("imap", lambda: _sync(lambda: imap_session.check(
            settings.imap, settings.imap.max_message_bytes or settings.smtp.max_message_bytes))))
    problems = []
    for name, check in checks:
        try:
            detail = await check()
        except (GatewayError, OSError, ValueError) as error:
            problems.append(f"{name}: {error}")
            console.print(f"[red]FAIL[/red] {name}: {error}")
        except Exception as error:  # doctor reports, it never crashes
            problems.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0]}")
            console.print(f"[red]FAIL[/red] {problems[-1]}")
        else:
            console.print(f"[green]ok[/green]   {name}: {detail}")
    return problems


async def _sync(check: Callable[[], str]) -> str:
    return await asyncio.to_thread(check)


def _configuration(settings: Settings) -> str:
    check_exposure(settings)
    ensure_secret(settings)
    desk = make_desk(settings)
    if settings.telegram.enabled and not settings.telegram.token:
        raise ValueError("telegram is enabled but telegram.token is empty (GATEWAY_TELEGRAM__TOKEN)")
    return (f"{len(desk.languages.languages)} title languages, {len(desk.windows)} support "
            f"windows, support address {desk.address}")


def _database(settings: Settings) -> str:
    engine = open_database(settings)
    engine.dispose()
    return f"{engine.dialect.name} reachable, migrations applied, durable commits"


def _agent_mail(settings: Settings) -> str:
    """Agents' addresses whose mail is suspended after hard bounces (gateway.bounces)."""
    engine = open_database(settings, migrate=False)
    try:
        count, suspended = suspended_agent_addresses(
            engine, settings.agents.default_address, datetime.now(UTC))
    finally:
        engine.dispose()
    if suspended:
        keys = ", ".join(f"'{BOUNCE_KEY}{a}'" for a in suspended)
        raise ValueError(
            f"mail to {', '.join(suspended)} is suspended after {SUSPEND_AFTER_BOUNCES} hard "
            f"bounces within {BOUNCE_WINDOW.days} days; their notifications go to the other "
            "agents of the language, else agents.default_address. Fix the mailbox (or change "
            f"the agent's address), then resume with: DELETE FROM counters WHERE key IN ({keys})")
    return f"{count} agent addresses, none suspended by bounces"


async def _outbound(settings: Settings) -> str:
    transport = make_mail_transport(settings)
    try:
        await transport.check()
    except DeliveryError as error:
        raise DeliveryError(f"{error} (check outbound.host, port, security and login)",
                            temporary=error.temporary) from None
    finally:
        await transport.close()
    if settings.outbound.host:
        return f"relay {settings.outbound.host}:{settings.outbound.port} accepts us"
    return f"writing .eml files to {settings.data_dir / 'outbox'}"


async def _telegram(settings: Settings) -> str:
    """getMe against the configured Bot API server, and the webhook's secret."""
    from adapters.telegram.bot_api import make_bot

    config = settings.telegram
    if config.mode == "webhook" and not config.secret_token:
        raise ValueError("telegram.mode is webhook but telegram.secret_token is empty "
                         "(GATEWAY_TELEGRAM__SECRET_TOKEN)")
    bot = make_bot(config)
    try:
        me = await bot.get_me()
    except Exception as error:
        raise ValueError(f"getMe failed: {type(error).__name__}: {error} "
                         "(check telegram.token and telegram.base_url)") from None
    finally:
        await bot.shutdown()
    return f"bot @{me.username} reachable, {config.mode}"
