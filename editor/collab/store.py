"""Durable documents: an append-only update log, compacted into one snapshot per doc.

Writers only ever insert log rows. Compaction folds the rows it read into the snapshot and
deletes exactly those rows, in one transaction, under a lock on the snapshot row; rows
appended meanwhile (by any process) are left for the next compaction. Readers read the
log before the snapshot, so a compaction between the two reads gives them some updates
twice (harmless: updates are idempotent) and never a gap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.utils import timezone
from pycrdt import Doc, get_update

from editor.collab.documents import base_update, document_lock, text_of
from editor.collab.models import DocSnapshot, DocUpdate
from editor.core.errors import NotFound

_DELETE_CHUNK = 500
# Doc ids per `IN (...)`: well under SQLite's and PostgreSQL's bound-parameter limits.
_IDS_CHUNK = 500


@dataclass(frozen=True)
class Compaction:
    merged: int  # log rows folded into the snapshot and deleted
    kept: int  # rows left in the log (appended meanwhile, or not yet integrable)
    snapshot_bytes: int
    text: str | None = None  # the compacted text (None when there was nothing to fold)


def updates_append(*, doc_id: UUID, updates: list[bytes]) -> None:
    """Append updates to the log in one transaction (a batch of concurrent keystrokes)."""
    DocUpdate.objects.bulk_create([DocUpdate(doc_id=doc_id, data=update) for update in updates])


def updates_append_many(*, rows: list[tuple[UUID, bytes]]) -> None:
    """Append (doc_id, update) rows of many documents (the writer's group commit).

    Up to ROWS_PER_INSERT rows are one statement (atomic by itself); the caller holds a
    transaction around more. Rows keep their order, so each document's updates
    are logged in the order they arrived. This runs once per keystroke batch, so it is
    one parameterised multi-row INSERT rather than bulk_create (which builds a model
    instance and compiles the statement per call: ~2/3 of the commit's Python time in
    py-spy). Values go through the fields' own conversion, as the ORM's would.
    """
    if not rows:
        return
    # The thread's own connection, looked up once: each attribute read through the
    # `django.db.connection` proxy is a context-local lookup.
    db = connections[DEFAULT_DB_ALIAS]
    now = _created_at.get_db_prep_value(timezone.now(), db)
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        params: list[Any] = []
        for doc_id, update in chunk:
            params += [
                _doc_id.get_db_prep_value(doc_id, db),
                _data.get_db_prep_value(update, db),
                now,
            ]
        with db.cursor() as cursor:
            cursor.execute(_insert_sql(len(chunk)), params)


_doc_id = DocUpdate._meta.get_field("doc_id")
_data = DocUpdate._meta.get_field("data")
_created_at = DocUpdate._meta.get_field("created_at")
# Rows per INSERT: 3 parameters each, well under SQLite's (32,766) and PostgreSQL's limit.
ROWS_PER_INSERT = 500


@functools.cache
def _insert_sql(count: int) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in (_doc_id, _data, _created_at))
    values = ", ".join(["(%s, %s, %s)"] * count)
    # Names from the model, values only as parameters.
    return f"INSERT INTO {quote(DocUpdate._meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608


def document_load(*, doc_id: UUID) -> list[bytes]:
    """Every stored update of a document (snapshot last), or [] when nothing is stored."""
    rows = [bytes(data) for data in _log(doc_id).values_list("data", flat=True)]
    snapshot = DocSnapshot.objects.filter(doc_id=doc_id).values_list("data", flat=True).first()
    return rows + ([bytes(snapshot)] if snapshot is not None else [])


def documents_load(*, doc_ids: Iterable[UUID]) -> dict[UUID, list[bytes]]:
    """Stored updates of many documents (snapshot first), one query per 500 docs.

    Docs with nothing stored are absent. The log and the snapshots are read in one
    statement (UNION ALL), so a concurrent compaction cannot hide rows between two reads.
    """
    found: dict[UUID, list[tuple[int, bytes]]] = {}
    ids = list(dict.fromkeys(doc_ids))
    for start in range(0, len(ids), _IDS_CHUNK):
        chunk = ids[start : start + _IDS_CHUNK]
        # order_by(): no ORDER BY inside a UNION (DocUpdate is ordered by default).
        log = (
            DocUpdate.objects.filter(doc_id__in=chunk)
            .order_by()
            .values_list("doc_id", "id", "data")
        )
        snapshots = (
            DocSnapshot.objects.filter(doc_id__in=chunk)
            .order_by()
            .annotate(seq=models.Value(-1, output_field=models.BigIntegerField()))
            .values_list("doc_id", "seq", "data")
        )
        for doc_id, seq, data in log.union(snapshots, all=True):
            found.setdefault(_uuid(doc_id), []).append((seq, bytes(data)))
    # Snapshot (-1) first, then the log in order: fewest pending structs while applying.
    return {doc_id: [data for _, data in sorted(rows)] for doc_id, rows in found.items()}


def document_has_state(*, doc_id: UUID) -> bool:
    """Whether the document has collaborative state (it was opened or written live)."""
    # The log before the snapshot: compaction moves rows from one to the other.
    return (
        DocUpdate.objects.filter(doc_id=doc_id).exists()
        or DocSnapshot.objects.filter(doc_id=doc_id).exists()
    )


def documents_with_state(*, doc_ids: Iterable[UUID]) -> set[UUID]:
    """The subset of `doc_ids` that has collaborative state."""
    ids = list(dict.fromkeys(doc_ids))
    found: set[UUID] = set()
    for start in range(0, len(ids), _IDS_CHUNK):
        chunk = ids[start : start + _IDS_CHUNK]
        log = DocUpdate.objects.filter(doc_id__in=chunk).order_by().values_list("doc_id", flat=True)
        snapshots = (
            DocSnapshot.objects.filter(doc_id__in=chunk).order_by().values_list("doc_id", flat=True)
        )
        found.update(_uuid(doc_id) for doc_id in log.union(snapshots))
    return found


def document_load_or_init(*, doc_id: UUID, text: str, file_required: bool = False) -> list[bytes]:
    """The stored updates, or (first open ever) the file's text as the stored base update.

    The base is made under a lock on the file's row, from the row's text as it is then:
    a write through `doc_text_replace` (which takes the same lock) either lands before
    it (and is the base) or finds the state and writes an update on top. `text` is used
    when there is no file row, unless `file_required` (then the file was deleted: NotFound).
    """
    updates = document_load(doc_id=doc_id)
    if updates:
        return updates
    with transaction.atomic():
        info = document_lock(doc_id=doc_id)
        if info is None and file_required:
            raise NotFound("This file was deleted.")
        updates = document_load(doc_id=doc_id)
        if updates:
            return updates
        # Two processes may both get here (SQLite has no row locks): they write the same
        # deterministic update twice.
        base = base_update(info.text if info is not None else text)
        updates_append(doc_id=doc_id, updates=[base])
        return [base]


def document_text_stored(*, doc_id: UUID) -> str | None:
    """The text as the store has it, or None when nothing is stored for this doc."""
    updates = document_load(doc_id=doc_id)
    if not updates:
        return None
    doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return text_of(doc)


def document_compact(*, doc_id: UUID) -> Compaction:
    """Fold the log into the snapshot; delete only the rows that were folded in."""
    try:
        with transaction.atomic():
            snapshot = DocSnapshot.objects.select_for_update().filter(doc_id=doc_id).first()
            rows = [(pk, bytes(data)) for pk, data in _log(doc_id).values_list("id", "data")]
            if not rows:
                size = len(snapshot.data) if snapshot else 0
                return Compaction(merged=0, kept=0, snapshot_bytes=size)
            doc = Doc()
            if snapshot is not None:
                doc.apply_update(bytes(snapshot.data))
            for _, data in rows:
                doc.apply_update(data)
            state = doc.get_state()
            merged_state = doc.get_update()
            # A row whose structs the document could not integrate (it depends on an update
            # the server never received) is missing from get_update(): keep it in the log.
            merged_ids = [pk for pk, data in rows if get_update(data, state)[:1] == b"\x00"]
            if snapshot is None:
                DocSnapshot.objects.create(
                    doc_id=doc_id, data=merged_state, merged_updates=len(merged_ids)
                )
            else:
                snapshot.data = merged_state
                snapshot.merged_updates += len(merged_ids)
                snapshot.save(update_fields=["data", "merged_updates", "updated_at"])
            # Delete by exact id, not "id <= max": on PostgreSQL a row with a smaller id can
            # commit after this transaction read the log, and it was not merged.
            for start in range(0, len(merged_ids), _DELETE_CHUNK):
                DocUpdate.objects.filter(pk__in=merged_ids[start : start + _DELETE_CHUNK]).delete()
            return Compaction(
                merged=len(merged_ids),
                kept=len(rows) - len(merged_ids),
                snapshot_bytes=len(merged_state),
                text=text_of(doc),
            )
    except IntegrityError:
        # Another process created the first snapshot at the same moment and rolled us back;
        # its compaction covers what ours would have.
        return Compaction(merged=0, kept=_log(doc_id).count(), snapshot_bytes=0)


def store_size(*, doc_id: UUID) -> int:
    """Bytes stored for a document: snapshot plus log."""
    snapshot = DocSnapshot.objects.filter(doc_id=doc_id).values_list("data", flat=True).first()
    log = sum(len(bytes(data)) for data in _log(doc_id).values_list("data", flat=True))
    return log + (len(bytes(snapshot)) if snapshot is not None else 0)


def log_length(*, doc_id: UUID) -> int:
    return _log(doc_id).count()


@transaction.atomic
def document_forget(*, doc_id: UUID) -> None:
    """Drop a document's stored history (its file was deleted)."""
    DocUpdate.objects.filter(doc_id=doc_id).delete()
    DocSnapshot.objects.filter(doc_id=doc_id).delete()


@transaction.atomic
def documents_forget(*, doc_ids: Iterable[UUID]) -> None:
    """`document_forget` for many documents (a folder was deleted), 500 per statement."""
    ids = list(dict.fromkeys(doc_ids))
    for start in range(0, len(ids), _IDS_CHUNK):
        chunk = ids[start : start + _IDS_CHUNK]
        DocUpdate.objects.filter(doc_id__in=chunk).delete()
        DocSnapshot.objects.filter(doc_id__in=chunk).delete()


def _log(doc_id: UUID):
    return DocUpdate.objects.filter(doc_id=doc_id).order_by("id")


def _uuid(value: UUID | str) -> UUID:
    # SQLite hands UUIDs back as hex strings from a UNION (no field to convert them).
    return value if isinstance(value, UUID) else UUID(str(value))
