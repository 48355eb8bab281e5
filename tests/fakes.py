"""Test helpers that are not part of the public harness: log capture."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from core.logging import merge_bound_context


def capture_events() -> AbstractContextManager[list[MutableMapping[str, Any]]]:
    """`structlog.testing.capture_logs` with the bound context (correlation id, user id) merged."""
    return capture_logs(processors=[merge_bound_context, merge_contextvars])
