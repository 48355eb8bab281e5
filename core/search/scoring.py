"""How a matching file is scored against a query, in integers, and the numbers the full-text
index keeps so it can order files without reading them.

A file's points: 3 for each query word in its title, 2 when a title word starts with the
typed prefix (inline mode), 5 when the whole title was typed ("dark city" for "Dark City
(1998)"). Its score is `SCALE * points - n` (n: how many terms its name has, so shorter names
first); ties go to the newest file (`at`), then to its `key`. Deliberately blind to the order
the words were typed in: a page is recomputed from the order-independent query key, and must
rank the same as when it was first shown.

The index stores `order = n << AT_BITS | (MAX_AT - at)` per file, one number whose ascending
order is (shorter name, newer) — so among files of equal points, tantivy's own top-k
collector on that fast field returns them in score order — and `key`, a 64-bit hash of the
file id (what a cached result and a results page refer to).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "AT_BITS",
    "MAX_AT",
    "MAX_N",
    "PREFIX_POINTS",
    "SCALE",
    "TITLE_WORD_POINTS",
    "WHOLE_TITLE_POINTS",
    "file_key",
    "order_value",
    "points",
    "score",
]

TITLE_WORD_POINTS = 3
PREFIX_POINTS = 2
WHOLE_TITLE_POINTS = 5
SCALE = 20  # a term costs 1/20 of a point: the score is SCALE * points - n
AT_BITS = 52  # milliseconds since the epoch fit in 52 bits for another 140,000 years
MAX_AT = (1 << AT_BITS) - 1
MAX_N = (1 << (64 - AT_BITS)) - 1  # 4,095 terms: names longer than that count as that long


def file_key(file_id: str) -> int:
    """The file's 64-bit key (a hash of its id: a collision among a million files has a
    probability of about 3 in 100 million)."""
    return int.from_bytes(hashlib.blake2b(file_id.encode(), digest_size=8).digest(), "big")


def points(title: Iterable[str], words: Sequence[str], prefix: str | None) -> int:
    """Title words matched (each time a word was typed), the prefix starting a title word,
    the whole title typed."""
    title_set = set(title)
    total = TITLE_WORD_POINTS * sum(1 for w in words if w in title_set)
    if prefix is not None and any(t.startswith(prefix) for t in title_set):
        total += PREFIX_POINTS
    typed = set(words) | ({prefix} if prefix else set())
    if title_set and title_set <= typed:
        total += WHOLE_TITLE_POINTS
    return total


def score(title: Iterable[str], n: int, words: Sequence[str], prefix: str | None) -> int:
    """Higher is better: `SCALE * points - n`."""
    return SCALE * points(title, words, prefix) - min(n, MAX_N)


def order_value(n: int, at: int) -> int:
    """What the index's `order` fast field holds: ascending is (fewer terms, newer)."""
    return min(max(n, 0), MAX_N) << AT_BITS | (MAX_AT - min(max(at, 0), MAX_AT))
