"""The knowledge base: one object that owns the store, the lexical index and the vectors.

Layout of a knowledge-base home::

    HOME/kb.sqlite     documents, passages, vectors, citations (source of truth)
    HOME/lexical/      the full-text index (derived; rebuilt from the store by ``check``)
    HOME/write.lock    held by the one process allowed to write
    HOME/packs/        course packs (see kb.coursepack)

Writes follow the protocol described in :mod:`kb.store` so that a document is
visible in every index or in none, even if the process is killed.
"""
from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .embeddings import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import KBNotFoundError, ModelMismatchError
from .lexical import LexicalBackend, open_lexical
from .locking import WriteLock
from .models import Document, Passage, Section
from .store import DELETING, PENDING, Store
from .vectors import MatrixVectorIndex

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


def default_home() -> Path:
    return Path(os.environ.get("KB_HOME") or Path.cwd() / ".kb")


@dataclass(frozen=True)
class CheckReport:
    """What ``kb check`` found (and, with repair, fixed)."""

    documents: int
    pending: tuple[str, ...] = ()
    deleting: tuple[str, ...] = ()
    missing_in_lexical: tuple[str, ...] = ()
    extra_in_lexical: tuple[str, ...] = ()
    missing_vectors: tuple[str, ...] = ()
    repaired: bool = False
    actions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.pending or self.deleting or self.missing_in_lexical
                    or self.extra_in_lexical or self.missing_vectors)


@dataclass
class AddResult:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


