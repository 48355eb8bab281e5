"""The tantivy projection on a real directory: exact and typo matches, upserts and deletes by
file id, the watermark across reopen, and what happens to an index that cannot be used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.search.fulltext import (
    Filters,
    IndexedFile,
    IndexUnusableError,
    TantivyIndex,
    fuzzy_distance,
)
from core.search.metadata import describe
from core.search.normalize import name_terms


def indexed(file_id: str, name: str, kind: str = "video") -> IndexedFile:
    meta = describe(name, use_guessit=False)
    return IndexedFile(
        file_id,
        name_terms(name)[0],
        kind,
        title=meta.title_terms,
        year=meta.year,
        season=meta.season,
        episode=meta.episode,
        resolution=meta.resolution,
    )


LIBRARY = [
    indexed("a", "The.Lord.of.the.Rings.The.Fellowship.of.the.Ring.2001.1080p.mkv"),
    indexed("b", "Spider-Man.No.Way.Home.2021.720p.mkv"),
    indexed("c", "Dark.City.1998.Directors.Cut.mkv"),
    indexed("d", "Dark.Knight.2008.mkv"),
    indexed("e", "Dark.City.Soundtrack.mp3", kind="audio"),
]


@pytest.fixture
async def index(tmp_path: Path) -> TantivyIndex:
    opened = await TantivyIndex.open(tmp_path / "search")
    await opened.apply(LIBRARY, [], watermark=5)
    return opened


async def ids(
    index: TantivyIndex, *terms: str, prefix: str | None = None, **filters: str | int
) -> list[tuple[str, bool]]:
    found = await index.search(terms, prefix=prefix, filters=Filters(**filters))  # type: ignore[arg-type]
    return [(h.id, h.exact) for h in found]


def test_fuzzy_distance_follows_word_length() -> None:
    assert [fuzzy_distance(w) for w in ("city", "dar", "fellowship", "knight", "1998")] == [
        1,
        0,
        2,
        1,
        0,
    ]


async def test_words_match_in_any_order(index: TantivyIndex) -> None:
    assert sorted(await ids(index, "city", "dark")) == [("c", True), ("e", True)]
    assert await ids(index, "fellowship", "ring", "2001") == [("a", True)]


async def test_typos_match_after_exact_results(index: TantivyIndex) -> None:
    assert await ids(index, "felowship") == [("a", False)]  # one deletion
    assert await ids(index, "fellowhsip") == [("a", False)]  # a transposition is one edit
    assert await ids(index, "fallowshop") == [("a", False)]  # two edits in a long word
    found = await ids(index, "dark", "knigt")
    assert found == [("d", False)]
    assert await ids(index, "dakr", "city", "2001") == []  # numbers are exact
    assert await ids(index, "cty") == []  # too short to be fuzzy


async def test_joined_words_and_prefixes(index: TantivyIndex) -> None:
    assert await ids(index, "spiderman") == [("b", True)]  # "spider man" indexed joined too
    assert sorted(await ids(index, "dark", prefix="ci")) == [("c", True), ("e", True)]
    assert await ids(index, "dark", prefix="kn") == [("d", True)]
    assert await ids(index, prefix="(.*") == []  # a typed prefix is literal, never a regex


async def test_filters(index: TantivyIndex) -> None:
    assert await ids(index, "dark", "city", kind="audio") == [("e", True)]
    assert await ids(index, "dark", year=1998) == [("c", True)]
    assert await ids(index, "ring", resolution="1080p") == [("a", True)]
    assert await ids(index, "ring", resolution="720p") == []


async def test_hits_carry_what_ranking_needs(index: TantivyIndex) -> None:
    (hit,) = await index.search(["knight"])
    assert (hit.id, hit.kind, hit.title, hit.n) == ("d", "video", ("dark", "knight"), 5)


async def test_similar_words_are_real_title_words(index: TantivyIndex) -> None:
    assert await index.similar_words("fellowshp") == ["fellowship"]
    assert await index.similar_words("drak") == ["dark"]  # not "darkcity", a joined fragment
    assert await index.similar_words("zzzzqq") == []


async def test_upserts_replace_and_deletes_remove_by_id(index: TantivyIndex) -> None:
    await index.apply([indexed("c", "Dark.City.1998.Remastered.mkv")], ["e"], watermark=7)
    await index.apply([indexed("c", "Dark.City.1998.Remastered.mkv")], ["e"], watermark=7)
    assert await ids(index, "dark", "city") == [("c", True)]
    assert await ids(index, "remastered") == [("c", True)]
    assert await ids(index, "directors") == []
    assert await index.documents() == 4
    assert index.watermark == 7


async def test_the_watermark_survives_reopening(index: TantivyIndex, tmp_path: Path) -> None:
    await index.close()
    reopened = await TantivyIndex.open(tmp_path / "search")
    assert reopened.watermark == 5
    assert await ids(reopened, "knight") == [("d", True)]


async def test_an_index_from_another_schema_is_unusable(tmp_path: Path) -> None:
    directory = tmp_path / "search"
    await (await TantivyIndex.open(directory)).close()
    (directory / "state.json").write_text('{"schema": 0, "watermark": 3}')
    with pytest.raises(IndexUnusableError, match="schema v0"):
        await TantivyIndex.open(directory)


async def test_a_corrupt_index_is_unusable_and_can_be_recreated(
    index: TantivyIndex, tmp_path: Path
) -> None:
    await index.close()
    directory = tmp_path / "search"
    (directory / "meta.json").write_text("{ truncated")
    with pytest.raises(IndexUnusableError, match="corrupt"):
        await TantivyIndex.open(directory)
    rebuilt = await TantivyIndex.create(directory)
    assert rebuilt.watermark == 0
    assert await rebuilt.documents() == 0
    await rebuilt.apply(LIBRARY, [], watermark=5)
    assert await ids(rebuilt, "knight") == [("d", True)]


async def test_an_index_without_its_forms_is_unusable_and_can_be_recreated(
    index: TantivyIndex, tmp_path: Path
) -> None:
    """The forms index (a typo's forms, `forms/` inside the index) is part of the index: without
    it, typo matches would be lost, so the index is rebuilt."""
    await index.close()
    directory = tmp_path / "search"
    shutil.rmtree(directory / "forms")
    with pytest.raises(IndexUnusableError, match="no forms index"):
        await TantivyIndex.open(directory)
    rebuilt = await TantivyIndex.create(directory)
    await rebuilt.apply(LIBRARY, [], watermark=5)
    assert await ids(rebuilt, "dark", "ctiy") == [("e", False), ("c", False)]


async def test_files_without_state_are_not_mistaken_for_an_index(tmp_path: Path) -> None:
    directory = tmp_path / "search"
    directory.mkdir()
    (directory / "stray").write_text("x")
    with pytest.raises(IndexUnusableError, match=r"no state\.json"):
        await TantivyIndex.open(directory)


async def test_the_shortest_matching_names_come_first(index: TantivyIndex) -> None:
    assert await ids(index, "dark", "city") == [("e", True), ("c", True)]
    assert await ids(index, "dark", "ctiy") == [("e", False), ("c", False)]


async def test_typo_matches_are_read_only_as_far_as_asked(index: TantivyIndex) -> None:
    await index.apply(
        [indexed("f", "Dark.Citi.2010.mkv"), indexed("g", "Darc.City.2011.mkv")], [], watermark=6
    )
    every = [(h.id, h.exact) for h in await index.search(["dark", "city"])]
    assert sorted(every[:2]) == [("c", True), ("e", True)]
    assert sorted(every[2:]) == [("f", False), ("g", False)]  # each exact file once
    one = await index.search(["dark", "city"], fuzzy_limit=1)
    assert [h.exact for h in one] == [True, True, False]
    assert sorted(h.id for h in await index.search(["dark", "city"], fuzzy_limit=0)) == ["c", "e"]
