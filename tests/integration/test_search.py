"""Search on the real database: order independence, prefixes, joined words, filters, paging,
special characters, non-Latin titles, suggestions, duplicates and cache invalidation."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import IncomingFile
from core.utils.errors import SearchUnavailableError
from repositories.files import MongoFileRepository
from repositories.mongo import Database
from services.indexing import IndexingService
from services.search import RESULT_CAP, SearchService, search_over_index
from testkit.clock import VirtualClock

LIBRARY = [
    ("Dark.City.1998.Directors.Cut.720p.BluRay.x264-AMIABLE.mkv", 734_003_200),
    ("Dark.City.1998.1080p.BluRay.x265.mkv", 2_254_857_830),
    ("Spider-Man.Into.the.Spider-Verse.2018.1080p.WEB-DL.mkv", 2_254_857_000),
    ("Spiderman.2002.720p.BluRay.mkv", 1_181_116_006),
    ("Breaking.Bad.S02E03.Bit.by.a.Dead.Bee.720p.BluRay.x264-DEMAND.mkv", 1_181_116_000),
    ("Breaking.Bad.S02E04.Down.1080p.BluRay.x265-HEVC.mkv", 1_610_612_736),
    ("Breaking.Bad.S03E03.I.F.T.720p.mkv", 1_110_000_000),
    ("Amélie.2001.FRENCH.1080p.BluRay.DTS.x264.mkv", 9_663_676_416),
    ("दिलवाले दुल्हनिया ले जाएंगे (1995).mkv", 1_500_000_000),
    ("C++ Primer [5th Edition] (2012).pdf", 4_194_304),
    ("The.Matrix.1999.REMASTERED.2160p.UHD.BluRay.x265.mkv", 15_032_385_536),
]


def incoming(name: str, size: int, n: int, mime: str = "video/x-matroska") -> IncomingFile:
    mime = "application/pdf" if name.endswith(".pdf") else mime
    return IncomingFile(f"uniq{n}", f"fid{n}", name, size, mime, None, -1002200000001, n)


async def search_service(
    files: MongoFileRepository, clock: VirtualClock, directory: Path
) -> SearchService:
    search = search_over_index(files, clock, directory)
    await search.index.start()
    return search


@pytest.fixture
async def engine(
    database: Database, tmp_path: Path
) -> tuple[SearchService, IndexingService, VirtualClock]:
    await database.prepare(__import__("repositories").ALL_INDEXES)
    clock = VirtualClock()
    files = MongoFileRepository(database)
    search = await search_service(files, clock, tmp_path / "search")
    indexing = IndexingService(files, search, clock)
    await indexing.index([incoming(name, size, i) for i, (name, size) in enumerate(LIBRARY, 1)])
    return search, indexing, clock


async def names(search: SearchService, text: str, **kwargs: object) -> list[str]:
    page = await search.search(text, **kwargs)  # type: ignore[arg-type]
    return [f.file_name for f in page.items]


async def test_word_order_does_not_matter(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    forward = await names(search, "dark city")
    assert forward[:2] == [LIBRARY[1][0], LIBRARY[0][0]] or set(forward[:2]) == {
        LIBRARY[0][0],
        LIBRARY[1][0],
    }
    assert await names(search, "city dark") == forward
    assert await names(search, "CITY   Dark") == forward


async def test_every_word_must_match(engine: tuple[SearchService, ...]) -> None:
    assert await names(engine[0], "dark matrix") == []


async def test_prefix_matches_the_last_word_while_typing(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert set(await names(search, "dark ci", prefix=True)) == {LIBRARY[0][0], LIBRARY[1][0]}
    assert await names(search, "matr", prefix=True) == [LIBRARY[10][0]]
    assert await names(search, "matr") == []  # a finished word must match exactly


async def test_joined_and_split_words_find_each_other(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert set(await names(search, "spiderman")) == {LIBRARY[2][0], LIBRARY[3][0]}
    assert set(await names(search, "spider man")) == {LIBRARY[2][0], LIBRARY[3][0]}


async def test_metadata_in_the_query_filters(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert await names(search, "breaking bad s02e03") == [LIBRARY[4][0]]
    assert await names(search, "breaking bad 2x04") == [LIBRARY[5][0]]
    assert set(await names(search, "breaking bad 720p")) == {LIBRARY[4][0], LIBRARY[6][0]}
    assert await names(search, "dark city 1080p") == [LIBRARY[1][0]]
    assert await names(search, "matrix 1999") == [LIBRARY[10][0]]
    assert await names(search, "matrix 2005") == []


async def test_type_filter(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert await names(search, "primer #document") == [LIBRARY[9][0]]
    assert await names(search, "primer #video") == []
    page = await search.search("2012")
    assert page.kinds == {"document": 1}


@pytest.mark.parametrize("text", ["c++ primer", "[5th edition", "(2012)", "c++ .*", "primer $^|"])
async def test_special_characters_are_safe(engine: tuple[SearchService, ...], text: str) -> None:
    found = await names(engine[0], text)
    assert found in ([LIBRARY[9][0]], [])


async def test_accents_and_non_latin_titles(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert await names(search, "amelie") == [LIBRARY[7][0]]
    assert await names(search, "AMÉLIE") == [LIBRARY[7][0]]
    assert await names(search, "दुल्हनिया") == [LIBRARY[8][0]]


async def test_one_typo_finds_the_file_without_a_suggestion(
    engine: tuple[SearchService, ...],
) -> None:
    search = engine[0]
    assert set(await names(search, "braeking bad")) == {
        LIBRARY[4][0],
        LIBRARY[5][0],
        LIBRARY[6][0],
    }
    assert await names(search, "matirx") == [LIBRARY[10][0]]
    # A typo in words written together or apart: the typo pass runs for the words as typed
    # only, and the index holds every adjacent pair of a name joined.
    assert set(await names(search, "spidreman")) == {LIBRARY[2][0], LIBRARY[3][0]}
    assert set(await names(search, "spidr man")) >= {LIBRARY[2][0], LIBRARY[3][0]}


async def test_suggestions_are_real_title_words_only(
    engine: tuple[SearchService, ...],
) -> None:
    search = engine[0]
    page = await search.search("brkaeing bda")  # two edits away: no match even fuzzily
    assert page.total == 0
    assert page.suggestions[0] == "breaking bad"
    assert (await search.search("zzzzqqq")).suggestions == ()
    for text in ("dakr ctiy", "spidr mna", "the matirx breking"):
        for suggestion in (await search.search(text)).suggestions:
            words = suggestion.split()
            assert len(words) == len(set(words))  # never the same word twice
            titles = {w for name, _ in LIBRARY for w in name.lower().replace("-", ".").split(".")}
            assert set(words) <= titles | set(text.split())  # never a joined fragment
            assert (await search.search(suggestion)).total > 0  # a suggestion finds files


async def test_searches_while_the_index_is_rebuilt_say_so(
    database: Database, tmp_path: Path
) -> None:
    await database.prepare(__import__("repositories").ALL_INDEXES)
    files = MongoFileRepository(database)
    search = search_over_index(files, VirtualClock(), tmp_path / "search")  # not started: not ready
    with pytest.raises(SearchUnavailableError):
        await search.search("dark city")


async def test_new_files_invalidate_cached_results(engine: tuple[SearchService, ...]) -> None:
    search, indexing, _ = engine
    assert await names(search, "heat") == []
    await indexing.index([incoming("Heat.1995.1080p.BluRay.mkv", 3_000_000_000, 100)])
    assert await names(search, "heat") == ["Heat.1995.1080p.BluRay.mkv"]
    assert await indexing.remove_message(-1002200000001, 100)
    assert await names(search, "heat") == []


async def test_duplicates_are_reported_and_not_indexed_twice(
    engine: tuple[SearchService, ...],
) -> None:
    search, indexing, _ = engine
    same_file = await indexing.index([incoming(LIBRARY[0][0], LIBRARY[0][1], 1)])
    assert (same_file.inserted, same_file.duplicates) == (0, 1)
    reupload = await indexing.index([incoming(LIBRARY[0][0], LIBRARY[0][1], 500)])
    assert (reupload.inserted, reupload.duplicates, reupload.duplicate_ids) == (0, 1, ("uniq500",))
    assert len(await names(search, "dark city amiable")) == 1


async def test_pages_are_stable_and_totals_capped(database: Database, tmp_path: Path) -> None:
    await database.prepare(__import__("repositories").ALL_INDEXES)
    clock = VirtualClock()
    files = MongoFileRepository(database)
    search = await search_service(files, clock, tmp_path / "search")
    indexing = IndexingService(files, search, clock, use_guessit=False)
    batch = [
        incoming(f"Nature.Documentary.Part.{i}.mkv", 1000 + i, i) for i in range(RESULT_CAP + 5)
    ]
    await indexing.index(batch)
    first = await search.search("nature documentary", page=1)
    assert (first.total_label, len(first.items), first.pages) == ("500+", 10, 50)
    second = await search.search("documentary nature", page=2)
    await search.index.close()
    fresh = await search_service(files, clock, tmp_path / "search")  # a restart: nothing cached
    again = await fresh.search("nature documentary", page=2)
    assert [f.id for f in again.items] == [f.id for f in second.items]
    assert not {f.id for f in first.items} & {f.id for f in second.items}


async def test_joined_words_never_lose_a_match(engine: tuple[SearchService, ...]) -> None:
    search = engine[0]
    assert await names(search, "spiderman verse") == [LIBRARY[2][0]]
    assert await names(search, "verse spider") == [LIBRARY[2][0]]
    assert set(await names(search, "spiderman bluray")) == {LIBRARY[3][0]}


async def test_date_numbered_episodes_are_found_by_their_date(
    database: Database, tmp_path: Path
) -> None:
    await database.prepare(__import__("repositories").ALL_INDEXES)
    clock = VirtualClock()
    files = MongoFileRepository(database)
    search = await search_service(files, clock, tmp_path / "search")
    indexing = IndexingService(files, search, clock, use_guessit=False)
    await indexing.index(
        [
            incoming("The.Daily.Show.2024.03.15.720p.WEB.mkv", 700_000_000, 1),
            incoming("The.Daily.Show.2024.03.14.720p.WEB.mkv", 700_000_000, 2),
        ]
    )
    for text in ("daily show 2024 03 15", "daily show 2024-03-15", "daily show 2024.03.15"):
        assert await names(search, text) == ["The.Daily.Show.2024.03.15.720p.WEB.mkv"], text
    await search.index.close()
