"""The document store: SQLite, the source of truth for documents, passages and vectors.

Why SQLite: one file, transactions, WAL mode so that searches keep reading while an
ingest writes, and it survives SIGKILL. The full-text index is derived from it and
can always be rebuilt from it.

Consistency protocol (a document is visible in all indexes or in none):
1. ``put_pending``: document, passages, vectors and citations are written in one
   transaction with ``state = PENDING``; nothing reads pending rows.
2. the caller indexes the documents in the lexical backend and commits it;
3. ``mark_live``: ``state = LIVE`` in one transaction, and the generation counter
   moves on (the vector cache reloads on a new generation).
Deletion runs the same way with ``state = DELETING``. A crash between the steps
leaves PENDING or DELETING rows, which :meth:`Store.unfinished` lists so that the
next writer (or ``kb check``) completes or undoes them.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .errors import DocumentNotFoundError, SchemaVersionError, StoreError
from .models import Document, Filters, Passage

SCHEMA_VERSION = "1"
PENDING, LIVE, DELETING = 0, 1, 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    state INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    source_path TEXT,
    doc_type TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    authority INTEGER,
    year INTEGER,
    court TEXT,
    categories TEXT NOT NULL,
    law_name TEXT,
    version TEXT,
    date TEXT,
    body TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS documents_state ON documents(state);
-- documents_state only serves the unfinished-work scan (few rows). Queries with a
-- selective key write "+state" so SQLite never walks every live row through it.
CREATE INDEX IF NOT EXISTS documents_law ON documents(law_name);
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    anchor TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    embed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE TABLE IF NOT EXISTS vectors (
    passage_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    vec BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_doc ON vectors(doc_id);
CREATE TABLE IF NOT EXISTS citations (
    doc_id TEXT NOT NULL,
    key TEXT NOT NULL,
    law TEXT NOT NULL,
    label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS citations_key ON citations(key);
CREATE INDEX IF NOT EXISTS citations_doc ON citations(doc_id);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    doc_ids TEXT NOT NULL,
    ingested_at REAL NOT NULL
);
"""


