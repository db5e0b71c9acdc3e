"""Similar-case search: the cases closest to a new case, with the reasons a lawyer checks.

Ranking = weighted sum of four parts, each on [0, 1]:
- keyword: reciprocal-rank part of the BM25F ranking of the case description
  (reduced to its discriminative terms, never hundreds of OR terms);
- semantic: reciprocal-rank part of the embedding ranking, where a candidate's
  similarity is the mean, over the query's passages, of its best-matching passage;
- statute overlap: overlap coefficient of the cited articles;
- authority: 1 for guiding cases, less for lower tiers (a small weight: it breaks
  ties in favour of guiding cases rather than overriding relevance).
Rank-based parts keep BM25's unbounded scores and cosine's narrow band on one scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from .errors import QueryError
from .fusion import overlap
from .models import CASE_TYPES, Document, Filters, Passage, PassagePair, Reasons, SimilarHit
from .resolve import resolve_citation
from .search import MAX_K, MODES
from .vectors import top_docs

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase

DEFAULT_WEIGHTS = {"keyword": 1.0, "semantic": 1.0, "statute": 0.3, "authority": 0.05}
AUTHORITY_VALUE = {1: 1.0, 2: 0.6, 3: 0.2}
RANK_K = 20
CANDIDATES = 100
MAX_QUERY_PASSAGES = 8
QUERY_KINDS = ("facts", "claims", "defense", "evidence", "gist", "reasoning", "body")


@dataclass(frozen=True)
class _Semantic:
    score: float
    pairs: tuple[tuple[int, str, float], ...]  # (query passage index, doc passage id, cosine)


def rank_part(rank: int | None, k: int = RANK_K) -> float:
    """(k+1)/(k+rank): 1.0 at rank 1, halving around rank k; 0 when not ranked."""
    return 0.0 if rank is None else (k + 1) / (k + rank)


def tie_ranks(scored: Sequence[tuple[str, float]]) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4) by score: equal scores share a rank, so that a tie
    stays a tie and the authority tier can decide it."""
    ordered = sorted(scored, key=lambda t: -t[1])
    ranks: dict[str, int] = {}
    for i, (doc_id, score) in enumerate(ordered, start=1):
        prev = ordered[i - 2] if i > 1 else None
        ranks[doc_id] = ranks[prev[0]] if prev and abs(prev[1] - score) <= 1e-6 * max(1.0, abs(score)) else i
    return ranks


def query_text(doc: Document) -> str:
    """The parts of a case that describe it (facts, claims, holdings), else its whole text."""
    parts = [s.text for s in doc.sections if s.kind in QUERY_KINDS]
    return "\n".join(parts) if parts else doc.text


def query_passages(passages: Sequence[Passage], doc: Document) -> list[Passage]:
    chosen = [p for p in passages if p.embed and p.kind in QUERY_KINDS] or [p for p in passages if p.embed]
    if not chosen:
        chosen = [Passage(f"{doc.id}#q", doc.id, "q", "body", "", doc.text[:360], 0)]
    return chosen[:MAX_QUERY_PASSAGES]


