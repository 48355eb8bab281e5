"""The deployment files: what they copy exists, what they run is a command `bot.py` accepts,
and `docker build` works where Docker is available."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import _parser
from tests.conftest import SETTING_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _instructions(name: str) -> list[tuple[str, str]]:
    """(instruction, arguments) of a Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    found = [tuple(line.split(maxsplit=1)) for line in lines if line and not line.startswith("#")]
    return [(i.upper(), rest) for i, rest in found if i.upper() == name]  # type: ignore[misc]


def test_the_dockerfile_copies_what_exists_and_runs_as_a_user() -> None:
    copies = _instructions("COPY")
    assert copies
    for _, rest in copies:
        *sources, _target = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    assert _instructions("USER") == [("USER", "bot")]


def _command(rest: str) -> list[str]:
    if rest.startswith("["):
        return [part.strip().strip('"') for part in rest.strip("[]").split(",")]
    return shlex.split(rest)


def test_the_dockerfile_commands_are_commands_the_bot_accepts() -> None:
    (cmd,) = _instructions("CMD")
    argv = _command(cmd[1])
    assert argv[:2] == ["python", "bot.py"]
    _parser().parse_args(argv[2:])
    (health,) = _instructions("HEALTHCHECK")
    check = _command(health[1].split("CMD", 1)[1].strip())
    assert check[:2] == ["python", "bot.py"]
    assert _parser().parse_args(check[2:]).command == "probe"  # asks the running bot


# Run in the staged image directory: the image's command with only what the image copied on
# sys.path first; any project module that still comes from the checkout is a file the
# Dockerfile forgot to copy.
_RUN_STAGED = """
import runpy, sys
sys.argv = ["bot.py", *sys.argv[1:]]
sys.path.insert(0, ".")
try:
    runpy.run_path("bot.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
checkout = {checkout!r}
ours = {{"bot", "app", "core", "handlers", "repositories", "services", "testkit"}}
leaked = sorted(
    name for name, module in list(sys.modules.items())
    if name.split(".")[0] in ours
    and str(getattr(module, "__file__", None) or "").startswith(checkout + "/")
)
print("LEAKED", leaked, file=sys.stderr)
sys.exit(code)
"""


