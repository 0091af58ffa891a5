"""IMAP login: a password (LOGIN) or an OAuth 2 access token (XOAUTH2) from a command or a file.

The command (or file) gives either the bare token or JSON with `access_token` and
`expires_in` (seconds) or `expires_at` (epoch seconds). A bare token is taken to live one
hour, the usual lifetime. The fetcher reconnects with a fresh token before it expires.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from config.settings import ImapSettings
from gateway.errors import ConfigError

DEFAULT_LIFETIME = 3600.0
REFRESH_MARGIN = 300.0  # reconnect this long before the token expires
COMMAND_TIMEOUT = 30.0


class TokenError(ConfigError):
    """The OAuth token could not be obtained: says which command or file, and why."""


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # time.time()
    renew_at: float  # refresh (and reconnect) from then on: before it expires


def parse_token(output: str, now: float) -> Token:
    output = output.strip()
    if output.startswith("{"):
        data = json.loads(output)
        value = str(data.get("access_token", ""))
        if "expires_at" in data:
            expires = float(data["expires_at"])
        else:
            expires = now + float(data.get("expires_in", DEFAULT_LIFETIME))
    else:
        value, expires = output, now + DEFAULT_LIFETIME
    if not value or any(ch.isspace() for ch in value):
        raise TokenError("the OAuth token is empty or malformed")
    lifetime = max(expires - now, 0.0)
    return Token(value, expires, now + max(lifetime - REFRESH_MARGIN, lifetime / 2))


class TokenSource:
    """Runs `oauth_token_command` or reads `oauth_token_file`, and caches until near expiry."""

    def __init__(self, settings: ImapSettings, clock: Callable[[], float] = time.time) -> None:
        self._command = settings.oauth_token_command
        self._file = settings.oauth_token_file
        self._clock = clock
        self._token: Token | None = None
        if not self._command and not self._file:
            raise ConfigError("imap.auth is xoauth2 but neither imap.oauth_token_command nor "
                              "imap.oauth_token_file is set")

    def get(self) -> Token:
        now = self._clock()
        if self._token is None or self._token.renew_at <= now:
            self._token = self._fetch(now)
        return self._token

    def _fetch(self, now: float) -> Token:
        if self._command:
            try:
                done = subprocess.run(shlex.split(self._command), capture_output=True, text=True,
                                      timeout=COMMAND_TIMEOUT, check=False)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise TokenError(f"imap.oauth_token_command failed to run: {error}") from None
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
                raise TokenError(f"imap.oauth_token_command exited {done.returncode}: {tail}")
            output = done.stdout
        else:
            try:
                output = Path(self._file).read_text()
            except OSError as error:
                raise TokenError(f"imap.oauth_token_file unreadable: {error}") from None
        try:
            return parse_token(output, now)
        except (ValueError, TypeError) as error:
            raise TokenError(f"the OAuth token from imap.oauth_token_"
                             f"{'command' if self._command else 'file'} is unusable: {error}") from None


def login(client: IMAPClient, settings: ImapSettings, tokens: TokenSource | None) -> float | None:
    """Log in; returns when the session must be renewed (token expiry), or None."""
    if settings.auth == "xoauth2":
        assert tokens is not None
        token = tokens.get()
        client.oauth2_login(settings.username, token.value)
        return token.renew_at
    client.login(settings.username, settings.password)
    return None