def similar(kb: "KnowledgeBase", query: Document, passages: Sequence[Passage], *, k: int = 10,
            filters: Filters | None = None, mode: str = "hybrid", weights: Mapping[str, float] | None = None,
            allowed_ids: set[str] | None = None, pairs: int = 3) -> list[SimilarHit]:
    """The ``k`` documents most similar to ``query`` (parsed by the ingest parsers)."""
    if mode not in MODES or not 1 <= k <= MAX_K or pairs < 0:
        raise QueryError(f"similar needs mode in {', '.join(MODES)}, k in 1..{MAX_K} and pairs ≥ 0 "
                         f"(got mode={mode!r}, k={k}, pairs={pairs})")
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    filters = filters or Filters(doc_types=tuple(sorted(CASE_TYPES)))
    use_vectors = mode in ("hybrid", "vector") and kb.has_vectors
    use_lexical = mode in ("hybrid", "bm25") or not use_vectors
    exclude = {query.id} | ({dup} if (dup := kb.store.find_by_hash(query.content_hash)) else set())

    keyword: list[str] = []
    terms: tuple[str, ...] = ()
    if use_lexical:
        lex = kb.lexical.search(query_text(query)[:6000], filters=filters, limit=CANDIDATES,
                                allowed_ids=allowed_ids, as_description=True)
        keyword, terms = [(d, s) for d, s in lex.ranked if d not in exclude], tuple(lex.terms)
    qpass = query_passages(passages, query)
    semantic = _semantic_scores(kb, qpass, filters, allowed_ids, exclude) if use_vectors else {}

    live = kb.store.summaries(list({d for d, _ in keyword} | set(semantic)))
    docs = {d: kb.store.get(d) for d in live}
    same = {d for d, doc in docs.items() if _same_text(doc, query)}  # the query case itself, pasted
    keyword_rank = tie_ranks([(d, s) for d, s in keyword if d in docs and d not in same])
    semantic_rank = tie_ranks([(d, s.score) for d, s in semantic.items() if d in docs and d not in same])
    query_keys = {c.key for c in query.citations if c.article}
    parts_by_doc = {
        d: {"keyword": rank_part(keyword_rank.get(d)) if use_lexical else 0.0,
            "semantic": rank_part(semantic_rank.get(d)) if use_vectors else 0.0,
            "statute": overlap(query_keys, {c.key for c in docs[d].citations if c.article}),
            "authority": AUTHORITY_VALUE.get(docs[d].authority, 0.0)}
        for d in docs if d not in same}
    active = {m: w for m, w in weights.items()
              if not (m == "semantic" and not use_vectors) and not (m == "keyword" and not use_lexical)
              and not (mode != "hybrid" and m in ("statute", "authority"))}
    total_w = sum(active.values()) or 1.0
    ranked_hits = sorted(
        ((sum(active.get(m, 0.0) * v for m, v in parts.items()) / total_w, d, parts)
         for d, parts in parts_by_doc.items()),
        key=lambda t: (-round(t[0], 9), docs[t[1]].authority or 9, t[1]))
    out = []
    for score, doc_id, parts in ranked_hits[:k]:
        doc = docs[doc_id]
        reasons = _reasons(kb, query, doc, parts, semantic.get(doc_id), qpass, terms, pairs)
        out.append(SimilarHit(id=doc.id, title=doc.title, doc_type=doc.doc_type, score=round(score, 6),
                              reasons=reasons, ip_categories=doc.ip_categories, authority=doc.authority,
                              cause=doc.cause, court=doc.court, year=doc.year, status=doc.status))
    return out


def _same_text(doc: Document, query: Document) -> bool:
    """Whether a candidate is the query case itself (same text, whatever its title)."""
    return "".join(doc.text.split()) == "".join(query.text.split())


def _semantic_scores(kb: "KnowledgeBase", qpass: Sequence[Passage], filters: Filters,
                     allowed_ids: set[str] | None, exclude: set[str]) -> dict[str, _Semantic]:
    """Mean over query passages of each candidate's best passage cosine."""
    allowed = kb.store.filter_ids(filters) - exclude
    if allowed_ids is not None:
        allowed &= allowed_ids
    qvecs = kb.embedder.embed_queries([p.text for p in qpass])
    candidates: set[str] = set()
    for qv in qvecs:
        candidates.update(d for d, _, _ in top_docs(kb.vectors.search(qv, 300, allowed_docs=allowed))[:CANDIDATES])
    out = {}
    for doc_id in candidates:
        pids, matrix = kb.vectors.doc_matrix(doc_id)
        if not pids:
            continue
        sims = qvecs @ matrix.T  # (query passages, doc passages)
        best = sims.argmax(axis=1)
        pairs = tuple((qi, pids[int(best[qi])], float(sims[qi, best[qi]])) for qi in range(len(qvecs)))
        out[doc_id] = _Semantic(float(np.mean(sims.max(axis=1))), pairs)
    return out


