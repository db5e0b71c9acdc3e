"""Search: lexical and vector retrieval, fused, turned into hits with snippets.

Modes: ``bm25`` (Whoosh only), ``vector`` (embeddings only), ``hybrid`` (both,
fused by reciprocal rank fusion). The same :class:`Filters` restrict both sides:
the lexical side as Whoosh filter queries, the vector side as the set of ids the
store says pass them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from .errors import QueryError
from .fusion import rrf
from .lexical import FACET_FIELDS
from .models import Filters, Hit, SearchResult
from .snippets import highlights_for, mark
from .vectors import top_docs

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase

MODES = ("hybrid", "bm25", "vector")
DEFAULT_WEIGHTS = {"bm25": 1.0, "vector": 1.0}
MAX_K = 1000
_FIELD_TOKEN = re.compile(r"(?:^|\s)-?[\w\u4e00-\u9fff]+[:：]\S+")
_OPERATORS = re.compile(r"(?:^|\s)(?:AND|OR|NOT|且|或|非)(?=\s|$)")


@dataclass(frozen=True)
class Retrieved:
    """A fused candidate before it becomes a hit."""

    doc_id: str
    score: float
    parts: Mapping[str, float]
    best_passage: str | None = None


def free_text(query: str) -> str:
    """The words of a query without field syntax or operators (what the vector side embeds)."""
    text = _FIELD_TOKEN.sub(" ", query)
    text = _OPERATORS.sub(" ", text)
    return re.sub(r"[\"“”()（）]", " ", text).strip()


def retrieve(kb: "KnowledgeBase", query: str, *, filters: Filters, limit: int, mode: str,
             weights: Mapping[str, float] | None = None, allowed_ids: set[str] | None = None,
             with_facets: bool = False, vector_text: str | None = None):
    """Run the sides a mode asks for and fuse them. Returns (candidates, lexical hits)."""
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    notes: list[str] = []
    if mode != "bm25" and not kb.has_vectors:
        notes.append("no vectors in this knowledge base: keyword search only")
        mode = "bm25"
    rankings: dict[str, list[str]] = {}
    scores: dict[str, dict[str, float]] = {}
    lex = None
    if mode in ("bm25", "hybrid"):
        lex = kb.lexical.search(query, filters=filters, limit=limit, with_facets=with_facets,
                                allowed_ids=allowed_ids)
        live = kb.store.summaries([d for d, _ in lex.ranked])
        ranked = [(d, s) for d, s in lex.ranked if d in live]
        rankings["bm25"] = [d for d, _ in ranked]
        scores["bm25"] = dict(ranked)
        notes.extend(lex.notes)
    best_passage: dict[str, str] = {}
    text = free_text(query) if vector_text is None else vector_text
    if mode in ("vector", "hybrid") and text:
        allowed = kb.store.filter_ids(filters)
        if allowed_ids is not None:
            allowed &= allowed_ids
        qvec = kb.embedder.embed_queries([text[:2000]])[0]
        docs = top_docs(kb.vectors.search(qvec, max(limit * 4, 100), allowed_docs=allowed))[:limit]
        rankings["vector"] = [d for d, _, _ in docs]
        scores["vector"] = {d: s for d, s, _ in docs}
        best_passage = {d: p for d, _, p in docs}
    fused = rrf(rankings, weights=weights or DEFAULT_WEIGHTS)
    candidates = [Retrieved(d, s, {m: scores[m].get(d, 0.0) for m in scores}, best_passage.get(d))
                  for d, s, _ in fused]
    return candidates, lex, notes


def search(kb: "KnowledgeBase", query: str, *, k: int = 10, offset: int = 0, filters: Filters | None = None,
           mode: str | None = None, weights: Mapping[str, float] | None = None,
           with_facets: bool = True, allowed_ids: set[str] | None = None) -> SearchResult:
    """Search the knowledge base; see the module doc for the modes."""
    if not 1 <= k <= MAX_K or offset < 0:
        raise QueryError(f"k must be 1..{MAX_K} and offset ≥ 0 (got k={k}, offset={offset})")
    filters = filters or Filters()
    mode = mode or ("hybrid" if kb.has_vectors else "bm25")
    limit = offset + k if mode == "bm25" else max(offset + k, 50)
    candidates, lex, notes = retrieve(kb, query, filters=filters, limit=limit, mode=mode, weights=weights,
                                      with_facets=with_facets, allowed_ids=allowed_ids)
    terms = tuple(lex.terms) if lex else tuple(free_text(query).split())
    page = candidates[offset:offset + k]
    meta = kb.store.summaries([c.doc_id for c in page])
    hits = tuple(_hit(kb, c, terms, meta[c.doc_id]) for c in page if c.doc_id in meta)
    lexical_ids = {d for d, _ in lex.ranked} if lex else set()
    extra = [c.doc_id for c in candidates if c.doc_id not in lexical_ids]
    total = (lex.total if lex else 0) + len(extra)
    facets = _facets(kb, lex.facets if lex else {}, extra) if with_facets else {}
    return SearchResult(hits=hits, total=total, facets=facets, notes=tuple(notes))


def _hit(kb: "KnowledgeBase", cand: Retrieved, terms: Sequence[str], meta: Mapping[str, object]) -> Hit:
    passages = kb.store.passages_for_snippet(cand.doc_id, terms, prefer=cand.best_passage)
    highlights = highlights_for(passages, terms, prefer=cand.best_passage)
    snippet = mark(highlights[0].text, highlights[0].terms) if highlights else ""
    return Hit(id=cand.doc_id, title=meta["title"], doc_type=meta["doc_type"], ip_categories=meta["ip_categories"],
               score=round(cand.score, 6), snippet=snippet, highlights=highlights, authority=meta["authority"],
               status=meta["status"], court=meta["court"], year=meta["year"], scores=dict(cand.parts))


def _facets(kb: "KnowledgeBase", lexical: Mapping[str, Mapping[str, int]], extra_ids: Sequence[str]):
    """Lexical facet counts plus those of documents only the vector side found."""
    out = {name: dict(lexical.get(name, {})) for name in FACET_FIELDS}
    for meta in kb.store.summaries(list(extra_ids)).values():
        values = {
            "doc_type": [meta["doc_type"]], "ip_category": list(meta["ip_categories"]),
            "court": [meta["court"]] if meta["court"] else [], "year": [str(meta["year"])] if meta["year"] else [],
            "authority": [str(meta["authority"])] if meta["authority"] else [], "status": [meta["status"]],
        }
        for name, vals in values.items():
            for v in vals:
                out[name][v] = out[name].get(v, 0) + 1
    return {name: counts for name, counts in out.items() if counts}
