"""Schema migrations: each upgrades a database in place to the version it is registered under.

They run at start-up (`Database.prepare(..., MIGRATIONS)`), before the bot serves anyone, on a
client without the per-operation timeout. Each works in batches and records a checkpoint in the
`schema` collection after every batch, so a process stopped half-way resumes where it was; every
batch is idempotent, so a batch done twice (stopped between its writes and its checkpoint) is
harmless. The version is recorded only when a migration has finished.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure

from core.logging import get_logger
from core.search.normalize import name_terms
from repositories.files import CAPTION_LIMIT, name_hash
from repositories.mongo import Database, Migration, storage_errors

__all__ = ["MIGRATIONS", "lean_files"]

log = get_logger(__name__)

BATCH = 500  # at most MAX_IN_FLIGHT change numbers reserved at once
# What schema v1 stored for search in MongoDB, and now lives in the full-text index on disk.
_V1_FIELDS = ("terms", "title_terms", "pairs", "joined", "name_key")
_V1_INDEXES = ("terms_1", "pairs_1", "name_key_1", "name_key_1_file_size_1")
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


MIGRATIONS: dict[int, Migration] = {2: lean_files}
"""Schema version → the migration that upgrades a database to it."""