def _reasons(kb: "KnowledgeBase", query: Document, doc: Document, parts: Mapping[str, float],
             sem: _Semantic | None, qpass: Sequence[Passage], terms: Sequence[str], n_pairs: int) -> Reasons:
    query_keys = {c.key: c for c in query.citations if c.article}
    shared = [c for c in doc.citations if c.article and c.key in query_keys]
    superseded = []
    for c in shared:
        if resolve_citation(kb, c, at_date=doc.date).superseded:
            superseded.append(c.label)
    cats = tuple(c for c in query.ip_categories if c in doc.ip_categories and c != "其他")
    return Reasons(
        keyword=round(parts["keyword"], 4), semantic=round(parts["semantic"], 4),
        statute_overlap=round(parts["statute"], 4), authority=round(parts["authority"], 4),
        shared_articles=tuple(dict.fromkeys(c.label for c in shared)),
        superseded_articles=tuple(dict.fromkeys(superseded)),
        shared_categories=cats, shared_cause=_shared_cause(query.cause, doc.cause),
        passage_pairs=_pairs(kb, doc, sem, qpass, terms, n_pairs))


def _shared_cause(a: str | None, b: str | None) -> str | None:
    """The cause of action both share (侵害商标权纠纷 ~ 侵害商标权), compared without 纠纷/罪/案."""
    if not a or not b:
        return None
    strip = lambda s: s.replace("纠纷", "").replace("案", "").rstrip("罪")  # noqa: E731
    sa = {x for x in (strip(p) for p in a.replace("，", "、").split("、")) if x}
    sb = {x for x in (strip(p) for p in b.replace("，", "、").split("、")) if x}
    common = sorted(x for x in sa if any(x in y or y in x for y in sb))
    return "、".join(common) or None


def _pairs(kb: "KnowledgeBase", doc: Document, sem: _Semantic | None, qpass: Sequence[Passage],
           terms: Sequence[str], n: int) -> tuple[PassagePair, ...]:
    """Best passage pairs: by cosine when vectors exist, else by shared query terms."""
    if n <= 0:
        return ()
    from .analysis import get_analyzer
    analyzer = get_analyzer()
    doc_passages = {p.id: p for p in kb.store.passages(doc.id)}
    candidates: list[tuple[float, Passage, Passage]] = []
    if sem is not None:
        for qi, pid, cos in sem.pairs:
            if pid in doc_passages:
                candidates.append((cos, qpass[qi], doc_passages[pid]))
    else:  # segment each passage once, not once per query passage
        doc_terms = [(p, set(analyzer.query_terms(p.text))) for p in doc_passages.values()]
        for q in qpass:
            qterms = set(analyzer.query_terms(q.text))
            best = max(doc_terms, default=None, key=lambda pt: len(qterms & pt[1]))
            if best is not None:
                candidates.append((len(qterms & best[1]) / (len(qterms) or 1), q, best[0]))
    candidates.sort(key=lambda t: -t[0])
    out, seen = [], set()
    for score, q, p in candidates:
        if p.id in seen:
            continue
        seen.add(p.id)
        shared = sorted(_meaningful(analyzer.query_terms(q.text)) & _meaningful(analyzer.query_terms(p.text)),
                        key=lambda t: (-analyzer.is_legal_term(t), -len(t), t))
        out.append(PassagePair(query_text=q.text, doc_anchor=p.anchor, doc_title=p.title, doc_text=p.text,
                               shared_terms=tuple(shared[:20]), similarity=round(float(score), 4)))
        if len(out) >= n:
            break
    return tuple(out)


def _meaningful(terms: Sequence[str]) -> set[str]:
    """Terms worth marking as shared: words with Chinese characters or Latin names, not
    numbers and dates (2014, 250) that match by coincidence."""
    return {t for t in terms if not any(ch.isdigit() for ch in t) and len(t) >= 2}
