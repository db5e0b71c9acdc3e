"""The ingest pipeline: files → RawDoc → Document → passages → KnowledgeBase.add.

Every file is handled on its own: a bad file (or a bad record inside a JSONL
file) becomes one failure line naming the file and the reason, and the rest of the
batch goes on. Nothing already stored is touched by a failure.

Re-running on unchanged files is a no-op (the file's hash is recorded); a changed
file replaces the documents it produced before; a file that disappeared from an
ingested directory has its documents deleted.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from kb.errors import FileTooLargeError, InputError, KBError, UnsafePathError
from kb.files import sha256_file
from kb.knowledge import KnowledgeBase
from kb.models import Document, Passage

from .chunking import chunk
from .parsers import parse
from .readers import DEFAULT_MAX_BYTES, iter_input_files, read_path
from .types import RawDoc

log = logging.getLogger(__name__)

BATCH_DOCS = 64
"""Documents embedded and stored together (progress moves per batch)."""
COMMIT_DOCS = 1000
"""Documents made visible together: fewer full-text commits, fewer index segments."""
MAX_DOCUMENT_CHARS = 2_000_000
"""One document longer than this (the whole 民法典 is ~400k characters) is refused: parsing,
chunking and embedding it would hold many times its size in memory."""


@dataclass
class IngestReport:
    """What an ingest did, per outcome. ``failures`` holds (file, reason) pairs."""

    files: int = 0
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {"files": self.files, "added": self.added, "replaced": self.replaced,
                "unchanged": len(self.unchanged), "skipped_files": self.skipped_files, "removed": self.removed,
                "duplicates": [{"file": f, "duplicate_of": d} for f, d in self.duplicates],
                "failures": [{"file": f, "reason": r} for f, r in self.failures], "ok": self.ok}


def prepare(raw: RawDoc) -> tuple[Document, list[Passage]]:
    """Parse and chunk one raw document (pure)."""
    doc = parse(raw)
    return doc, chunk(doc)


class _Batcher:
    """Collects prepared documents and adds them to the knowledge base in batches of
    :data:`BATCH_DOCS` (embedding and storing), making them visible every
    :data:`COMMIT_DOCS` documents; each source file is recorded only once all its
    documents are visible, so a crash never marks a half-stored file as done."""

    def __init__(self, kb: KnowledgeBase, report: IngestReport, progress: Callable[[int], None] | None):
        self.kb, self.report, self.progress = kb, report, progress
        self.items: list[tuple[Document, list[Passage]]] = []
        self.sources: list[tuple[str, str, list[str]]] = []
        self.seen_hashes: dict[str, str] = {}
        self.since_commit = 0

    def add(self, doc: Document, passages: list[Passage], name: str) -> str | None:
        """Queue a document; returns the id it duplicates instead, if any."""
        dup = self.seen_hashes.get(doc.content_hash) or self.kb.store.find_by_hash(doc.content_hash)
        if dup and dup != doc.id:
            self.report.duplicates.append((name, dup))
            return dup
        self.seen_hashes[doc.content_hash] = doc.id
        self.items.append((doc, passages))
        return None

    def file_done(self, path: str, digest: str, doc_ids: list[str]) -> None:
        self.sources.append((path, digest, doc_ids))
        if len(self.items) >= BATCH_DOCS:
            self._store()
        if self.since_commit >= COMMIT_DOCS:
            self.flush()

    def _store(self) -> None:
        if self.items:
            result = self.kb.add(self.items, progress=self.progress, commit=False)
            self.report.added += result.added
            self.report.replaced += result.replaced
            self.report.unchanged += result.unchanged
            self.since_commit += len(self.items)
            self.items = []

    def flush(self) -> None:
        """Store what is queued, make it visible, record the finished files."""
        self._store()
        self.kb.commit()
        self.since_commit = 0
        for path, digest, doc_ids in self.sources:
            self.kb.store.record_source(path, digest, doc_ids)
        self.sources = []


def ingest_paths(kb: KnowledgeBase, paths: Sequence[str | Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_chars: int = MAX_DOCUMENT_CHARS,
                 progress: Callable[[int], None] | None = None,
                 on_file: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest files and directories into ``kb`` (the caller holds ``kb.writing()``)."""
    report = IngestReport()
    batch = _Batcher(kb, report, progress)
    present: set[str] = set()
    for path in iter_input_files(paths):
        key = str(path.resolve()) if path.exists() else str(path)
        present.add(key)
        report.files += 1
        if on_file:
            on_file(str(path))
        try:
            _check_name(path, key)
            _ingest_file(kb, path, key, batch, report, max_bytes, max_chars)
        except InputError as exc:
            report.failures.append((exc.path, exc.reason))
        except KBError:
            raise
        except Exception as exc:  # a parser bug must not sink the batch: report it as this file's failure
            log.exception("unexpected error on %s", path)
            report.failures.append((_printable(path), f"internal error: {type(exc).__name__}: {exc}"))
    batch.flush()
    _remove_vanished(kb, paths, present, report)
    return report