class Store:
    """SQLite-backed store.

    Each thread gets its own connection (the app serves every browser session from
    one Store in several threads); WAL mode lets those readers go on while one
    connection writes.
    """

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise StoreError(f"no document store at {self.path}")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        if not readonly:
            self.db.executescript(_SCHEMA)
            self._check_schema()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _check_schema(self) -> None:
        found = self.get_meta("schema_version")
        if found is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif found != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has schema version {found}; this ipkb reads {SCHEMA_VERSION}: rebuild with --rebuild")

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- meta -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # --- writing ----------------------------------------------------------------
    def put_pending(self, items: Sequence[tuple[Document, Sequence[Passage], np.ndarray | None]]) -> None:
        """Step 1 of the protocol: write documents with all they own, invisible for now."""
        now = time.time()
        with self.transaction() as db:
            for doc, passages, vectors in items:
                self._delete_rows(db, doc.id)
                db.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (doc.id, PENDING, doc.content_hash, doc.source_path, doc.doc_type, doc.title, doc.status,
                     doc.authority, doc.year, doc.court, "|".join(doc.ip_categories),
                     doc.law_name, doc.version, doc.date, json.dumps(doc.to_dict(), ensure_ascii=False), now))
                db.executemany(
                    "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)",
                    [(p.id, doc.id, p.ordinal, p.anchor, p.kind, p.title, p.text, int(p.embed)) for p in passages])
                db.executemany(
                    "INSERT INTO citations VALUES (?,?,?,?)",
                    [(doc.id, c.key, c.law, c.label) for c in doc.citations])
                if vectors is not None:
                    embedded = [p for p in passages if p.embed]
                    if len(embedded) != len(vectors):
                        raise StoreError(f"{doc.id}: {len(embedded)} passages to embed but {len(vectors)} vectors")
                    db.executemany(
                        "INSERT INTO vectors VALUES (?,?,?)",
                        [(p.id, doc.id, np.asarray(v, dtype=np.float32).tobytes()) for p, v in zip(embedded, vectors)])

    def mark_live(self, doc_ids: Iterable[str]) -> None:
        """Step 3: the documents become visible everywhere at once."""
        with self.transaction() as db:
            db.executemany("UPDATE documents SET state = ? WHERE id = ?", [(LIVE, i) for i in doc_ids])
            self._bump(db)

    def mark_deleting(self, doc_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE documents SET state = ? WHERE id = ?", [(DELETING, i) for i in doc_ids])
            self._bump(db)

    def purge(self, doc_ids: Iterable[str]) -> None:
        """Remove documents and everything they own (after the lexical index dropped them)."""
        with self.transaction() as db:
            for doc_id in doc_ids:
                self._delete_rows(db, doc_id)
            self._bump(db)

    @staticmethod
    def _delete_rows(db: sqlite3.Connection, doc_id: str) -> None:
        for table, col in (("documents", "id"), ("passages", "doc_id"), ("vectors", "doc_id"), ("citations", "doc_id")):
            db.execute(f"DELETE FROM {table} WHERE {col} = ?", (doc_id,))

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO meta(key, value) VALUES ('generation', '1') "
                   "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_write', ?)", (str(time.time()),))

    def record_source(self, path: str, file_hash: str, doc_ids: Sequence[str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO sources VALUES (?,?,?,?)",
                        (path, file_hash, json.dumps(list(doc_ids), ensure_ascii=False), time.time()))

    def forget_source(self, path: str) -> None:
        self.db.execute("DELETE FROM sources WHERE path = ?", (path,))

    # --- reading ----------------------------------------------------------------
    def source(self, path: str) -> tuple[str, list[str]] | None:
        row = self.db.execute("SELECT file_hash, doc_ids FROM sources WHERE path = ?", (path,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def sources(self) -> dict[str, list[str]]:
        return {p: json.loads(ids) for p, ids in self.db.execute("SELECT path, doc_ids FROM sources")}

    def get(self, doc_id: str, *, include_hidden: bool = False) -> Document:
        row = self.db.execute("SELECT body, state FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None or (row[1] != LIVE and not include_hidden):
            raise DocumentNotFoundError(f"no document {doc_id!r}")
        return Document.from_dict(json.loads(row[0]))

    def state_of(self, doc_id: str) -> int | None:
        row = self.db.execute("SELECT state FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def content_hash_of(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT content_hash FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def find_by_hash(self, content_hash: str) -> str | None:
        row = self.db.execute("SELECT id FROM documents WHERE content_hash = ? AND +state = ?",
                              (content_hash, LIVE)).fetchone()
        return row[0] if row else None

    def live_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM documents WHERE state = ?", (LIVE,))}

    def unfinished(self) -> dict[int, list[str]]:
        """Documents a crashed writer left PENDING or DELETING."""
        out: dict[int, list[str]] = {PENDING: [], DELETING: []}
        for doc_id, state in self.db.execute("SELECT id, state FROM documents WHERE state != ?", (LIVE,)):
            out[state].append(doc_id)
        return out

    def iter_documents(self, *, state: int = LIVE) -> Iterator[Document]:
        for (body,) in self.db.execute("SELECT body FROM documents WHERE state = ? ORDER BY id", (state,)):
            yield Document.from_dict(json.loads(body))

    def summaries(self, doc_ids: Sequence[str]) -> dict[str, dict]:
        """Light metadata for many documents (no body), for rendering hits."""
        out: dict[str, dict] = {}
        for chunk in _chunks(list(doc_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                    f"SELECT id, doc_type, title, status, authority, year, court, categories FROM documents "
                    f"WHERE id IN ({marks}) AND +state = {LIVE}", chunk):
                out[row[0]] = {"doc_type": row[1], "title": row[2], "status": row[3], "authority": row[4],
                               "year": row[5], "court": row[6],
                               "ip_categories": tuple(c for c in row[7].split("|") if c)}
        return out

    _PASSAGE_COLUMNS = "id, doc_id, anchor, kind, title, text, ordinal, embed"

    def passages(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute(f"SELECT {self._PASSAGE_COLUMNS} FROM passages WHERE doc_id = ? ORDER BY ordinal",
                               (doc_id,))
        return [_passage(r) for r in rows]

    def passages_for_snippet(self, doc_id: str, terms: Sequence[str], *, prefer: str | None = None,
                             limit: int = 30) -> list[Passage]:
        """The passages of a document worth choosing a snippet from: those containing a
        term (SQLite scans one document's rows, so a 450-article law costs no JSON
        parsing in Python), else the preferred passage, else the first ones."""
        terms = [t for t in dict.fromkeys(terms) if t][:16]
        sql = f"SELECT {self._PASSAGE_COLUMNS} FROM passages WHERE doc_id = ?"
        args: list = [doc_id]
        if terms:
            sql += " AND (" + " OR ".join("instr(lower(text), ?) > 0" for _ in terms) + ")"
            args += [t.lower() for t in terms]
        rows = self.db.execute(sql + " ORDER BY ordinal LIMIT ?", (*args, limit)).fetchall()
        if not rows and prefer:
            rows = self.db.execute(f"SELECT {self._PASSAGE_COLUMNS} FROM passages WHERE id = ?", (prefer,)).fetchall()
        if not rows:
            rows = self.db.execute(f"SELECT {self._PASSAGE_COLUMNS} FROM passages WHERE doc_id = ? "
                                   "ORDER BY embed DESC, ordinal LIMIT 3", (doc_id,)).fetchall()
        return [_passage(r) for r in rows]

    def passage_vectors(self, doc_id: str) -> tuple[list[str], np.ndarray]:
        rows = self.db.execute("SELECT passage_id, vec FROM vectors WHERE doc_id = ?", (doc_id,)).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def all_vectors(self) -> tuple[list[str], list[str], np.ndarray]:
        """Every live passage vector: (passage ids, doc ids, matrix)."""
        rows = self.db.execute(
            "SELECT v.passage_id, v.doc_id, v.vec FROM vectors v JOIN documents d ON d.id = v.doc_id "
            "WHERE d.state = ? ORDER BY v.rowid", (LIVE,)).fetchall()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], [r[1] for r in rows], matrix

    def vector_doc_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT doc_id FROM vectors")}

    def citing(self, key: str) -> list[str]:
        """Live documents that cite an article key (``反不正当竞争法#9``) or a bare law name."""
        rows = self.db.execute(
            "SELECT DISTINCT c.doc_id FROM citations c JOIN documents d ON d.id = c.doc_id "
            "WHERE c.key = ? AND +d.state = ? ORDER BY d.authority IS NULL, d.authority, c.doc_id", (key, LIVE))
        return [r[0] for r in rows]

    def filter_ids(self, filters: Filters) -> set[str]:
        """Live ids passing the filters: the vector side's equivalent of the lexical filter."""
        sql, args = ["SELECT id, categories FROM documents WHERE state = ?"], [LIVE]
        for col, values in (("doc_type", filters.doc_types), ("court", filters.courts),
                            ("year", filters.years), ("authority", filters.authorities)):
            if values:
                sql.append(f"AND {col} IN ({','.join('?' * len(values))})")
                args.extend(values)
        statuses = filters.statuses or (() if filters.include_superseded else ("current",))
        if statuses:
            sql.append(f"AND status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        wanted = set(filters.categories)
        return {doc_id for doc_id, cats in self.db.execute(" ".join(sql), args)
                if not wanted or wanted & set(cats.split("|"))}

    def counts(self) -> dict[str, dict[str, int]]:
        """Live documents by type, category and status (for ``kb stats``)."""
        out: dict[str, dict[str, int]] = {"doc_type": {}, "ip_category": {}, "status": {}}
        for doc_type, cats, status in self.db.execute(
                "SELECT doc_type, categories, status FROM documents WHERE state = ?", (LIVE,)):
            out["doc_type"][doc_type] = out["doc_type"].get(doc_type, 0) + 1
            out["status"][status] = out["status"].get(status, 0) + 1
            for cat in filter(None, cats.split("|")):
                out["ip_category"][cat] = out["ip_category"].get(cat, 0) + 1
        return out

    def table_count(self, table: str) -> int:
        if table not in {"documents", "passages", "vectors", "citations", "sources"}:
            raise ValueError(table)
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def statutes(self, law: str) -> list[tuple[str, str | None, str, str | None]]:
        """Live statute-like documents of a law: (id, version, status, date), oldest first."""
        return [tuple(r) for r in self.db.execute(
            "SELECT id, version, status, date FROM documents WHERE law_name = ? AND +state = ? "
            "ORDER BY date, version", (law, LIVE))]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _passage(row) -> Passage:
    """A passage from a row of ``Store._PASSAGE_COLUMNS``."""
    return Passage(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))
