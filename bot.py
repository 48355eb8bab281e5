"""The command line: run the bot, check its health, simulate it, rebuild its search index or
import another bot's files. The bot itself is wired in `app` (the composition root); nothing
here is imported by the library."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from app import (
    App,
    ImportSourceError,
    build_app,
    build_database,
    build_telegram_client,
    import_files,
    migrate_database,
    rebuild_search_index,
)
from app.health import HealthReport, run_health_checks
from app.probe import default_health_url, probe
from core.config import (
    ConfigurationError,
    Settings,
    load_settings,
    missing_telegram_credentials,
)
from core.logging import configure_logging, get_logger, wants_json
from core.telegram.login import telegram_login_failure
from core.utils.errors import AppError
from repositories import ALL_INDEXES
from services.importer import ImportBusyError, ImportProgress, ImportReport

__all__ = ["App", "build_app", "main"]  # App and build_app stay importable from here

log = get_logger("bot")

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIG = 2

CONFIG_DOC = "docs/CONFIGURATION.md"


# --- commands ------------------------------------------------------------------------------------


async def run_bot(
    settings: Settings, *, startup_timeout: float, force_restart: bool = False
) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly (embedded database included).

    A start-up that fails (database unreachable, another process running this bot token,
    Telegram login refused or unreachable) is one log line `startup_failed` with the reason,
    and exit status 1: never a traceback. A process whose token another one took over with
    `--force-restart` stops too, with exit status 1.
    """
    app = build_app(settings, force_restart=force_restart)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await app.start(login_timeout=startup_timeout)
        except AppError as exc:
            log.error("startup_failed", reason=str(exc), code=exc.code.value)  # noqa: TRY400
            return EXIT_UNHEALTHY
        replaced = await app.wait_until_stopped(stop)
    finally:
        await app.stop()
    return EXIT_UNHEALTHY if replaced else EXIT_OK


async def health_check(settings: Settings, *, timeout: float, offline: bool) -> HealthReport:
    database = build_database(settings)
    missing = missing_telegram_credentials(settings)
    probe = None
    problem = ""
    if offline:
        reason = "--offline"
    elif missing:
        reason = "not configured"
        problem = (
            f"{', '.join(missing)} not set: required to run the bot "
            "(--offline checks the rest without them)"
        )
    else:
        reason = ""

        async def probe_telegram() -> str:
            client = build_telegram_client(settings, name="health-check", in_memory=True)
            client.no_updates = True
            try:
                await client.start()
            except Exception as exc:
                raise telegram_login_failure(exc) from exc
            try:
                me = client.me
                return f"@{me.username}" if me and me.username else "the bot"
            finally:
                await client.stop()

        probe = probe_telegram
    try:
        return await run_health_checks(
            environment=settings.environment,
            database=database,
            indexes=ALL_INDEXES,
            telegram_probe=probe,
            telegram_skip_reason=reason,
            timeout=timeout,
            configuration_problem=problem,
        )
    finally:
        await database.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="Telegram file-search bot. With no arguments it runs the bot.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["run", "simulate", "reindex", "import", "migrate", "probe"],
        default="run",
        help="run (default): the bot; simulate: the real bot on a Telegram double, no token "
        "needed; reindex: rebuild the search index in DATA_DIR/search from the database; "
        "import: copy the files of an EvaMaria-family bot's database (--from-uri, --from-db); "
        "migrate: the database schema (--status, --up, --down N, --dry-run); "
        "probe [URL]: ask the running bot's /health (exit 0 healthy, 1 not), for container "
        "health checks",
    )
    parser.add_argument(
        "url",
        nargs="?",
        help="probe: the running bot's /health (default: http://127.0.0.1:HTTP_PORT/health)",
    )
    parser.add_argument(
        "--status", action="store_true", help="migrate: show the schema version (the default)"
    )
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument(
        "--up", action="store_true", help="migrate: upgrade the database to this bot's schema"
    )
    direction.add_argument(
        "--down",
        type=int,
        metavar="N",
        help="migrate: take the database back N schema versions (before starting an older "
        "release; this one upgrades it again when it starts)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="migrate --up / --down: say what would run, change nothing",
    )
    parser.add_argument("--from-uri", metavar="URI", help="import: the other bot's DATABASE_URI")
    parser.add_argument("--from-db", metavar="NAME", help="import: its database name")
    parser.add_argument(
        "--from-collection",
        metavar="NAME",
        default="Telegram_files",
        help="import: its files collection (default Telegram_files, EvaMaria's COLLECTION_NAME)",
    )
    parser.add_argument(
        "--health-check", action="store_true", help="check configuration, database and Telegram"
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        metavar="N",
        help="seconds the health check, or the bot's start-up, may take (default 30)",
    )
    parser.add_argument(
        "--force-restart",
        action="store_true",
        help="take over from another process running this bot token (a stale or hung one, "
        "which then exits)",
    )
    parser.add_argument("--json", action="store_true", help="print the health report as JSON")
    parser.add_argument("--offline", action="store_true", help="skip the Telegram check")
    parser.add_argument(
        "--environment",
        choices=["development", "staging", "production"],
        help="override ENVIRONMENT",
    )
    return parser


