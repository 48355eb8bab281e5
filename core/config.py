"""Settings read from the environment and an optional `.env`, validated strictly and all at once."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.flags import parse_defaults

__all__ = [
    "ConfigurationError",
    "Settings",
    "load_settings",
    "missing_telegram_credentials",
    "parse_bool",
]

Environment = Literal["development", "staging", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
AuthMode = Literal["member", "request"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
CAPTION_FIELDS = frozenset({"file_name", "file_size", "caption"})
_BOT_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
_USERNAME = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$")


def parse_bool(value: object) -> bool:
    """Parse a strict boolean: true/false/1/0/yes/no/on/off in any case; nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("must be one of true/false, 1/0, yes/no, on/off")


StrictBool = Annotated[bool, BeforeValidator(parse_bool)]
ChatRef = int | str


def _split_list(value: object) -> object:
    """Split a space- or comma-separated environment value into items."""
    if isinstance(value, str):
        return [item for item in re.split(r"[\s,]+", value.strip()) if item]
    if isinstance(value, int):
        return [value]
    return value


def _chat_ref(item: object) -> ChatRef:
    """A chat is a numeric id or an @username."""
    if isinstance(item, int):
        return item
    text = str(item).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if _USERNAME.fullmatch(text):
        return text if text.startswith("@") else f"@{text}"
    raise ValueError(f"{text!r} is neither a numeric chat id nor a @username")


class Settings(BaseSettings):
    """Every setting the bot reads; field names are the lower-case environment names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        validate_default=True,
    )

    bot_token: SecretStr | None = None
    api_id: int | None = Field(default=None, gt=0)
    api_hash: SecretStr | None = None
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    channels: Annotated[list[ChatRef], NoDecode] = Field(default_factory=list)
    database_uri: SecretStr | None = None
    database_name: str = Field(default="filesearch", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    database_timeout: float = Field(default=5.0, gt=0, le=300)
    embedded_db_cache: str = Field(default="128M", pattern=r"^(?:[1-9][0-9]{1,5}M|[1-9][0-9]?G)$")
    data_dir: Path = Path("./data")
    metadata_workers: int | None = Field(default=None, ge=0, le=64)
    accurate_metadata: StrictBool = True
    search_tombstone_days: float = Field(default=7.0, gt=0, le=3650)
    index_batch_size: int = Field(default=200, ge=1, le=200)
    index_progress_seconds: float = Field(default=5.0, ge=1, le=600)
    log_channel: int | None = None
    auth_channels: Annotated[list[ChatRef], NoDecode] = Field(default_factory=list)
    auth_mode: AuthMode = "member"
    premium_only: StrictBool = False
    premium_info: str = Field(
        default="Ask an admin of this bot how to get premium.", min_length=1, max_length=600
    )
    environment: Environment = "development"
    log_level: LogLevel = "INFO"
    enable_json_logging: StrictBool | None = None  # unset: JSON in production (`wants_json`)
    enable_debug_cmd: StrictBool = False
    enable_alerts: StrictBool = True
    skip_duplicates: StrictBool = True
    custom_file_caption: str = "<b>{file_name}</b>\n{file_size}"
    protect_content: StrictBool = False
    auto_delete_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    rate_limit_per_minute: int = Field(default=30, ge=1, le=6000)
    rate_limit_burst: int = Field(default=10, ge=1, le=1000)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    port: int | None = Field(default=None, ge=1, le=65535)  # PORT, as hosting platforms set it
    admin_api_token: SecretStr | None = None
    trace_store_size: int = Field(default=200, ge=10, le=100_000)
    alert_chat: int | None = None
    alerts_per_hour: int = Field(default=20, ge=1, le=1000)
    flags: str = ""  # feature flag defaults: "send_all=50%,typo_tolerance=off"

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, value: str) -> str:
        parse_defaults(value)  # ValueError: an unknown flag or value, reported like the rest
        return value

    @model_validator(mode="after")
    def _platform_port(self) -> Settings:
        """`PORT` (Render, Koyeb, Heroku-likes) wins over the default HTTP_PORT, and then the
        server listens on every interface unless HTTP_HOST says otherwise."""
        if self.port is not None and "http_port" not in self.model_fields_set:
            self.http_port = self.port
            if "http_host" not in self.model_fields_set:
                self.http_host = "0.0.0.0"  # noqa: S104 - the platform routes to this port
        return self

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("channels", "auth_channels", mode="before")
    @classmethod
    def _split_chats(cls, value: object) -> list[ChatRef]:
        items = _split_list(value)
        if not isinstance(items, list):
            raise ValueError("must be a list of chat ids or @usernames")  # noqa: TRY004
        return [_chat_ref(item) for item in items]

    @field_validator("environment", "log_level", "auth_mode", mode="before")
    @classmethod
    def _fold_case(cls, value: object, info: Any) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _BOT_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value

    @field_validator("custom_file_caption")
    @classmethod
    def _check_caption(cls, value: str) -> str:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        unknown = sorted(fields - CAPTION_FIELDS)
        if unknown:
            allowed = ", ".join(f"{{{f}}}" for f in sorted(CAPTION_FIELDS))
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {allowed}")
        return value.replace("\\n", "\n")

    @field_validator("api_hash")
    @classmethod
    def _check_hash(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", value.get_secret_value()):
            raise ValueError("must be the 32 hexadecimal characters from my.telegram.org")
        return value

    @field_validator("database_uri")
    @classmethod
    def _check_uri(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("mongodb://", "mongodb+srv://")
        ):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value

    @property
    def uses_embedded_database(self) -> bool:
        """True when no DATABASE_URI is set and the bot runs its own embedded server."""
        return self.database_uri is None

    def secret_values(self) -> list[str]:
        """Every secret value currently set, for the log redactor."""
        secrets: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                secrets.append(value.get_secret_value())
        return secrets


class ConfigurationError(Exception):
    """The environment holds invalid settings; `problems` lists one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = problems


_SECRET_FIELDS = frozenset({"bot_token", "api_hash", "database_uri"})
_ECHO_MAX = 80  # longer invalid values are not echoed back in error messages


def load_settings(overrides: Mapping[str, object] | None = None, **kwargs: Any) -> Settings:
    """Build `Settings`, turning every validation problem into one `ConfigurationError`.

    Messages name the environment variable and never contain a secret value.
    """
    try:
        values: dict[str, Any] = {**(overrides or {}), **kwargs}
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=True):
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        line = f"{field.upper()}: {message}"
        raw = error.get("input")
        if field not in _SECRET_FIELDS and isinstance(raw, str | int) and len(str(raw)) < _ECHO_MAX:
            line += f" (got {str(raw)!r})"
        problems.append(line)
    return problems


def missing_telegram_credentials(settings: Settings) -> list[str]:
    """The names of the Telegram credentials the bot needs to run but that are unset."""
    wanted = {"BOT_TOKEN": settings.bot_token, "API_ID": settings.api_id}
    wanted["API_HASH"] = settings.api_hash
    return [name for name, value in wanted.items() if value is None]
