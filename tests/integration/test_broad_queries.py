"""Broad queries ranked from the index's fast fields (#45) give exactly the exhaustive ranking:
every file of a small library scored in Python (`core.search.scoring`, the typo rule of
`within_typo`), sorted, cut and counted — no tantivy in the reference. The library is built
so that every path of `core/search/ranker.py` is taken: groups of equal points far larger
than a page, whole titles typed, a prefix, equal `order` values at a group's cut (a batch
indexed in the same millisecond), kinds the index keeps as numbers and one it does not,
filters, typo matches, joined words, a query of more words than are grouped, and titles with a
word their names lack (a parser's title): the index keeps only the name's words of a title, so
a group read by its title words alone finds no file that the query does not match."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from rapidfuzz.distance import OSA

from core.search.fulltext import MAX_FORMS, TYPO_MANY, Filters, IndexedFile, TantivyIndex
from core.search.normalize import fuzzy_distance, index_terms, tokenize
from core.search.query import ParsedQuery, parse_query
from core.search.ranker import STORED_RANK_MAX, STORED_TYPO_MAX, TIED_READ
from core.search.ranking import within_typo
from core.search.scoring import MAX_N, file_key, score

WORDS = ["dark", "city", "night", "river", "stone", "fire", "the", "man", "lost", "home"]
EXTRA = ["1080p", "720p", "bluray", "x264", "web", "hevc", "proper", "dts"]
KINDS = ["video", "video", "video", "audio", "document", "photo"]  # "photo": no kind code
SEED = 45


def _file(file_id: str, name: str, title: tuple[str, ...], at: int) -> IndexedFile:
    """A video file indexed as the bot indexes its name."""
    terms = tuple(index_terms(tokenize(name)))
    return IndexedFile(file_id, terms, "video", title=title, at=at, name=name)


def _library(size: int = 3_000) -> list[IndexedFile]:
    rng = random.Random(SEED)
    files = []
    for n in range(size):
        title = rng.sample(WORDS, rng.choice([1, 1, 2, 2, 3]))
        extra = rng.sample(EXTRA, rng.randint(0, 4))
        if rng.random() < 0.2:  # a title word repeated, or a title word only in the name
            extra.append(rng.choice(WORDS))
        words = [*title, *extra]
        year = rng.choice([None, 1998, 2008, 2019])
        if year:
            words.append(str(year))
        at = 1_700_000_000_000 + (n // 40) * 1_000 if n < 2_000 else 1_700_000_500_000 + n
        files.append(
            IndexedFile(
                f"f{n:05d}",
                tuple(index_terms(tokenize(" ".join(words)))),
                rng.choice(KINDS),
                title=tuple(title),
                year=year,
                at=at,  # the first 2,000 in batches of 40 indexed in the same millisecond
                name=" ".join(words),
            )
        )
    # Names long enough that a file of fewer points can outrank them: "epic" in 40 titles
    # ("epic tale") of about 70 terms (3 points: 60 - 70), and in the names only of 40 short
    # files (0 points: 0 - 7);
    # "saga" in titles of about 35 terms, where the prefix's 2 points decide.
    for word, length in (("epic", 35), ("saga", 18)):
        for n in range(80):
            filler = ["".join(rng.choice("bcdfgklmnprst") + rng.choice("aeiou") for _ in range(3))]
            filler += [f"{filler[0]}{k}" for k in range(length if n < 40 else 1)]
            title = (
                ((word, "tale") if word == "epic" else (word,)) if n < 40 else (rng.choice(WORDS),)
            )
            words = [*title, *filler] if n < 40 else [*title, word, *filler]
            files.append(
                IndexedFile(
                    f"{word}{n:03d}",
                    tuple(index_terms(tokenize(" ".join(words)))),
                    rng.choice(KINDS),
                    title=title,
                    at=1_700_001_000_000 + n,
                    name=" ".join(words),
                )
            )
    # Words written together, found by a query's joined variant: "darkcity" only when the
    # words apart found fewer than ten files ("drak citty" finds hundreds: not then);
    # "moonriver" (beside two "moon river" files) when they did not ("mono rivre").
    for n, name in enumerate(["darkcity"] * 5 + ["moonriver"] * 3 + ["moon river"] * 2):
        files.append(_file(f"joined{n}", name, tuple(name.split()), 1_700_002_000_000 + n))
    # Titles with a word the name lacks: "city" in these titles, not in their short names (they
    # would top a search for "city" if their title's "city" were held).
    for n in range(30):
        name = f"dark {rng.choice(EXTRA)}"
        files.append(_file(f"elsewhere{n:02d}", name, ("dark", "city"), 1_700_003_000_000 + n))
    return files


def _title(f: IndexedFile) -> tuple[str, ...]:
    """The words of a file's title that its name has (what the index keeps of a title)."""
    terms = set(f.terms)
    return tuple(w for w in dict.fromkeys(f.title) if w in terms)


