"""The threshold alerts, from samples of the metrics taken once a minute."""

from __future__ import annotations

from services.alerts import Alert, Alerts, Sample, ThresholdRules
from testkit.clock import VirtualClock


def _rules() -> tuple[ThresholdRules, list[str]]:
    fired: list[str] = []

    class Recorder(Alerts):
        def fire(self, alert: Alert) -> None:
            fired.append(alert.key)

    async def send(_chat: int, _text: str) -> int | None:
        return None

    async def edit(_chat: int, _message: int, _text: str) -> object:
        return None

    return ThresholdRules(Recorder(None, send, edit, VirtualClock())), fired


def _minutes(n: int, **per_minute: float) -> list[Sample]:
    """`n + 1` cumulative samples a minute apart growing by `per_minute` each minute."""
    fields = ("requests", "errors", "seconds", "cache_hits", "cache_misses")
    return [
        Sample(
            at=60.0 * i,
            memory_ratio=per_minute.get("memory_ratio", 0.2),
            **{f: per_minute.get(f, 0.0) * i for f in fields},
        )
        for i in range(n + 1)
    ]


def test_an_error_rate_above_one_percent_for_five_minutes_fires() -> None:
    rules, fired = _rules()
    for sample in _minutes(5, requests=100, errors=2, seconds=1):
        rules.observe(sample)
    assert fired == ["error_rate"]


def test_a_low_error_rate_or_too_little_traffic_does_not() -> None:
    rules, fired = _rules()
    for sample in _minutes(5, requests=100, errors=0.5, seconds=1):
        rules.observe(sample)
    rules2, fired2 = _rules()
    for sample in _minutes(5, requests=2, errors=2, seconds=0.1):
        rules2.observe(sample)
    assert fired == []
    assert fired2 == []


def test_slow_answers_low_cache_hits_and_high_memory_fire() -> None:
    rules, fired = _rules()
    for sample in _minutes(5, requests=100, seconds=20):
        rules.observe(sample)
    assert "response_time" in fired
    rules, fired = _rules()
    for sample in _minutes(10, cache_hits=50, cache_misses=50):
        rules.observe(sample)
    assert fired[-1] == "cache_hit_rate"
    rules, fired = _rules()
    for sample in _minutes(14, memory_ratio=0.9):
        rules.observe(sample)
    assert fired == []  # 14 minutes: not yet
    rules.observe(
        Sample(
            at=60.0 * 15,
            requests=0,
            errors=0,
            seconds=0,
            cache_hits=0,
            cache_misses=0,
            memory_ratio=0.9,
        )
    )
    assert fired == ["memory"]
