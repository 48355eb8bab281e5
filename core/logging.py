"""structlog set-up: one processor chain for our events and stdlib records, with redaction."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "Redactor",
    "bind_context",
    "bound_context",
    "configure_logging",
    "get_logger",
    "merge_bound_context",
    "redactor",
    "unbind_context",
]

REDACTED = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary words

# user:password@ inside mongodb:// and mongodb+srv:// URIs (and any other scheme's userinfo).
_URI_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]+):[^@/\s]+@")
# A bot token from @BotFather: numeric bot id, colon, 35-ish url-safe characters.
_BOT_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")


class Redactor:
    """Masks registered secret strings and well-known secret shapes in any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, secrets: Iterable[str]) -> None:
        """Add secret values to mask wherever they appear (short strings are ignored)."""
        self._secrets.update(s for s in secrets if len(s) >= _MIN_SECRET)
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def clear(self) -> None:
        self._secrets.clear()
        self._pattern = None

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        text = _URI_CREDENTIALS.sub(rf"\g<scheme>\g<user>:{REDACTED}@", text)
        return _BOT_TOKEN.sub(REDACTED, text)

    def redact_value(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(v) for v in value)
        return value

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        """structlog processor: redact every value of the event."""
        for key, value in event_dict.items():
            if isinstance(value, str | dict | list | tuple):
                event_dict[key] = self.redact_value(value)
            elif isinstance(value, BaseException | int | float | bool) or value is None:
                continue
            else:
                # Anything else (SecretStr, custom objects) is rendered now so it can be redacted.
                event_dict[key] = self.redact(str(value))
        return event_dict


redactor = Redactor()
"""The process-wide redactor; `configure_logging` registers the settings' secrets with it."""


# What every log line of the work in progress carries (an update's correlation id, user, chat,
# handler): one context variable holding them all, set once per update and reset after it.
# (structlog's own `bind_contextvars` keeps one variable per key, five sets and five resets on
# every update's hot path, and `merge_contextvars` copies the whole context for every line.)
_EMPTY: Mapping[str, object] = {}
_bound: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "bound_context", default=_EMPTY
)


def bind_context(values: Mapping[str, object]) -> contextvars.Token[Mapping[str, object]]:
    """Add `values` to every log line of the current task until `unbind_context(token)`; what
    an enclosing binding set stays unless `values` replaces it."""
    outer = _bound.get()
    return _bound.set({**outer, **values} if outer else values)


def unbind_context(token: contextvars.Token[Mapping[str, object]]) -> None:
    _bound.reset(token)


def bound_context() -> Mapping[str, object]:
    """The values bound for the current task (read-only)."""
    return _bound.get()


def merge_bound_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the bound values, under what the event itself says."""
    for key, value in _bound.get().items():
        event_dict.setdefault(key, value)
    return event_dict


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(
    *,
    level: str = "INFO",
    json: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging through one chain: context, redaction, renderer."""
    redactor.register(secrets)
    shared: list[Processor] = [
        merge_bound_context,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            # Tracebacks become text before redaction, so they are redacted too.
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Driver chatter is only useful when debugging the bot itself.
    for noisy in ("pymongo", "motor", "secantus"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("pyrogram").setLevel(max(logging.getLevelName(level), logging.WARNING))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: structlog.testing.capture_logs() must see loggers created at import time.
        cache_logger_on_first_use=False,
    )


def wants_json(enabled: bool | None, environment: str) -> bool:
    """JSON log lines: ENABLE_JSON_LOGGING if it is set, else in production."""
    return enabled if enabled is not None else environment == "production"


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger bound to `name` (the module) and optional initial values."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **initial)
    return logger