def _exact(f: IndexedFile, variant: Sequence[str], query: ParsedQuery) -> bool:
    terms = set(f.terms)
    return all(t in terms for t in variant) and _rest(f, query)


def _near(f: IndexedFile, variant: Sequence[str], query: ParsedQuery) -> bool:
    terms = set(f.terms)
    return all(within_typo(t, terms) for t in variant) and _rest(f, query)


def _rest(f: IndexedFile, query: ParsedQuery) -> bool:
    if query.prefix is not None and not any(t.startswith(query.prefix) for t in f.terms):
        return False
    return (
        (query.year is None or f.year == query.year)
        and (query.season is None or f.season == query.season)
        and (query.episode is None or f.episode == query.episode)
        and (query.resolution is None or f.resolution == query.resolution)
        and (query.kind is None or f.kind == query.kind)
    )


def _expected(
    files: list[IndexedFile], query: ParsedQuery, limit: int, *, typos: bool, below: int
) -> tuple[list[int], list[str], int]:
    """The exhaustive ranking: every file scored, sorted, cut (the reference)."""

    def order(f: IndexedFile) -> tuple[int, int, int]:
        n = min(len(f.terms), MAX_N)
        return (-score(_title(f), n, query.terms, query.prefix), -f.at, file_key(f.id))

    variants = [v for v in query.variants()[:3] if v or query.prefix is not None]
    exact = [f for f in files if any(_exact(f, v, query) for v in variants)]
    best = sorted(exact, key=order)[:limit]
    total = len(exact)
    if typos and total <= limit:
        seen = {f.id for f in exact}
        near: dict[str, IndexedFile] = {}
        for n, variant in enumerate(variants):
            if n > 0 and len(exact) + len(near) >= below:
                break  # enough found: no typo matches of the later variants
            if any(fuzzy_distance(t) for t in variant):
                near.update(
                    (f.id, f) for f in files if f.id not in seen and _near(f, variant, query)
                )
        total += len(near)
        best += sorted(near.values(), key=order)[: limit - len(best)]
    return [file_key(f.id) for f in best], [f.kind for f in best], total


@pytest.fixture(scope="module")
def library() -> list[IndexedFile]:
    return _library()


@pytest.fixture
async def index(tmp_path: Path, library: list[IndexedFile]) -> TantivyIndex:
    index = await TantivyIndex.open(tmp_path / "search")
    for start in range(0, len(library), 1_000):  # several segments
        await index.apply(library[start : start + 1_000], [], watermark=start + 1_000)
    return index


QUERIES = [
    ("dark", None),  # one common word: ~1,000 matches, groups far larger than a page
    ("city", None),
    ("dark city", None),  # two, with their joined variant
    ("the man", None),
    ("dark dark", None),  # a word typed twice counts twice
    ("drak", None),  # a typo of a common word: every match is a typo match
    ("drak citty", None),
    ("nigth rivre", None),
    ("mono rivre", None),  # few typo matches: the joined variant's typo matches are added
    ("dark 2019", None),  # a filter
    ("stone", "fi"),  # inline: words and a prefix
    ("", "ri"),  # a prefix alone
    ("lost home web", None),  # a word found only outside titles
    ("dark city night river stone fire man", None),  # more words than are grouped
    ("epic", None),  # a group of long names, outranked by files of fewer points
    ("", "sa"),  # the prefix's points against names 30 terms longer
    ("saga", None),
    ("zzzz", None),  # nothing
]


@pytest.mark.parametrize(("text", "prefix"), QUERIES)
@pytest.mark.parametrize("limit", [500, 37, 1])
async def test_the_fast_ranking_is_the_exhaustive_one(
    index: TantivyIndex, library: list[IndexedFile], text: str, prefix: str | None, limit: int
) -> None:
    query = parse_query(f"{text} {prefix}" if prefix else text, prefix=prefix is not None)
    filters = Filters(query.kind, query.year, query.season, query.episode, query.resolution)
    for typos in (True, False):
        got = await index.rank(
            query.variants()[:3],
            words=query.terms,
            prefix=query.prefix,
            filters=filters,
            limit=limit,
            typos=typos,
            typos_while_below=10,
        )
        keys, kinds, total = _expected(library, query, limit, typos=typos, below=10)
        counted = got.total if total <= limit else got.total > limit  # exact up to the limit
        expected = (keys, kinds, total if total <= limit else True)
        assert (list(got.keys), list(got.kinds), counted) == expected, (text, prefix, typos)


