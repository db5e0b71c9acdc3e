"""The lexical (full-text) backend interface and its registry.

The knowledge base talks to full-text search only through :class:`LexicalBackend`,
so another engine (a distributed one) is one new module that subclasses it and
calls :func:`register_lexical`. The Whoosh implementation lives in
``kb/whoosh_backend.py``; jieba lives behind ``kb/analysis.py``.

Backends return document ids (strings) and scores, never engine-internal numbers.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from .models import Document, Filters

FACET_FIELDS = ("doc_type", "ip_category", "court", "year", "authority", "status")
"""Facets every backend counts, in this order; values are strings."""


@dataclass(frozen=True)
class LexicalHits:
    """Ranked document ids with scores, plus counts over *all* matches.

    ``terms`` are the analysed query terms actually searched (after stop words and
    long-query term selection), so callers can mark them in snippets.
    ``facets`` maps a facet name to value -> count, only when asked for.
    """

    ranked: tuple[tuple[str, float], ...]
    total: int
    terms: tuple[str, ...] = ()
    facets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class LexicalBackend(ABC):
    """A full-text index over documents with per-section fields and stored facets."""

    @abstractmethod
    def add(self, docs: Sequence[Document]) -> None:
        """Index (or re-index, replacing by id) documents; visible after :meth:`commit`."""

    @abstractmethod
    def delete(self, doc_ids: Iterable[str]) -> None:
        """Remove documents by id; visible after :meth:`commit`."""

    @abstractmethod
    def commit(self) -> None:
        """Make every add and delete since the last commit durable and visible."""

    @abstractmethod
    def cancel(self) -> None:
        """Drop uncommitted changes and release the writer."""

    @abstractmethod
    def search(self, query: str, *, filters: Filters, limit: int, with_facets: bool = False,
               allowed_ids: set[str] | None = None, as_description: bool = False) -> LexicalHits:
        """Search with the query language: plain text, "phrases", field:value, AND/OR/NOT.

        Long inputs (case descriptions) are reduced to their discriminative terms
        instead of becoming hundreds of OR terms; ``as_description`` takes that path
        whatever the length, with no query syntax (similar-case search). Malformed
        syntax falls back to plain terms; this never raises on user text.
        """

    @abstractmethod
    def doc_ids(self) -> set[str]:
        """Every document id in the committed index (for consistency checks)."""

    @abstractmethod
    def doc_count(self) -> int:
        ...

    @abstractmethod
    def size_bytes(self) -> int:
        ...

    def close(self) -> None:
        """Release files and writers."""


LexicalFactory = Callable[[Path], LexicalBackend]
_REGISTRY: dict[str, LexicalFactory] = {}


def register_lexical(name: str, factory: LexicalFactory) -> None:
    _REGISTRY[name] = factory


def open_lexical(name: str, directory: Path) -> LexicalBackend:
    """Open (creating if needed) the lexical index named ``name`` in ``directory``."""
    if name not in _REGISTRY and name == "whoosh":
        from . import whoosh_backend  # noqa: F401  (registers itself)
    try:
        factory = _REGISTRY[name]
    except KeyError:
        from .errors import QueryError
        raise QueryError(f"unknown lexical backend {name!r}; known: {sorted(_REGISTRY)}") from None
    return factory(directory)