def _ingest_file(kb: KnowledgeBase, path: Path, key: str, batch: _Batcher, report: IngestReport,
                 max_bytes: int, max_chars: int) -> None:
    if path.is_file() and path.stat().st_size <= max_bytes:
        digest = sha256_file(path)
        known = kb.store.source(key)
        if known and known[0] == digest and all(kb.store.state_of(i) == 1 for i in known[1]):
            report.skipped_files += 1
            report.unchanged += known[1]
            return
    else:
        digest = ""
    result = read_path(path, max_bytes=max_bytes)
    for err in result.errors:
        report.failures.append((err.path, err.reason))
    ids: list[str] = []
    for raw in result.docs:
        try:
            if len(raw.text) > max_chars:
                raise FileTooLargeError(raw.name, f"document is {len(raw.text):,} characters, over the "
                                                  f"{max_chars:,}-character limit for one document; split it")
            doc, passages = prepare(raw)
        except InputError as exc:
            report.failures.append((raw.name, exc.reason))
            continue
        if batch.add(doc, passages, raw.name) is None:
            ids.append(doc.id)
    known = kb.store.source(key)
    stale = _unclaimed(kb, [i for i in (known[1] if known else []) if i not in ids], key)
    if stale:
        batch.flush()
        report.removed += kb.delete(stale)
    if not result.errors:
        batch.file_done(key, digest, ids)


def _remove_vanished(kb: KnowledgeBase, paths: Iterable[str | Path], present: set[str],
                     report: IngestReport) -> None:
    """Delete documents of files that were ingested from these directories before but are gone now."""
    roots = [str(Path(p).resolve()) for p in paths if Path(p).is_dir()]
    if not roots:
        return
    for source, doc_ids in kb.store.sources().items():
        if source not in present and any(source.startswith(r.rstrip("/") + "/") for r in roots):
            if not Path(source).exists():
                report.removed += kb.delete(_unclaimed(kb, doc_ids, source))
                kb.store.forget_source(source)


def _unclaimed(kb: KnowledgeBase, doc_ids: Sequence[str], source: str) -> list[str]:
    """The ids no other existing file still holds (one document may come from two files)."""
    if not doc_ids:
        return []
    claimed = {i for path, ids in kb.store.sources().items()
               if path != source and Path(path).exists() for i in ids}
    return [i for i in doc_ids if i not in claimed]


def _check_name(path: Path, key: str) -> None:
    """File names the store cannot hold (bytes that are not UTF-8, e.g. GBK names from an
    old archive) are refused up front, before they could sink a whole batch."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePathError(_printable(path), "file name is not valid UTF-8; rename the file") from None


def _printable(path: Path) -> str:
    """The path as text that can be printed, undecodable bytes shown as escapes."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")