async def test_the_library_takes_every_path(
    index: TantivyIndex, library: list[IndexedFile]
) -> None:
    """The reference test above is only worth what its library exercises."""
    dark = parse_query("dark")
    keys, _, total = _expected(library, dark, 500, typos=True, below=10)
    assert total > 500 > STORED_RANK_MAX  # ranked by group, and cut
    assert len(keys) == 500
    assert any(f.kind == "photo" for f in library)  # a kind without a code
    whole = [f for f in library if set(f.title) == {"dark"}]
    assert whole  # a title typed whole
    assert any(_title(f) != f.title for f in library)  # a title word the name lacks
    batch = [f for f in library if f.at == library[0].at]
    assert len(batch) == 40  # equal order values when their term counts are equal too
    drak = parse_query("drak")
    assert _expected(library, drak, 500, typos=False, below=10)[2] == 0
    assert _expected(library, drak, 500, typos=True, below=10)[2] > 500
    listed = await index.listings(keys[:10])
    assert [h.key for h in listed] == keys[:10]  # a page is listed by key, in order


@pytest.mark.parametrize("limit", [1, 37, 500])
async def test_more_files_tied_at_the_cut_than_one_read_takes(tmp_path: Path, limit: int) -> None:
    """A batch of files stored in the same millisecond with names of as many terms are tied at
    a group's cut: all of them are read (past `TIED_READ`, by a second query) and the keys
    decide, as in the exhaustive ranking."""
    batch = [
        _file(f"tied{n:05d}", f"tied x{n}", ("tied",), 1_700_000_000_000)
        for n in range(TIED_READ + 200)
    ]
    index = await TantivyIndex.open(tmp_path / "search")
    await index.apply(batch, [], watermark=len(batch))
    query = parse_query("tied")
    got = await index.rank(query.variants()[:3], words=query.terms, limit=limit, typos=False)
    keys, _, total = _expected(batch, query, limit, typos=False, below=10)
    assert list(got.keys) == keys
    assert total == len(batch)
    assert got.total > limit
    await index.close()


