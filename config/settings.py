"""One frozen, typed Settings: embedded defaults, then the TOML file, then GATEWAY_* variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.errors import ConfigError

DEFAULTS_FILE = Path(__file__).with_name("gateway.toml")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(Section):
    url: str = ""  # empty: SQLite file in data_dir


class EmailSettings(Section):
    address: str = "support@example.org"
    name: str = "IT Support"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()


class SmtpSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 2525
    max_message_bytes: int = 26_214_400


class ImapSettings(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    tls: bool | Literal["starttls"] = True
    username: str = ""
    password: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    idle: bool = True
    poll_seconds: float = 30
    auth: Literal["login", "xoauth2"] = "login"
    oauth_token_command: str = ""  # xoauth2: prints the access token (or JSON with expires_in)
    oauth_token_file: str = ""  # xoauth2: a file holding it, kept fresh by someone else
    batch_size: int = Field(default=50, ge=1)
    max_message_bytes: int = 0  # 0: smtp.max_message_bytes; larger mail is left in place


class OutboundSettings(Section):
    host: str = ""
    port: int = 587
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: str = ""
    max_age_days: float = 5  # give up (failed + alert) after this long


class AgentSettings(Section):
    default_address: str = "desk@example.org"


class TelegramSettings(Section):
    enabled: bool = False
    token: str = ""
    base_url: str = ""
    base_file_url: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "127.0.0.1:8443"
    webhook_url: str = ""
    secret_token: str = ""
    poll_timeout: int = 30  # seconds a getUpdates long poll waits
    link_token_hours: float = 72  # a `/start <token>` deep link expires after this long
    bot_username: str = ""  # for `members invite` links; empty: asked of getMe
    chat_idle_minutes: float = 15  # a live chat with no line from either side ends after this


class LanguageName(Section):
    code: str
    names: tuple[str, ...]
    example: str = ""


class PolicySettings(Section):
    ranks: tuple[str, ...] = (
        "Wellness Advocate", "Manager", "Director", "Executive", "Elite", "Premier",
        "Silver", "Gold", "Platinum", "Diamond", "Blue Diamond", "Presidential Diamond",
    )
    min_rank: str = "Silver"
    reopen_days: float = 14
    feedback_reminder_days: float = 3
    auto_close_days: float = 14
    max_auto_replies_per_hour: int = 5
    max_messages_per_hour: int = 20
    satisfaction_days: float = 7  # a rating is taken this long after the ticket closed
    max_attachment_bytes: int = 10_485_760
    attachment_types: tuple[str, ...] = ("image/*", "application/pdf", "text/plain")
    languages: tuple[LanguageName, ...] = ()  # empty: the embedded table (config/gateway.toml)

    @model_validator(mode="after")
    def _min_rank_is_a_rank(self) -> PolicySettings:
        if self.min_rank not in self.ranks:
            raise ValueError(f"policy.min_rank {self.min_rank!r} is not one of policy.ranks")
        return self


class Window(Section):
    days: str = "Mon-Fri"
    start: str = "13:00"
    end: str = "21:00"
    timezone: str = "UTC"
    languages: tuple[str, ...] = ("*",)


class HoursSettings(Section):
    windows: tuple[Window, ...] = ()  # empty: the embedded windows (config/gateway.toml)


class SecuritySettings(Section):
    secret: str = ""
    old_secrets: tuple[str, ...] = ()
    reply_key_days: int = 180
    sender_auth: Literal["off", "authentication-results", "dkim"] = "off"
    authserv_id: str = ""
    allow_unauthenticated: bool = False


class WorkerSettings(Section):
    parse_cpu_seconds: float = Field(default=1.0, gt=0)  # parsing one message may take this much CPU
    max_attempts: int = Field(default=3, ge=1)  # an item that crashed this often is quarantined


class Settings(BaseSettings):
    config_files: ClassVar[tuple[Path, ...]] = ()  # the TOML files, merged in order
    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix="GATEWAY_", env_nested_delimiter="__",
    )

    data_dir: Path = Path("var")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    hours: HoursSettings = Field(default_factory=HoursSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'gateway.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, the file over the embedded defaults.
        files = getattr(settings_cls, "config_files", ()) or (DEFAULTS_FILE,)
        return init_settings, env_settings, MergedToml(settings_cls, files)


class MergedToml(PydanticBaseSettingsSource):
    """TOML files merged key by key: a `[policy]` in the user's file keeps the default languages.

    (pydantic-settings' own TOML source replaces whole top-level tables.)
    """

    def __init__(self, settings_cls: type[BaseSettings], files: tuple[Path, ...]) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] = {}
        for file in files:
            with open(file, "rb") as handle:
                merge(self._values, tomllib.load(handle))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._values


def merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value




def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the settings once; a bad file or value becomes one ConfigError sentence."""
    files = [DEFAULTS_FILE]
    chosen = path or os.environ.get("GATEWAY_CONFIG")
    if chosen:
        files.append(Path(chosen))
        if not files[-1].is_file():
            raise ConfigError(f"The configuration file {chosen} does not exist.")
    # A subclass per call binds the files without any module-level state.
    bound = type("Settings", (Settings,), {"config_files": tuple(files)})
    try:
        settings: Settings = bound(**overrides)
        return settings
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"Configuration key {where}: {first['msg']}.") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"The configuration could not be read: {error}.") from None
