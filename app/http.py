"""The operator's HTTP endpoints (aiohttp), inside the bot's process when `HTTP_PORT` > 0:

- `GET /health`: JSON with the status and each check (database ping and latency, Telegram
  connection, search index lag, running jobs, version, uptime); 200 healthy, 503 not;
- `GET /metrics`: Prometheus text (`core/metrics.py`);
- `GET /cache/stats`: every in-memory cache's counters as JSON.

On a non-loopback address everything but `/health` and `/metrics` requires
`Authorization: Bearer <ADMIN_API_TOKEN>` (and is refused when no token is set). No response
carries a secret.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from core.cache.enhanced_cache import get_all_cache_memory, get_all_cache_stats
from core.logging import get_logger
from core.metrics import CONTENT_TYPE, Metrics

__all__ = ["HealthProbe", "OpsServer", "is_loopback"]

log = get_logger("bot.http")

HealthProbe = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
"""(healthy, the JSON body) of `/health`."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpsServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        metrics: Metrics,
        health: HealthProbe,
        token: str | None,
    ) -> None:
        self.host = host
        self.port = port
        self._metrics = metrics
        self._health = health
        self._token = token
        self._public = not is_loopback(host)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/health", self._on_health)
        app.router.add_get("/metrics", self._on_metrics)
        app.router.add_get("/cache/stats", self._on_cache_stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if self.port == 0 and sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("http_server_started", url=self.url, public=self._public)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """On a public address, everything beyond /health and /metrics needs the token."""
        if self._public and request.path not in ("/health", "/metrics"):
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {self._token}" if self._token else None
            if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
                return web.json_response({"error": "unauthorized"}, status=401)
        return await handler(request)

    async def _on_health(self, _request: web.Request) -> web.Response:
        began = time.perf_counter()
        try:
            healthy, body = await asyncio.wait_for(self._health(), timeout=10)
        except TimeoutError:
            healthy, body = False, {"status": "unhealthy", "error": "health checks timed out"}
        body["duration_ms"] = round((time.perf_counter() - began) * 1000, 1)
        return web.json_response(body, status=200 if healthy else 503)

    async def _on_metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _on_cache_stats(self, _request: web.Request) -> web.Response:
        caches = {}
        memory = get_all_cache_memory()
        for name, stats in sorted(get_all_cache_stats().items()):
            entry = asdict(stats)
            entry["hit_rate"] = round(stats.hit_ratio, 4)
            entry["memory_bytes_estimate"] = memory.get(name, 0)
            caches[name] = entry
        return web.json_response({"caches": caches})
