"""Normalisation, tokens, metadata markers and query parsing: the pure half of search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import IncomingFile
from core.search.fulltext import Hit
from core.search.metadata import describe, markers
from core.search.normalize import (
    fold,
    index_terms,
    name_terms,
    normalize,
    strip_extension,
    tokenize,
)
from core.search.query import parse_query
from core.search.ranking import could_match, matches, rank, within_typo
from services.indexing import IndexingService
from testkit.clock import VirtualClock


def build(name: str, *, size: int = 1000, mime: str = "video/x-matroska", guess: bool = False):  # type: ignore[no-untyped-def]
    service = IndexingService(
        None, None, VirtualClock(datetime(2026, 1, 1, tzinfo=UTC)), use_guessit=guess
    )  # type: ignore[arg-type]
    record = service.build(IncomingFile(f"u{name}", f"f{name}", name, size, mime, None, -100, 1))
    assert record is not None
    return record


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Dark.City.1998.720p.mkv", ["dark", "city", "1998", "720p", "mkv"]),
        (
            "Spider-Man_Into+the[Spider](Verse),2018",
            ["spider", "man", "into", "the", "spider", "verse", "2018"],
        ),
        ("Amélie Poulain ÇA", ["amelie", "poulain", "ca"]),
        (
            "\uff26\uff35\uff2c\uff2c\u3000\uff37\uff29\uff24\uff34\uff28",
            ["full", "width"],
        ),  # full-width letters and space
        ("Director's Cut", ["director", "s", "cut"]),
        ("दिलवाले दुल्हनिया", ["दिलवाले", "दुल्हनिया"]),
        ("Москва слезам не верит", ["москва", "слезам", "не", "верит"]),
        ("東京物語 1953", ["東京物語", "1953"]),
        ("  ...  ", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_accents_fold_on_latin_letters_only() -> None:
    assert fold("Ñandú Über") == "nandu uber"
    assert fold("क़िला") == fold("क़िला")  # a Devanagari nukta is kept, not stripped
    assert "\u093c" in fold("क़िला")


def test_a_name_derives_its_terms_and_key() -> None:
    assert name_terms("Spider-Man.2.mkv") == (
        ("spider", "man", "2", "spiderman", "man2"),
        "spider man 2",
    )
    record = build("Spider-Man.2.mkv")
    assert (record.terms, record.name_key) == name_terms("Spider-Man.2.mkv")


def test_a_new_file_waits_for_the_accurate_parser_only_when_asked() -> None:
    assert build("FooBar.0307.720p.HDTV.mkv", guess=True).metadata_pending
    fast = build("FooBar.0307.720p.HDTV.mkv", guess=False)
    assert not fast.metadata_pending
    assert (fast.resolution, fast.episode) == ("720p", None)  # the fast pass alone


def test_extension_is_dropped_and_joined_pairs_are_indexed() -> None:
    assert strip_extension("Heat.1995.mkv") == "Heat.1995"
    assert strip_extension("notes.final") == "notes.final"
    assert index_terms(tokenize("Spider Man 2")) == ["spider", "man", "2", "spiderman", "man2"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Breaking.Bad.S02E03.720p.BluRay", {"season": 2, "episode": 3, "resolution": "720p"}),
        ("Show 2x05 HDTV", {"season": 2, "episode": 5, "source": "hdtv"}),
        ("Dark City 1998 4K", {"year": 1998, "resolution": "2160p"}),
        ("1917 2019 WEB-DL", {"year": 2019, "source": "web"}),
        ("2012 movie", {"year": None}),  # a leading number is the title
        ("Show.Tem.1.Cap.112.HDTV", {"season": 1, "episode": 12}),
        ("Serie Temporada 3 Capitulo 4", {"season": 3, "episode": 4}),
        ("Show Season 2 Episode 5", {"season": 2, "episode": 5}),
        ("Anime Episode 5 1080p", {"season": None, "episode": 5, "resolution": "1080p"}),
        ("Episode 7", {"episode": 7}),
        ("Season of the Witch 2011", {"season": None, "year": 2011}),  # no number after it
    ],
)
def test_markers(name: str, expected: dict[str, object]) -> None:
    found = markers(tokenize(name))
    for key, value in expected.items():
        assert getattr(found, key) == value


def test_guessit_adds_title_and_language() -> None:
    meta = describe("Amélie.2001.FRENCH.1080p.BluRay.DTS.x264.mkv")
    assert (meta.title, meta.year, meta.resolution, meta.language) == (
        "amelie",
        2001,
        "1080p",
        "fr",
    )


@pytest.mark.parametrize(
    ("name", "season", "episode"),
    [
        ("FooBar.0307.720p.HDTV.mkv", 3, 7),  # the parser's reading completes the markers
        ("UFC.185.720p.mkv", 1, 85),
        ("The.Office.1x02.mkv", 1, 2),
        ("Show.Tem.1.Cap.112.mkv", 1, 12),
    ],
)
def test_episodes_the_release_parser_recognises_are_markers(
    name: str, season: int, episode: int
) -> None:
    meta = describe(name)
    assert (meta.season, meta.episode) == (season, episode)


def test_query_metadata_becomes_filters_and_order_does_not_matter() -> None:
    query = parse_query("Breaking BAD s02e03 1080p #video")
    assert query.terms == ("breaking", "bad")
    assert (query.season, query.episode, query.resolution, query.kind) == (2, 3, "1080p", "video")
    assert parse_query("bad   breaking S02E03 #video 1080p").key == query.key
    assert parse_query("matrix bluray web-dl").terms == ("matrix", "bluray", "web", "dl")


def test_the_last_word_is_a_prefix_while_typing() -> None:
    typing = parse_query("dark ci", prefix=True)
    assert (typing.terms, typing.prefix) == (("dark",), "ci")
    finished = parse_query("dark city ", prefix=True)
    assert (finished.terms, finished.prefix) == (("dark", "city"), None)


@pytest.mark.parametrize("text", ["[1080p", "(a|b)*", "c++ \\d+ $^", ".*", "{1,2}", "'; drop"])
def test_regex_metacharacters_are_just_text(text: str) -> None:
    query = parse_query(text)
    assert all(token.isalnum() for token in query.terms)


def test_ranking_prefers_exact_titles_then_newer_files() -> None:
    exact = build("Dark.City.1998.720p.mkv")
    longer = build("Dark.City.Of.Lost.Souls.2001.720p.mkv")
    query = parse_query("dark city")
    assert matches(exact, query)
    assert matches(longer, query)
    hits = [
        Hit(r.id, exact=True, title=r.title_terms, n=len(r.terms), at=0) for r in (longer, exact)
    ]
    assert [h.id for h in rank(hits, query)] == [exact.id, longer.id]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_normalises_without_error(text: str) -> None:
    normalized = normalize(text)
    assert normalize(normalized) == normalized  # idempotent
    parse_query(text)
    parse_query(text, prefix=True)


NAME_PART = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Nd", "Lo"]), min_size=1, max_size=8
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAME_PART, min_size=1, max_size=6), st.sampled_from([".", " ", "_", "-"]))
def test_a_file_is_always_found_by_its_own_title(parts: list[str], separator: str) -> None:
    name = separator.join(parts) + ".mkv"
    if not tokenize(strip_extension(name)):
        return
    record = build(name)
    assert matches(record, parse_query(record.title))
    reordered = parse_query(" ".join(reversed(record.title.split())))
    # Reversed, "1 tem" reads "tem 1": season 1, which a file named "1.TEM" does not claim.
    if (reordered.season, reordered.episode) == (record.season, record.episode):
        assert matches(record, reordered)


def test_could_match_sees_typo_and_joined_matches_and_filters() -> None:
    record = build("Heart.1999.720p.mkv")
    assert could_match(record, parse_query("heat"))  # one edit
    assert could_match(record, parse_query("heart 1999"))
    assert not could_match(record, parse_query("heart 2001"))  # a year filter that differs
    assert not could_match(record, parse_query("ronin"))
    assert not could_match(record, parse_query("hrt"))  # short words are exact
    spider = build("Spider.Man.2002.mkv")
    assert could_match(spider, parse_query("spiderman"))
    assert could_match(spider, parse_query("spdierman"))  # joined, with a swap
    assert within_typo("fellowhsip", ["fellowship"])
    assert not within_typo("1998", ["1999"])
