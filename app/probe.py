"""`python bot.py probe [URL]`: ask the running bot how it is (its `/health`), for a container's
or a supervisor's health check. It opens no database and no Telegram session, so it works beside
a bot on the embedded database (whose files only one process may open) as well as on MongoDB."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from core.config import Settings

__all__ = ["ProbeResult", "default_health_url", "probe"]

_EVERY_INTERFACE = ("", "0.0.0.0", "::")  # noqa: S104 - a server bound there answers on loopback


@dataclass(frozen=True, slots=True)
class ProbeResult:
    healthy: bool
    line: str  # one line for the operator: what the bot said, or why it could not be asked


def default_health_url(settings: Settings) -> str | None:
    """The running bot's `/health` under these settings (None: the HTTP server is off)."""
    if settings.http_port == 0:
        return None
    host = "127.0.0.1" if settings.http_host in _EVERY_INTERFACE else settings.http_host
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}/health"


def probe(url: str, timeout: float) -> ProbeResult:
    """GET `url`; healthy when it answers 200 with `"status": "healthy"`."""
    if not url.startswith(("http://", "https://")):
        return ProbeResult(False, f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) only
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:  # 503: the bot answered, unhealthy
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return ProbeResult(False, f"unreachable: {url}: {text}")
    try:
        report = json.loads(body)
    except ValueError:
        report = {}
    checks = report.get("checks", {}) if isinstance(report, dict) else {}
    failing = sorted(
        name
        for name, check in checks.items()
        if isinstance(check, dict) and check.get("status") not in ("ok", "rebuilding")
    )
    if status == 200 and isinstance(report, dict) and report.get("status") == "healthy":  # noqa: PLR2004
        return ProbeResult(True, f"healthy: {url}")
    what = f"failing: {', '.join(failing)}" if failing else "no health report"
    return ProbeResult(False, f"unhealthy: {url} answered HTTP {status} ({what})")