def test_the_dockerfile_steps_run_without_docker(tmp_path: Path) -> None:
    """Where Docker is missing (CI here): the build context a checkout sends through
    `.dockerignore` (with secrets, data, a virtualenv and caches planted in it), the image's
    files staged from that context as its COPY lines put them, its `pip install` step's build
    (a wheel from those files alone), and its HEALTHCHECK run from them, with nothing taken
    from the checkout."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*_NOT_COPIED_FOR_THE_TEST))
    for planted in PLANTED:
        (checkout / planted).parent.mkdir(parents=True, exist_ok=True)
        (checkout / planted).write_text("BOT_TOKEN=123456789:planted-secret\n")
    context = tmp_path / "context"
    _build_context(checkout, context)
    sent = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    assert not sent & set(PLANTED), sorted(sent & set(PLANTED))
    assert {"Dockerfile", ".env.example", "bot.py", "core/config.py"} <= sent
    app = tmp_path / "app"
    app.mkdir()
    for _, rest in _instructions("COPY"):
        *sources, target = rest.split()
        for source in sources:
            destination = app / target if target not in {".", "./"} else app
            if (context / source).is_dir():
                shutil.copytree(context / source, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(context / source, destination)
    image = [p.relative_to(app).as_posix() for p in app.rglob("*")]
    assert not [p for p in image if "__pycache__" in p or p.endswith((".env", ".session"))]
    (run,) = _instructions("RUN")[1:]  # the first creates the user
    assert shlex.split(run[1]) == ["pip", "install", "-c", "requirements.lock", "."]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("filesearch_bot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name.split("/")[0] for name in archive.namelist()}
    assert {"bot.py", "app", "core", "handlers", "repositories", "services", "testkit"} <= packaged

    # The HEALTHCHECK, from the staged files, against a /health that answers as the running
    # bot's does (tests/e2e/test_operations.py runs it against the bot itself).
    (health,) = _instructions("HEALTHCHECK")
    check = _command(health[1].split("CMD", 1)[1].strip())
    with _health_endpoint() as (port, answers):
        environ = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        environ.update({**_image_env(), "DATA_DIR": str(tmp_path / "data"), "HTTP_PORT": port})
        for status, expected in ((200, 0), (503, 1)):
            answers.append(status)
            probe = subprocess.run(
                [sys.executable, "-c", _RUN_STAGED.format(checkout=str(ROOT)), *check[2:]],
                cwd=app,
                env=environ,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert probe.returncode == expected, probe.stderr
            assert "LEAKED []" in probe.stderr, probe.stderr
            assert "Traceback" not in probe.stderr


# A checkout's files that must never reach the build context (and so the image).
PLANTED = (
    ".env",
    ".env.production",
    "bot.session",
    "data/db/WiredTiger.wt",
    ".venv/bin/python",
    "core/__pycache__/config.cpython-311.pyc",
    ".git/config",
    ".pytest_cache/v/cache/lastfailed",
)
# Left out of the test's copy of the checkout (large, or planted afresh above).
_NOT_COPIED_FOR_THE_TEST = (
    ".git",
    ".venv",
    "data",
    ".env",
    "*.session",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".import_linter_cache",
    "*.egg-info",
)


def _dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore's rules in order: (re-included by `!`, pattern). A pattern matches a
    path or any folder above it, as Docker's do; `**` crosses folders, `*` does not."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep, line = line.startswith("!"), line.lstrip("!").strip("/")
        parts = []
        for part in re.split(r"(\*\*/?|\*|\?)", line):
            if part.startswith("**"):
                parts.append("(?:.*/)?" if part.endswith("/") else ".*")
            elif part == "*":
                parts.append("[^/]*")
            elif part == "?":
                parts.append("[^/]")
            else:
                parts.append(re.escape(part))
        rules.append((keep, re.compile("".join(parts) + "(?:/.*)?")))
    return rules


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    ignored = False
    for keep, pattern in rules:  # the last rule that matches decides
        if pattern.fullmatch(relative):
            ignored = not keep
    return ignored


def _build_context(checkout: Path, context: Path) -> None:
    """What `docker build` sends from `checkout`: every file `.dockerignore` does not exclude."""
    rules = _dockerignore()
    for path in sorted(checkout.rglob("*")):
        relative = path.relative_to(checkout).as_posix()
        if path.is_file() and not _ignored(relative, rules):
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / relative)


def test_dockerignore_rules_match_as_docker_does() -> None:
    rules = _dockerignore()
    assert _ignored(".env", rules)
    assert not _ignored(".env.example", rules)
    assert _ignored("services/__pycache__/x.pyc", rules)
    assert _ignored(".venv/lib/python3.11/site.py", rules)
    assert not _ignored("core/config.py", rules)
    assert not _ignored("docs/data.md", rules)  # "data" is the folder, not any name with it


def _image_env() -> dict[str, str]:
    (env,) = _instructions("ENV")
    return dict(part.split("=", 1) for part in shlex.split(env[1]))


@contextlib.contextmanager
def _health_endpoint() -> Iterator[tuple[str, list[int]]]:
    """A local `/health` answering with the next status of the list, in the bot's format."""
    answers: list[int] = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = answers.pop(0) if answers else 500
            healthy = status == 200
            body = json.dumps(
                {
                    "status": "healthy" if healthy else "unhealthy",
                    "checks": {"database": {"status": "ok" if healthy else "fail"}},
                }
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1]), answers
    finally:
        server.shutdown()
        server.server_close()


def test_the_systemd_unit_and_compose_file_run_the_bot() -> None:
    unit = (ROOT / "deploy" / "systemd" / "filesearch-bot.service").read_text("utf-8")
    assert "ExecStart=/opt/filesearch-bot/.venv/bin/python bot.py" in unit
    assert "Restart=on-failure" in unit
    assert "EnvironmentFile=" in unit
    compose = (ROOT / "docker-compose.yml").read_text("utf-8")
    assert "build: ." in compose
    assert "DATABASE_URI: mongodb://mongo:27017" in compose
    assert (ROOT / ".env.example").exists()


def test_the_lock_file_pins_every_dependency() -> None:
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in lock.splitlines()
        if "==" in line and not line.startswith("#")
    }
    for name in ("kurigram", "motor", "tantivy", "aiohttp", "prometheus-client", "pytest"):
        assert name in pinned, name


def _docker_can_build() -> bool:
    """Docker with a running daemon and the base image at hand (no registry here)."""
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "image", "inspect", "python:3.11-slim"],  # noqa: S607
        capture_output=True,
        check=False,
        timeout=60,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_can_build(), reason="no Docker daemon with python:3.11-slim here")
def test_the_image_builds() -> None:  # pragma: no cover - needs Docker and the base image
    subprocess.run(
        ["docker", "build", "-t", "filesearch-bot:test", str(ROOT)],  # noqa: S607
        check=True,
        timeout=1800,
    )
