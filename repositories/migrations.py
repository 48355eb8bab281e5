"""Schema migrations: each upgrades a database in place to the version it is registered under.

They run at start-up (`Database.prepare(..., MIGRATIONS)`), before the bot serves anyone, on a
client without the per-operation timeout. Each works in batches and records a checkpoint in the
`schema` collection after every batch, so a process stopped half-way resumes where it was; every
batch is idempotent, so a batch done twice (stopped between its writes and its checkpoint) is
harmless. The version is recorded only when a migration has finished.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import Counter
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure

from core.logging import get_logger
from core.reuploads import name_hash
from core.search.normalize import index_terms, joined_pairs, name_terms, strip_extension, tokenize
from repositories.files import CAPTION_LIMIT
from repositories.mongo import Database, Migration, storage_errors

__all__ = ["DOWNGRADES", "MIGRATIONS", "lean_files", "restore_search_arrays"]

log = get_logger(__name__)

BATCH = 500  # at most MAX_IN_FLIGHT change numbers reserved at once
# What schema v1 stored for search in MongoDB, and now lives in the full-text index on disk.
_V1_FIELDS = ("terms", "title_terms", "pairs", "joined", "name_key")
_V1_INDEXES = ("terms_1", "pairs_1", "name_key_1", "name_key_1_file_size_1")
_V1_INDEX_KEYS: dict[str, list[tuple[str, int]]] = {
    "terms_1": [("terms", 1)],
    "pairs_1": [("pairs", 1)],
    "name_key_1": [("name_key", 1)],
    "name_key_1_file_size_1": [("name_key", 1), ("file_size", 1)],
}
_V2_INDEXES = ("dup_1", "meta_1")  # what v2 added to `files` (v1 never reads `dup`, `meta`)
_OPTIONAL = (
    "mime_type",
    "caption",
    "year",
    "season",
    "episode",
    "resolution",
    "quality",
    "language",
    "premium",
)


async def lean_files(
    database: Database, *, batch: int = BATCH, stop_after: int | None = None
) -> None:
    """v1 → v2: lean file documents.

    Per file: the search arrays and `name_key` removed, `dup` (the name's 8-byte digest) added,
    empty optional fields removed, the caption cut to what Telegram shows, a change number given
    to files that have none, and the file marked for the accurate metadata parser (names indexed
    before the parser's season/episode were used as episode markers get them now). Then the
    `vocab` collection and the v1 indexes are dropped. `stop_after`: batches to do before
    returning early (tests of resuming).

    One pass of one cursor over the collection (a range with a sort would make the embedded
    server scan and sort the collection for every batch). A resumed run passes over the files
    again and skips those already lean, so resuming costs a read of the collection, not a
    rewrite of it.
    """
    files = database.collection("files")
    checkpoints = database.collection("schema")
    with storage_errors("migration.checkpoint"):
        state = await checkpoints.find_one({"_id": "migration-2"}) or {}
    done = int(state.get("done", 0))
    if state:
        log.info("schema_migration_resumed", to_version=2, files=done)
    started = time.monotonic()
    batches = 0
    pending: list[dict[str, Any]] = []
    with storage_errors("migration.read"):
        async for doc in files.find({}, batch_size=batch):
            if "dup" in doc and not any(field in doc for field in _V1_FIELDS):
                continue  # done by an earlier run
            pending.append(doc)
            if len(pending) < batch:
                continue
            done = await _migrate_batch(database, pending, done, started)
            pending = []
            batches += 1
            if stop_after is not None and batches >= stop_after:
                return
    if pending:
        done = await _migrate_batch(database, pending, done, started)
    with storage_errors("migration.drop_vocab"):
        await database.collection("vocab").drop()
    for name in _V1_INDEXES:
        with contextlib.suppress(OperationFailure):  # already gone (a resumed migration)
            await files.drop_index(name)
    with storage_errors("migration.checkpoint"):
        await checkpoints.delete_one({"_id": "migration-2"})
    log.info("schema_migration_done", to_version=2, files=done)


async def _migrate_batch(
    database: Database, docs: list[dict[str, Any]], done: int, started: float
) -> int:
    unnumbered = [d for d in docs if "seq" not in d]
    number = await _reserve(database, len(unnumbered)) if unnumbered else 0
    operations = []
    for doc in docs:
        update = _lean(doc)
        seq = doc.get("seq")
        if seq is None:
            seq = number
            update["$set"]["seq"] = seq
            number += 1
        update["$set"]["meta"] = seq  # the metadata parser finds it by this number
        operations.append(UpdateOne({"_id": doc["_id"]}, update))
    with storage_errors("migration.write"):
        await database.collection("files").bulk_write(operations, ordered=False)
    done += len(docs)
    with storage_errors("migration.checkpoint"):
        await database.collection("schema").update_one(
            {"_id": "migration-2"}, {"$set": {"done": done}}, upsert=True
        )
    log.info(
        "schema_migration_progress",
        to_version=2,
        files=done,
        per_second=round(done / max(time.monotonic() - started, 1e-9)),
    )
    return done


def _lean(doc: dict[str, Any]) -> dict[str, Any]:
    """The update that makes one v1 document lean (idempotent: a v2 document stays as it is,
    except that it is marked for the metadata parser again)."""
    name = str(doc.get("file_name") or "file")
    _, key = name_terms(name)
    values: dict[str, Any] = {"dup": name_hash(key)}
    unset = {field: "" for field in _V1_FIELDS if field in doc}
    unset.update({field: "" for field in _OPTIONAL if field in doc and doc[field] is None})
    caption = doc.get("caption")
    if isinstance(caption, str) and len(caption) > CAPTION_LIMIT:
        values["caption"] = caption[:CAPTION_LIMIT]
    if not doc.get("title"):
        unset["title"] = ""
    update: dict[str, Any] = {"$set": values}
    if unset:
        update["$unset"] = unset
    return update


async def _reserve(database: Database, count: int) -> int:
    with storage_errors("counters.files"):
        doc = await database.collection("counters").find_one_and_update(
            {"_id": "files"},
            {"$inc": {"seq": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    return int(doc["seq"]) - count + 1


async def restore_search_arrays(
    database: Database, *, batch: int = BATCH, stop_after: int | None = None
) -> None:
    """v2 → v1: the search arrays and the `vocab` collection again (rolling back to a release
    before issue #12).

    Per file: `terms`, `title_terms`, `pairs`, `joined` and `name_key` written back exactly as
    v1 derived them from the name (the tokenizer has not changed), `dup` and `meta` removed;
    then `vocab` rebuilt from the arrays (files per term, files where it is only a joined
    word) and the v1 indexes created, v2's dropped. Change numbers stay, so the full-text
    index on disk stays valid for a later upgrade. What v2 dropped for good stays dropped:
    captions past Telegram's limit, optional fields that were empty (v1 reads both as absent).

    Resumable like the upgrade: a file that has its arrays already is only counted again.
    `stop_after`: batches to write before returning early (tests of resuming).
    """
    files = database.collection("files")
    df: Counter[str] = Counter()
    jdf: Counter[str] = Counter()
    started = time.monotonic()
    done = batches = 0
    operations: list[UpdateOne] = []
    with storage_errors("migration.read"):
        async for doc in files.find({}, batch_size=batch):
            if "terms" in doc and not {"dup", "meta"} & set(doc):
                df.update(doc["terms"])
                jdf.update(doc.get("joined", ()))
                continue  # done by an earlier run
            arrays = _v1_arrays(doc)
            df.update(arrays["terms"])
            jdf.update(arrays["joined"])
            operations.append(
                UpdateOne({"_id": doc["_id"]}, {"$set": arrays, "$unset": {"dup": "", "meta": ""}})
            )
            if len(operations) < batch:
                continue
            done = await _write_back(database, operations, done, started)
            operations = []
            batches += 1
            if stop_after is not None and batches >= stop_after:
                return
    if operations:
        done = await _write_back(database, operations, done, started)
    vocab = database.collection("vocab")
    with storage_errors("migration.vocab"):
        await vocab.drop()
        terms = [{"_id": t, "df": n, "jdf": jdf.get(t, 0)} for t, n in df.items()]
        for start in range(0, len(terms), 10_000):
            await vocab.insert_many(terms[start : start + 10_000], ordered=False)
    for name in _V2_INDEXES:
        with contextlib.suppress(OperationFailure):  # already gone (a resumed migration)
            await files.drop_index(name)
    with storage_errors("migration.indexes"):
        for name, keys in _V1_INDEX_KEYS.items():
            await files.create_index(keys, name=name)
    log.info("schema_migration_done", to_version=1, files=done, terms=len(df))


def _v1_arrays(doc: dict[str, Any]) -> dict[str, Any]:
    """What v1 stored for search, derived from the name and the title as v1 did."""
    tokens = tokenize(strip_extension(str(doc.get("file_name") or "file")))
    words = set(tokens)
    return {
        "terms": index_terms(tokens),
        "title_terms": tokenize(str(doc.get("title") or "")),
        "pairs": [f"{a}+{b}" for a, b in itertools.combinations(sorted(words), 2)],
        "joined": [t for t in joined_pairs(tokens) if t not in words],
        "name_key": " ".join(tokens),
    }


async def _write_back(
    database: Database, operations: list[UpdateOne], done: int, started: float
) -> int:
    with storage_errors("migration.write"):
        await database.collection("files").bulk_write(operations, ordered=False)
    done += len(operations)
    log.info(
        "schema_migration_progress",
        to_version=1,
        files=done,
        per_second=round(done / max(time.monotonic() - started, 1e-9)),
    )
    return done


MIGRATIONS: dict[int, Migration] = {2: lean_files}
"""Schema version → the migration that upgrades a database to it."""

DOWNGRADES: dict[int, Migration] = {2: restore_search_arrays}
"""Schema version → the migration that takes a database from it back to the version before
(`python bot.py migrate --down N`)."""