def _print_config_error(problems: Sequence[str]) -> None:
    print("Configuration error:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(f"See {CONFIG_DOC} for every setting.", file=sys.stderr)


def _health_check(settings: Settings, args: argparse.Namespace) -> int:
    report = asyncio.run(health_check(settings, timeout=args.startup_timeout, offline=args.offline))
    print(json.dumps(report.to_dict()) if args.json else report.to_table())
    if report.configuration_failed:
        return EXIT_CONFIG
    return EXIT_OK if report.healthy else EXIT_UNHEALTHY


def _reindex(settings: Settings) -> int:
    try:
        asyncio.run(rebuild_search_index(settings))
    except (AppError, OSError) as exc:  # the database is unreachable, DATA_DIR not writable
        log.error("reindex_failed", reason=str(exc))  # noqa: TRY400 - a reason, no traceback
        return EXIT_UNHEALTHY
    return EXIT_OK


def _import(settings: Settings, args: argparse.Namespace) -> int:
    if not args.from_uri or not args.from_db:
        _print_config_error(["import needs --from-uri URI and --from-db NAME"])
        return EXIT_CONFIG
    bar = _ProgressBar(sys.stderr)
    try:
        report = asyncio.run(
            import_files(
                settings,
                from_uri=args.from_uri,
                from_db=args.from_db,
                from_collection=args.from_collection,
                on_progress=bar.show,
            )
        )
    except (AppError, OSError, ImportSourceError, ImportBusyError) as exc:
        bar.end()
        log.error("import_failed", reason=str(exc))  # noqa: TRY400 - a reason, no traceback
        return EXIT_UNHEALTHY
    bar.end()
    print(_import_summary(report))
    return EXIT_OK


class _ProgressBar:
    """One line redrawn in place on a terminal; one log line per batch otherwise."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._drawn = False

    def show(self, progress: ImportProgress) -> None:
        if not self._tty:
            log.info(
                "import_progress",
                read=progress.read,
                total=progress.total,
                imported=progress.imported,
                duplicates=progress.duplicates,
                malformed=progress.malformed,
                per_second=round(progress.per_second),
            )
            return
        share = progress.read / max(progress.total, 1)
        filled = int(share * self.WIDTH)
        self._stream.write(
            f"\r[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%} "
            f"{progress.read:,}/{progress.total:,} · {progress.imported:,} imported · "
            f"{progress.duplicates:,} duplicates · {progress.malformed:,} malformed · "
            f"{progress.per_second:,.0f}/s"
        )
        self._stream.flush()
        self._drawn = True

    def end(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._drawn = False


def _import_summary(report: ImportReport) -> str:
    lines = [
        (
            f"Imported {report.imported:,} files from {report.read:,} documents: "
            f"{report.duplicates:,} duplicates (already here), {report.malformed:,} malformed; "
            f"{report.seconds:.1f} s, {report.per_second:,.0f} documents/s."
        ),
    ]
    if report.resumed_from:
        lines.append(f"Resumed an interrupted import after {report.resumed_from:,} documents.")
    for source_id, reason in report.examples:
        lines.append(f"  malformed: {source_id}: {reason}")
    if report.malformed > len(report.examples):
        lines.append(f"  … and {report.malformed - len(report.examples):,} more")
    return "\n".join(lines)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    """`python bot.py migrate [--status | --up | --down N] [--dry-run]`."""
    apply = (args.up or args.down is not None) and not args.dry_run
    try:
        plan = asyncio.run(migrate_database(settings, apply=apply, down=args.down))
    except AppError as exc:
        log.error("migrate_failed", reason=str(exc), code=exc.code.value)  # noqa: TRY400
        return EXIT_UNHEALTHY
    found = f"v{plan.found}" if plan.found is not None else "none yet (a new database)"
    print(f"Schema in the database: {found}; this bot: v{plan.expected}.")
    if plan.down:
        for version, what in plan.pending:
            print(f"  down: v{version} → v{version - 1} — {what}")
        if args.dry_run:
            print("Dry run: nothing was changed.")
        else:
            print(
                f"Migrated down to v{plan.expected - len(plan.pending)}. Start the older "
                "release now: this one would upgrade the database again when it starts."
            )
        return EXIT_OK
    if not plan.pending:
        print("Nothing to migrate.")
        return EXIT_OK
    for version, what in plan.pending:
        print(f"  pending: v{version} — {what}")
    if not args.up:
        print("Run `python bot.py migrate --up` to migrate (the bot also does it when it starts).")
    elif args.dry_run:
        print("Dry run: nothing was changed.")
    else:
        print(f"Migrated to v{plan.expected}.")
    return EXIT_OK


def _simulate(settings: Settings) -> int:
    from testkit.simulate import run_simulation  # noqa: PLC0415 - test kit, on demand

    try:
        return asyncio.run(run_simulation(settings, sys.stdin, sys.stdout))
    except KeyboardInterrupt:  # Ctrl-C leaves like Ctrl-D: the harness has shut down
        print(file=sys.stdout)
        return EXIT_OK


def _probe(settings: Settings, args: argparse.Namespace) -> int:
    url = args.url or default_health_url(settings)
    if url is None:
        print("unhealthy: the HTTP server is off (HTTP_PORT=0): nothing to ask", file=sys.stderr)
        return EXIT_UNHEALTHY
    result = probe(url, timeout=args.startup_timeout)
    print(result.line, file=sys.stdout if result.healthy else sys.stderr)
    return EXIT_OK if result.healthy else EXIT_UNHEALTHY


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"environment": args.environment} if args.environment else {}
    try:
        settings = load_settings(overrides)
    except ConfigurationError as exc:
        _print_config_error(exc.problems)
        return EXIT_CONFIG

    quiet = args.health_check or args.command in ("simulate", "probe")
    configure_logging(
        level="WARNING" if quiet else settings.log_level,
        json=wants_json(settings.enable_json_logging, settings.environment),
        secrets=settings.secret_values(),
    )

    if args.health_check:
        return _health_check(settings, args)
    if args.url is not None and args.command != "probe":
        _parser().error(f"{args.command} takes no URL (only probe does)")
    commands = {
        "simulate": lambda: _simulate(settings),
        "reindex": lambda: _reindex(settings),
        "import": lambda: _import(settings, args),
        "migrate": lambda: _migrate(settings, args),
        "probe": lambda: _probe(settings, args),
    }
    if args.command in commands:
        return commands[args.command]()

    missing = missing_telegram_credentials(settings)
    if missing:
        _print_config_error(
            [f"{name}: required to run the bot" for name in missing]
            + [
                "Get BOT_TOKEN from @BotFather and API_ID/API_HASH from my.telegram.org.",
                "To try the bot without a token: python bot.py simulate",
            ]
        )
        return EXIT_CONFIG
    return asyncio.run(
        run_bot(settings, startup_timeout=args.startup_timeout, force_restart=args.force_restart)
    )


if __name__ == "__main__":
    raise SystemExit(main())
