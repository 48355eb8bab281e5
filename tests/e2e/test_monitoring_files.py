"""The shipped monitoring (deploy/prometheus/alerts.yml, deploy/grafana/dashboard.json) reads
metrics the bot really exports: every metric a rule or a panel uses is in a real `/metrics`
scrape of a running bot, and `promtool` accepts the rules and the scrape (where it is installed:
Debian's `prometheus` package, which `.ci/run` installs)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit import BotHarness

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
SCRAPED_BY_PROMETHEUS = {"up"}  # made by Prometheus for every target, not by the bot
_NOT_METRICS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset",
}  # fmt: skip


def rule_expressions() -> list[str]:
    """Every `expr:` of the rules file (one line, or a `|` block)."""
    expressions: list[str] = []
    lines = RULES.read_text("utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.strip().startswith("expr:"):
            inline = line.split("expr:", 1)[1].strip()
            if inline != "|":
                expressions.append(inline)
                continue
            indent = len(lines[n + 1]) - len(lines[n + 1].lstrip())
            block = []
            for following in lines[n + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) < indent:
                    break
                block.append(following.strip())
            expressions.append(" ".join(block))
    return expressions


def panel_expressions() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(DASHBOARD.read_text("utf-8")))
    return found


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, ranges, functions left out)."""
    text = re.sub(r"\{[^}]*\}", " ", expression)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r'"[^"]*"', " ", text)
    names = set()
    for match in re.finditer(r"(?<![A-Za-z0-9_.:])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        function = text[match.end() :].lstrip().startswith("(")
        if word not in _NOT_METRICS and not function:
            names.add(word)
    return names


def exported(scrape: str) -> set[str]:
    """Every series name the scrape declares (a histogram's buckets, sum and count, a
    counter's total), with or without samples yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(scrape):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


async def scrape_of_a_running_bot(mongo_uri: str) -> str:
    async with BotHarness(database_uri=mongo_uri, http=True) as bot:
        await bot.channel("Movies").post_video("Heat.1995.mkv")
        await bot.user(1001, "Alice").send("heat")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{bot.http_url}/metrics") as response,
        ):
            assert response.status == 200
            return await response.text()


async def test_every_metric_the_rules_and_panels_use_is_exported(mongo_uri: str) -> None:
    used = {
        name
        for expression in rule_expressions() + panel_expressions()
        for name in metric_names(expression)
    }
    assert "process_resident_memory_bytes" in used  # the parsing found the memory rule's
    assert len(rule_expressions()) >= 6
    scrape = await scrape_of_a_running_bot(mongo_uri)
    missing = sorted(used - exported(scrape) - SCRAPED_BY_PROMETHEUS)
    assert missing == [], f"used by a rule or panel, not in /metrics: {missing}"


def test_metric_names_are_read_from_expressions() -> None:
    assert metric_names(
        'sum by (le) (rate(a_seconds_bucket{x="y"}[5m])) / on() group_left() b_bytes > 0.8'
    ) == {"a_seconds_bucket", "b_bytes"}


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)"
)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
async def test_promtool_accepts_a_scrape(mongo_uri: str) -> None:
    assert PROMTOOL is not None
    scrape = await scrape_of_a_running_bot(mongo_uri)
    process = await asyncio.create_subprocess_exec(
        PROMTOOL,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(scrape.encode()), 60)
    assert process.returncode == 0, out.decode()