@pytest.fixture(scope="module")
def crowd() -> list[IndexedFile]:
    """Two words each in half of 10,000 files: a typo query of both is estimated at 2,500
    matches or more (as if they occurred apart). "north" and "west" do occur together (2,500
    files); "north" and "south" in three only, and 600 files have "south" with "nort" (a typo
    match of "north south", whose exact matches are those three)."""
    files = []
    for n in range(10_000):
        words = ["north" if n % 2 else "south", "west" if n % 4 < 2 else "east", f"x{n % 97}"]
        if n in (10, 20, 30):
            words.append("north" if words[0] == "south" else "south")
        title = tuple(words[: 1 + n % 2])
        files.append(_file(f"c{n:05d}", " ".join(words), title, 1_700_000_000_000 + n // 100))
    files.extend(
        _file(
            f"n{n:03d}",
            f"nort south y{n % 89}",
            ("nort", "south")[: 1 + n % 2],
            1_700_000_000_000 + n // 50,
        )
        for n in range(600)
    )
    return files


@pytest.mark.parametrize("text", ["nroth suoth", "nroth wset", "suoth", "north south"])
@pytest.mark.parametrize("limit", [500, 37, 1])
async def test_typo_matches_estimated_many_are_ranked_exactly(
    tmp_path: Path, crowd: list[IndexedFile], text: str, limit: int
) -> None:
    """A typo query estimated to match more than `TYPO_MANY` files is ranked group by group
    without a first pass that counts: exactly, whether the estimate was right ("nroth wset",
    2,500 matches) or far off ("nroth suoth", three), and with exact matches beside the typo
    matches ("north south": three, in groups whose titles have one of the words)."""
    index = await TantivyIndex.open(tmp_path / "search")
    for start in range(0, len(crowd), 2_500):
        await index.apply(crowd[start : start + 2_500], [], watermark=start + 2_500)
    query = parse_query(text)
    got = await index.rank(
        query.variants()[:3], words=query.terms, limit=limit, typos_while_below=10
    )
    keys, kinds, total = _expected(crowd, query, limit, typos=True, below=10)
    counted = got.total if total <= limit else got.total > limit
    assert (list(got.keys), list(got.kinds), counted) == (
        keys,
        kinds,
        total if total <= limit else True,
    )
    await index.close()


def test_the_crowd_is_estimated_many(crowd: list[IndexedFile]) -> None:
    """What the test above relies on: both typo queries are estimated above `TYPO_MANY`, one
    has more matches than are ranked from stored documents, the other few."""
    share = {w: sum(w in f.terms for f in crowd) / len(crowd) for w in ("north", "south", "west")}
    assert share["north"] * share["south"] * len(crowd) > TYPO_MANY
    assert share["north"] * share["west"] * len(crowd) > TYPO_MANY
    few = _expected(crowd, parse_query("nroth suoth"), 500, typos=True, below=10)[2]
    many = _expected(crowd, parse_query("nroth wset"), 500, typos=True, below=10)[2]
    both = parse_query("north south")
    exact = _expected(crowd, both, 500, typos=False, below=10)[2]
    assert few == exact == 3
    assert many > STORED_TYPO_MAX
    assert _expected(crowd, both, 500, typos=True, below=10)[2] - exact > STORED_TYPO_MAX
    assert any(f.id == "c00010" and f.title == ("south",) for f in crowd)


def _forms_library() -> list[IndexedFile]:
    """78 words one edit from "bakr" (more forms than `MAX_FORMS`: matched by tantivy's fuzzy
    query) and 20 one edit from "rvier" (matched by its forms' postings), each word in three
    files."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    near_bakr = [f"bak{c}" for c in letters] + [f"ba{c}r" for c in letters]
    near_bakr += [f"{c}akr" for c in letters]
    near_rvier = ["river"] + [f"rvie{c}" for c in letters[:10]] + [f"r{c}ier" for c in letters[:9]]
    files = []
    for n, word in enumerate(w for w in dict.fromkeys(near_bakr + near_rvier) for _ in range(3)):
        name = f"{word} night x{n % 7}"
        files.append(_file(f"w{n:04d}", name, (word, "night"), 1_700_000_000_000 + n))
    return files


@pytest.mark.parametrize("text", ["bakr", "bakr night", "rvier", "rvier night"])
async def test_typo_forms_past_deletes_and_past_max_forms(tmp_path: Path, text: str) -> None:
    """A typo word's forms come from the forms index, written before the files; a
    deleted file's terms keep their forms (they match nothing), and a word with more than
    `MAX_FORMS` forms is matched by tantivy's fuzzy query: the ranking is the exhaustive one."""
    files = _forms_library()
    forms = {t for f in files for t in f.terms}
    assert sum(OSA.distance("bakr", t) <= 1 for t in forms) > MAX_FORMS
    assert 1 < sum(OSA.distance("rvier", t) <= 1 for t in forms) <= MAX_FORMS
    index = await TantivyIndex.open(tmp_path / "search")
    await index.apply(files, [], watermark=1)
    gone = [f.id for f in files if f.terms[0] in ("bakr", "river", "bakn", "rviea")]
    await index.apply([], gone, watermark=2)
    left = [f for f in files if f.id not in gone]
    query = parse_query(text)
    for limit in (500, 37, 1):
        got = await index.rank(
            query.variants()[:3], words=query.terms, limit=limit, typos_while_below=10
        )
        keys, kinds, total = _expected(left, query, limit, typos=True, below=10)
        assert (list(got.keys), list(got.kinds), got.total) == (keys, kinds, total)
    await index.close()


async def test_forms_of_a_batch_never_committed_are_written_with_it_again(
    tmp_path: Path,
) -> None:
    """A batch left uncommitted when the writers close is gone, its forms with it: the
    same batch applied again writes them again (its typos find it)."""
    files = _forms_library()[:9]
    index = await TantivyIndex.open(tmp_path / "search")
    await index.apply(files, [], watermark=1, commit=False)
    await index.close()
    await index.apply(files, [], watermark=1)
    query = parse_query(f"{files[0].terms[0][:-2]}{files[0].terms[0][-1]}{files[0].terms[0][-2]}")
    got = await index.rank(query.variants()[:3], words=query.terms, limit=10)
    keys, _, total = _expected(files, query, 10, typos=True, below=0)
    assert total > 0
    assert (list(got.keys), got.total) == (keys, total)
    assert await index.documents() == len(files)
    await index.close()
