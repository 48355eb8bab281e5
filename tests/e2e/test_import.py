"""Importing an EvaMaria-family database: exact counts with malformed documents, resuming an
interrupted import, a second import adding nothing, files we already hold left alone, and the
imported files found by search and delivered (`python bot.py import`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.models import IncomingFile
from core.telegram.fileid import unique_id_of
from core.utils.errors import StorageError
from repositories import ALL_INDEXES
from repositories.files import MongoFileRepository
from repositories.foreign import MongoSourceFiles
from repositories.jobs import MongoJobRepository
from repositories.mongo import Database
from services.importer import Importer
from services.indexing import build_record
from testkit import BotHarness, DatabaseProxy
from testkit.clock import VirtualClock
from testkit.evamaria import evamaria_document, evamaria_file_id, telegram_file_id
from testkit.harness import _host_port, _proxiable
from tests.e2e.test_cli import run_bot


def evamaria_doc(n: int, name: str) -> dict[str, Any]:
    return evamaria_document(10_000 + n, name)


def library(count: int) -> tuple[list[dict[str, Any]], int]:
    """`count` documents, every 50th one malformed in one way or another; returns them and
    how many are malformed."""
    docs: list[dict[str, Any]] = []
    malformed = 0
    for n in range(count):
        doc = evamaria_doc(n, f"Show.Number.{n}.S01E{n % 20 + 1:02d}.720p.mkv")
        if n % 50 == 7:
            malformed += 1
            doc = [
                {**doc, "_id": f"not-a-file-id-{n}"},
                {**doc, "file_name": ""},
                {**doc, "file_size": "big"},
                {**doc, "file_type": "photo"},
            ][(n // 50) % 4]
        docs.append(doc)
    return docs, malformed


async def source_database(uri: str, name: str, docs: list[dict[str, Any]]) -> Database:
    source = Database(uri, name)
    await source.start()
    await source.drop()
    await source.collection("Telegram_files").insert_many(docs)
    return source


async def test_an_evamaria_database_imports_exactly_and_resumes(
    database: Database, mongo_uri: str
) -> None:
    await database.prepare(ALL_INDEXES)
    docs, malformed = library(2_000)
    source = await source_database(mongo_uri, "evamaria_2000", docs)
    files = MongoFileRepository(database)
    jobs = MongoJobRepository(database)
    clock = VirtualClock()

    def importer() -> Importer:  # each run is a new process in real life
        return Importer(files, jobs, clock, unique_id_of=unique_id_of, batch=300)

    try:
        reader = MongoSourceFiles(source, "Telegram_files")
        first = await importer().run(reader, "source-key", stop_after=3)  # stopped after 900
        assert (first.read, first.imported + first.malformed) == (900, 900)
        clock.advance(61)  # the stopped run's lease lapses (a killed process renews nothing)
        second = await importer().run(reader, "source-key")
        assert second.resumed_from == 900
        assert second.read == 2_000
        assert second.malformed == malformed
        assert second.imported == 2_000 - malformed
        assert second.duplicates == 0
        assert await files.count() == 2_000 - malformed
        reasons = {reason for _, reason in (*first.examples, *second.examples)}
        assert reasons <= {  # the first ten of each run are shown
            "not a Telegram file id",
            "no file name",
            "no valid file size",
            "file type 'photo' is not indexed",
        }

        again = await importer().run(reader, "source-key")  # a finished import, run again
        assert (again.read, again.imported, again.duplicates) == (2_000, 0, 2_000 - malformed)
        assert await files.count() == 2_000 - malformed
    finally:
        await source.drop()
        await source.close()


async def test_an_import_killed_before_its_checkpoint_reports_the_whole_import(
    mongo_uri: str,
) -> None:
    """Killed after a batch was written and before its checkpoint: the resumed run writes
    nothing twice and reports the totals of the whole import (its files, not duplicates)."""
    if not _proxiable(mongo_uri):
        pytest.skip("a replica-set TEST_DATABASE_URI: no proxy in front of it")
    docs = [evamaria_doc(n, f"Film.Number.{n}.2020.1080p.mkv") for n in range(3_000)]
    source = await source_database(mongo_uri, "evamaria_3000", docs)
    proxy = DatabaseProxy(*_host_port(mongo_uri))
    target = Database(await proxy.start(), f"test_{uuid.uuid4().hex[:12]}")
    await target.start()
    await target.prepare(ALL_INDEXES)
    files, jobs, clock = MongoFileRepository(target), MongoJobRepository(target), VirtualClock()
    reader = MongoSourceFiles(source, "Telegram_files")
    try:
        # The process dies at the checkpoint of the second batch: 2,000 files are stored.
        killed = proxy.stop_abruptly_at("update", collection="jobs", after=2)
        with pytest.raises(StorageError):
            await Importer(files, jobs, clock, unique_id_of=unique_id_of).run(reader, "key")
        assert killed.happened
        await proxy.restore()
        clock.advance(61)  # its lease lapses
        resumed = await Importer(files, jobs, clock, unique_id_of=unique_id_of).run(reader, "key")
        assert (resumed.read, resumed.imported, resumed.duplicates) == (3_000, 3_000, 0)
        assert resumed.resumed_from == 1_000
        assert await files.count() == 3_000
    finally:
        await target.drop()
        await target.close()
        await proxy.stop()
        await source.drop()
        await source.close()


async def test_imported_files_are_found_and_delivered(mongo_uri: str, tmp_path: Path) -> None:
    async with BotHarness(database_uri=mongo_uri) as bot:
        movies = bot.channel("Movies")
        await movies.post_video("Heat.1995.1080p.mkv")  # a file the bot already holds
        held = bot.telegram.documents
        (heat_id,) = list(held)
        heat = held[heat_id]
        ours = await bot.running.services.search.search("heat")
        theirs = [
            evamaria_doc(1, "Ronin.1998.720p.BluRay.mkv"),
            {  # the same file as our Heat post: a duplicate, and our record is left alone
                **evamaria_doc(2, "Heat.1995.mkv"),
                "_id": evamaria_file_id(telegram_file_id(heat.id, heat.access_hash)),
            },
            {**evamaria_doc(3, "Broken.mkv"), "_id": 42},
        ]
        ronin = bot.telegram.make_document(
            "Ronin.1998.720p.BluRay.mkv", 700_000_000, "video/x-matroska", "video"
        )
        theirs[0]["_id"] = evamaria_file_id(telegram_file_id(ronin.id, ronin.access_hash))
        source = await source_database(mongo_uri, "evamaria_small", theirs)
        try:
            env = {
                "DATABASE_URI": str(bot.upstream_uri),
                "DATABASE_NAME": bot.database_name,
            }
            args = ("import", "--from-uri", mongo_uri, "--from-db", "evamaria_small")
            result = await asyncio.to_thread(run_bot, tmp_path, *args, **env)
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith(
                "Imported 1 files from 3 documents: 1 duplicates (already here), 1 malformed;"
            )
            assert "malformed: 42: no file id" in result.stdout
            again = await asyncio.to_thread(run_bot, tmp_path, *args, **env)
            assert again.stdout.startswith("Imported 0 files from 3 documents: 2 duplicates")

            await bot.advance(6)  # the running bot's index catches up with the other process
            alice = bot.user(1001, "Alice")
            (results,) = await alice.send("ronin")
            assert results.text == "🔎 1 file for ronin"
            (delivered,) = await alice.click(results, "Ronin 1998")
            assert delivered.media is not None
            search = bot.running.services.search
            after = await search.records((await search.search("heat")).items)
            before = await search.records(ours.items)
            assert [f.chat_id for f in after] == [f.chat_id for f in before] == [movies.id]
        finally:
            await source.drop()
            await source.close()


async def test_a_wrong_collection_name_is_explained(mongo_uri: str, tmp_path: Path) -> None:
    source = await source_database(mongo_uri, "evamaria_named", [evamaria_doc(1, "A.mkv")])
    try:
        result = await asyncio.to_thread(
            run_bot,
            tmp_path,
            "import",
            "--from-uri",
            mongo_uri,
            "--from-db",
            "evamaria_named",
            "--from-collection",
            "files",
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "import_failed" in result.stderr
        assert "has these collections: Telegram_files" in result.stderr
        missing = await asyncio.to_thread(run_bot, tmp_path, "import")
        assert missing.returncode == 2
        assert "import needs --from-uri URI and --from-db NAME" in missing.stderr
    finally:
        await source.drop()
        await source.close()


async def test_an_unreachable_source_is_one_line_without_its_password(tmp_path: Path) -> None:
    uri = "mongodb://reader:s3cr3t-pass@127.0.0.1:1/?serverSelectionTimeoutMS=500"
    result = await asyncio.to_thread(
        run_bot, tmp_path, "import", "--from-uri", uri, "--from-db", "old"
    )
    assert result.returncode == 1
    assert "import_failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cr3t-pass" not in result.stderr + result.stdout


async def test_other_uploads_of_a_file_are_duplicates_across_batches(
    database: Database, mongo_uri: str
) -> None:
    """Each batch is looked up while the one before it is written: an upload of a file in the
    batch being written must still be recognised."""
    await database.prepare(ALL_INDEXES)
    names = ["Heat.1995.mkv", "Ronin.1998.mkv", "Heat.1995.mkv", "Heat.1995.mkv", "Thief.1981.mkv"]
    names += ["Ronin.1998.mkv", "Manhunter.1986.mkv", "Thief.1981.mkv", "Heat.1995.mkv"]
    docs = [evamaria_document(20_000 + n, name, size=700_000_000) for n, name in enumerate(names)]
    source = await source_database(mongo_uri, "evamaria_reuploads", docs)
    files = MongoFileRepository(database)
    try:
        for batch in (1, 2, 3, 4):
            await database.collection("files").delete_many({})
            await database.collection("jobs").delete_many({})
            importer = Importer(
                files,
                MongoJobRepository(database),
                VirtualClock(),
                unique_id_of=unique_id_of,
                batch=batch,
            )
            report = await importer.run(MongoSourceFiles(source, "Telegram_files"), f"b{batch}")
            assert (report.imported, report.duplicates) == (4, 5), batch
            assert await files.count() == 4
    finally:
        await source.drop()
        await source.close()


class _SourceWithAWriterBeside:
    """An EvaMaria collection read page by page while "a running bot" stores a file of its
    own (with the name and size of a later source document) before the second page."""

    def __init__(self, source: MongoSourceFiles, write: Any) -> None:
        self._source = source
        self._write = write

    async def count(self) -> int:
        return await self._source.count()

    async def pages(self, after: Any, batch: int) -> AsyncIterator[list[Mapping[str, Any]]]:
        n = 0
        async for page in self._source.pages(after, batch):
            if n == 1:
                await self._write()
            n += 1
            yield page


async def test_files_another_writer_stores_during_an_import_are_known_as_duplicates(
    database: Database, mongo_uri: str
) -> None:
    """The stored files' names and sizes are read once at the start; a bot indexing a channel
    meanwhile is noticed from the change counter, and its files count as already held."""
    await database.prepare(ALL_INDEXES)
    names = [f"Film.{n}.2001.mkv" for n in range(8)] + ["Collateral.2004.mkv"]
    docs = [evamaria_document(30_000 + n, name, size=900_000_000) for n, name in enumerate(names)]
    source = await source_database(mongo_uri, "evamaria_beside", docs)
    files = MongoFileRepository(database)
    clock = VirtualClock()
    posted = build_record(
        IncomingFile(
            unique_id="posted-by-the-bot",
            file_id=telegram_file_id(31_000, 77),
            file_name="Collateral.2004.mkv",
            file_size=900_000_000,
            mime_type="video/x-matroska",
            caption=None,
            chat_id=-100123,
            message_id=7,
        ),
        clock.now(),
        pending=False,
    )
    assert posted is not None

    async def bot_indexes_a_post() -> None:
        await files.save_many([posted])

    try:
        importer = Importer(
            files, MongoJobRepository(database), clock, unique_id_of=unique_id_of, batch=3
        )
        reader = _SourceWithAWriterBeside(
            MongoSourceFiles(source, "Telegram_files"), bot_indexes_a_post
        )
        report = await importer.run(reader, "beside")
        assert (report.imported, report.duplicates) == (8, 1)
        stored = (
            await database.collection("files")
            .find({"file_name": "Collateral.2004.mkv"})
            .to_list(None)
        )
        assert [d["_id"] for d in stored] == ["posted-by-the-bot"]
    finally:
        await source.drop()
        await source.close()