class KnowledgeBase:
    """Open with :meth:`open`; close when done (or use it as a context manager)."""

    def __init__(self, home: Path, store: Store, lexical: LexicalBackend, embedder_spec: str,
                 embedder: Embedder | None = None, embed_budget: int | None = None):
        self.home = home
        self.embed_budget = embed_budget
        self.store = store
        self.lexical = lexical
        self.embedder_spec = embedder_spec
        self._embedder = embedder
        self._lock: WriteLock | None = None
        self._recovered: list[str] = []
        self._uncommitted: list[str] = []
        self.vectors = MatrixVectorIndex(store)

    # --- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, home: str | Path | None = None, *, embedder: str | Embedder | None = None,
             create: bool = True, lexical: str = "whoosh",
             embed_budget: int | None = None) -> "KnowledgeBase":
        """Open (or create) the knowledge base at ``home``.

        ``embedder`` is a spec (``e5-small``, ``st:PATH``, ``fake``, ``none``) or an
        instance. Left out, the spec the knowledge base was built with is used, else
        ``$IPKB_EMBEDDER``, else ``e5-small``. A different model than the one that built
        the existing vectors is refused (:class:`ModelMismatchError`).

        ``embed_budget`` caps the characters of passages embedded per document (see
        :func:`apply_embed_budget`); it is remembered by the knowledge base.
        """
        home = Path(home) if home else default_home()
        db_path = home / "kb.sqlite"
        if not create and not db_path.exists():
            raise KBNotFoundError(f"no knowledge base at {home} (run `kb ingest corpus/` first)")
        home.mkdir(parents=True, exist_ok=True)
        store = Store(db_path)
        instance = embedder if isinstance(embedder, Embedder) else None
        spec = instance.identity if instance else embedder
        stored = store.get_meta("embedder_spec")
        if spec is None:
            spec = stored or os.environ.get("IPKB_EMBEDDER") or DEFAULT_EMBEDDER
        if stored and spec != stored and store.table_count("vectors"):
            store.close()
            raise ModelMismatchError(
                f"the vectors in {home} were built with embedder {stored!r}, not {spec!r}; "
                f"open it without --embedder, or rebuild it with `kb ingest --rebuild --embedder {spec}`")
        if not stored or not store.table_count("documents"):
            store.set_meta("embedder_spec", spec)
        if embed_budget is not None:
            store.set_meta("embed_budget", str(embed_budget))
        budget = store.get_meta("embed_budget")
        return cls(home, store, open_lexical(lexical, home / "lexical"), spec, instance,
                   int(budget) if budget else None)

    def close(self) -> None:
        self.release_lock()
        self.lexical.close()
        self.store.close()

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the embedder --------------------------------------------------------------
    @property
    def embedder(self) -> Embedder | None:
        """Loaded on first use (loading a model takes seconds; bm25-only work never pays it)."""
        if self._embedder is None and self.embedder_spec != "none":
            self._embedder = get_embedder(self.embedder_spec)
            self._check_identity(self._embedder)
        return self._embedder

    def _check_identity(self, embedder: Embedder) -> None:
        stored = self.store.get_meta("embedder_identity")
        if stored and stored != embedder.identity and self.store.table_count("vectors"):
            raise ModelMismatchError(
                f"the vectors in {self.home} were built by {stored}, but {self.embedder_spec!r} is now "
                f"{embedder.identity}; rebuild with `kb ingest --rebuild`")

    @property
    def has_vectors(self) -> bool:
        return self.embedder_spec != "none" and len(self.vectors) > 0

    # --- writing -------------------------------------------------------------------
    @contextmanager
    def writing(self, *, wait: float = 0.0) -> Iterator["KnowledgeBase"]:
        """Hold the write lock for a batch of changes; finishes a crashed writer's work first."""
        if self._lock is not None:
            yield self
            return
        self._lock = WriteLock(self.home).acquire(wait=wait)
        try:
            self._recovered = self._finish_unfinished()
            yield self
            self.commit()
        finally:
            self._uncommitted = []  # after an error they stay pending: the next writer finishes them
            self.release_lock()

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _require_lock(self) -> None:
        if self._lock is None:
            raise RuntimeError("write outside KnowledgeBase.writing()")

    def add(self, items: Sequence[tuple[Document, Sequence[Passage]]], *,
            progress: Progress | None = None, commit: bool = True) -> AddResult:
        """Store, embed and index documents (replacing same-id ones) as one visible step.

        With ``commit=False`` they stay invisible until :meth:`commit` (or the end of
        :meth:`writing`): a bulk load commits the full-text index every thousand
        documents rather than every batch, which keeps it in few segments.
        """
        self._require_lock()
        result = AddResult()
        todo = []
        items = list({doc.id: (doc, passages) for doc, passages in items}.values())  # one id, once
        for doc, passages in items:
            previous = self.store.content_hash_of(doc.id)
            if previous == doc.content_hash and self.store.state_of(doc.id) == 1:
                result.unchanged.append(doc.id)
                continue
            (result.replaced if previous else result.added).append(doc.id)
            todo.append((doc, passages))
        if not todo:
            return result
        if self.embed_budget is not None:
            todo = [(doc, apply_embed_budget(passages, self.embed_budget)) for doc, passages in todo]
        vectors = self._embed([p for _, ps in todo for p in ps if p.embed], progress)
        rows, start = [], 0
        for doc, passages in todo:
            n = sum(1 for p in passages if p.embed)
            rows.append((doc, passages, vectors[start:start + n] if vectors is not None else None))
            start += n
        self.store.put_pending(rows)
        self.lexical.add([doc for doc, _ in todo])
        self._uncommitted.extend(doc.id for doc, _ in todo)
        if commit:
            self.commit()
        return result

    def commit(self) -> None:
        """Make added documents visible: commit the full-text index, then mark them live."""
        self._require_lock()
        if self._uncommitted:
            self.lexical.commit()
            self.store.mark_live(self._uncommitted)
            self._uncommitted = []

    def _embed(self, passages: Sequence[Passage], progress: Progress | None) -> np.ndarray | None:
        embedder = self.embedder
        if embedder is None:
            return None
        if not self.store.get_meta("embedder_identity"):
            self.store.set_meta("embedder_identity", embedder.identity)
        if not passages:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return embedder.embed_passages([p.text for p in passages], progress=progress)

    def delete(self, doc_ids: Iterable[str]) -> list[str]:
        """Remove documents everywhere; returns the ids that existed.

        Documents added without commit are committed first: the full-text commit a
        delete needs would otherwise show them while the store still calls them pending.
        """
        self._require_lock()
        self.commit()
        ids = [i for i in doc_ids if self.store.state_of(i) is not None]
        if ids:
            self.store.mark_deleting(ids)
            self.lexical.delete(ids)
            self.lexical.commit()
            self.store.purge(ids)
        return ids

    def _finish_unfinished(self) -> list[str]:
        """Complete what a killed writer left: index PENDING documents, purge DELETING ones."""
        todo = self.store.unfinished()
        actions = []
        if todo[DELETING]:
            self.lexical.delete(todo[DELETING])
            self.lexical.commit()
            self.store.purge(todo[DELETING])
            actions.append(f"finished deleting {len(todo[DELETING])} document(s)")
        if todo[PENDING]:
            docs = [self.store.get(i, include_hidden=True) for i in todo[PENDING]]
            self.lexical.add(docs)
            self.lexical.commit()
            self.store.mark_live(todo[PENDING])
            actions.append(f"finished indexing {len(docs)} document(s)")
        for a in actions:
            log.warning("recovered an interrupted write: %s", a)
        return actions

    def rebuild_lexical(self, progress: Progress | None = None) -> int:
        """Drop the full-text index and re-create it from the store."""
        self._require_lock()
        self.lexical.close()
        shutil.rmtree(self.home / "lexical", ignore_errors=True)
        self.lexical = open_lexical("whoosh", self.home / "lexical")
        batch: list[Document] = []
        count = 0
        for doc in self.store.iter_documents():
            batch.append(doc)
            if len(batch) >= 200:
                self.lexical.add(batch)
                count += len(batch)
                progress and progress(len(batch))
                batch = []
        if batch:
            self.lexical.add(batch)
            count += len(batch)
            progress and progress(len(batch))
        self.lexical.commit()
        return count

    def check(self, *, repair: bool = False) -> CheckReport:
        """Compare the store, the full-text index and the vectors; optionally repair.

        After a repair the report describes the state *after* it (``ok`` when all is
        well again) and ``actions`` says what was done.
        """
        report = self._inspect()
        if not repair or report.ok:
            return report
        with self.writing():
            actions = list(self._recovered)
            if report.extra_in_lexical:
                self.lexical.delete(report.extra_in_lexical)
                actions.append(f"removed {len(report.extra_in_lexical)} stray document(s) from the full-text index")
            if report.missing_in_lexical:
                self.lexical.add([self.store.get(i) for i in report.missing_in_lexical])
                actions.append(f"re-indexed {len(report.missing_in_lexical)} document(s) missing "
                               "from the full-text index")
            self.lexical.commit()
            if report.missing_vectors:
                ids = report.missing_vectors
                docs = [(self.store.get(i), self.store.passages(i)) for i in ids]
                self.store.put_pending([(d, ps, self._embed([p for p in ps if p.embed], None)) for d, ps in docs])
                self.store.mark_live(ids)
                actions.append(f"re-embedded {len(ids)} document(s) without vectors")
        return replace(self._inspect(), repaired=True, actions=tuple(actions))

    def _inspect(self) -> CheckReport:
        unfinished = self.store.unfinished()
        live = self.store.live_ids()
        lexical_ids = self.lexical.doc_ids()
        missing_vec: list[str] = []
        if self.embedder_spec != "none" and self.store.table_count("vectors"):
            with_vectors = self.store.vector_doc_ids()
            missing_vec = sorted(d for d in live - with_vectors if any(p.embed for p in self.store.passages(d)))
        return CheckReport(len(live), tuple(unfinished[PENDING]), tuple(unfinished[DELETING]),
                           tuple(sorted(live - lexical_ids)),
                           tuple(sorted(lexical_ids - live - set(unfinished[PENDING]))), tuple(missing_vec))

    # --- reading -------------------------------------------------------------------
    def get(self, doc_id: str) -> Document:
        return self.store.get(doc_id)

    def passages(self, doc_id: str) -> list[Passage]:
        return self.store.passages(doc_id)

    def resolve(self, address: str) -> tuple[Document, Section | None]:
        """A document id, ``ID#anchor``, or a citation such as ``反不正当竞争法#9`` / ``专利法第十一条``."""
        from .resolve import resolve_address
        return resolve_address(self, address)

    def citing(self, key: str) -> list[str]:
        """Documents citing an article key (``反不正当竞争法#9``)."""
        return self.store.citing(key)

    def stats(self) -> dict:
        counts = self.store.counts()
        return {
            "home": str(self.home),
            "documents": sum(counts["doc_type"].values()),
            "passages": self.store.table_count("passages"),
            "vectors": self.store.table_count("vectors"),
            "by_type": counts["doc_type"],
            "by_category": counts["ip_category"],
            "by_status": counts["status"],
            "embedder": self.embedder_spec,
            "embedder_identity": self.store.get_meta("embedder_identity"),
            "lexical_documents": self.lexical.doc_count(),
            "index_bytes": self.lexical.size_bytes() + _file_size(self.home / "kb.sqlite"),
            "last_write": self.store.get_meta("last_write"),
            "sources": self.store.table_count("sources"),
        }

    # search and similar live in their own modules; bound here for a one-object API
    def search(self, query: str, **kwargs):
        from .search import search
        return search(self, query, **kwargs)

    def similar(self, query: Document, passages: Sequence[Passage], **kwargs):
        from .similar import similar
        return similar(self, query, passages, **kwargs)


EMBED_PRIORITY = ("gist", "facts", "reasoning", "claims", "defense", "evidence")


def apply_embed_budget(passages: Sequence[Passage], budget: int) -> list[Passage]:
    """Keep ``embed`` only on the passages that fit ``budget`` characters, most telling first
    (裁判要点, facts, reasoning, …, then the rest in document order); the others stay
    searchable by keyword. At least one passage keeps its vector so every document can
    be found by meaning."""
    rank = {kind: i for i, kind in enumerate(EMBED_PRIORITY)}
    order = sorted((p for p in passages if p.embed), key=lambda p: (rank.get(p.kind, len(rank)), p.ordinal))
    keep, used = set(), 0
    for p in order:
        if used + len(p.text) > budget and keep:
            continue
        keep.add(p.id)
        used += len(p.text)
    return [p if (p.id in keep or not p.embed) else replace(p, embed=False) for p in passages]


def _file_size(path: Path) -> int:
    total = 0
    for p in (path, Path(str(path) + "-wal")):
        if p.exists():
            total += p.stat().st_size
    return total
