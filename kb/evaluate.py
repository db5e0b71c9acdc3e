"""Evaluation of similar-case ranking (``kb eval``): BEIR sets and triplet files.

A BEIR directory holds ``corpus.jsonl`` (``_id``, ``title``, ``text``, optional
``metadata``), ``queries.jsonl`` (``_id``, ``text``), ``qrels.tsv`` (a header, then
query id, corpus id, graded score) and optionally ``candidates.jsonl`` (``query_id``,
``corpus_ids``: the pool a query is ranked in). The corpus goes into a temporary
knowledge base through the ingest parsers, keeping each ``_id`` as the document id,
and every query is ranked by :func:`kb.similar.similar` — the code that serves a
judge's case description — in each mode (bm25, vector, hybrid).

Why ``similar`` and not ``search``: a BEIR query here is a case description, and
``similar`` is what ipkb does with one (the description reduced to its
discriminative terms on the keyword side, the mean of best passage matches on the
vector side, statute overlap and authority on top in hybrid). ``search`` is for
short keyword queries.

A triplet file holds lines ``{"A", "B", "C", "label": "B"|"C"}`` (optional ``id``):
which of B and C is closer to A. The B and C texts go into a temporary knowledge
base (so BM25's statistics are those of the texts being compared); A is parsed as
a query case. bm25 scores B and C with the same lexical call ``similar`` makes,
restricted to {B, C}; vector scores each by the mean over A's query passages of the
best passage cosine, as ``similar`` does. Reciprocal-rank fusion over two
candidates ties whenever the two modes disagree, so hybrid here fuses scores: each
mode's B−C difference divided by that mode's standard deviation of differences over
the whole file (labels are never looked at), then summed with equal weights.

``kb/`` never imports ``ingest/``: parsing comes in through a :class:`CaseParser`
(the CLI passes one built on the ingest parsers). Files are read here because a
benchmark is not user input; malformed ones raise :class:`EvaluationError` naming
the file and line.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from .embeddings import DEFAULT_EMBEDDER, Embedder, get_embedder
from .errors import EvaluationError, InputError
from .knowledge import KnowledgeBase
from .metrics import lecard_metrics, mean_metrics, trec_metrics
from .models import Document, Filters, Passage
from .similar import query_passages, query_text

log = logging.getLogger(__name__)

MODES = ("bm25", "vector", "hybrid")
DEFAULT_K = 100
BATCH_DOCS = 64
ALL_DOCUMENTS = Filters(include_superseded=True)
"""Evaluation ranks the whole corpus: no type or status filter."""

Progress = Callable[[str], None]
PassageProgress = Callable[[int], None]
Run = dict[str, dict[str, list[tuple[str, float]]]]
"""mode → query id → [(document id, score)], best first."""


class CaseParser(Protocol):
    """Turns benchmark records into documents and query texts into query cases."""

    def document(self, record: Mapping[str, Any], *, source: str, locator: str) -> tuple[Document, list[Passage]]:
        """The document of a corpus record (``record["id"]`` must become its id)."""

    def query(self, text: str, *, name: str) -> tuple[Document, list[Passage]]:
        """A query case from a case description."""


# --- reading benchmark files ----------------------------------------------------------------

@dataclass(frozen=True)
class CorpusRecord:
    id: str
    title: str
    text: str
    metadata: Mapping[str, Any]
    line: int

    def record(self) -> dict[str, Any]:
        """What the parsers read: metadata fields, then id/title/text; a judgment unless it says otherwise."""
        return {**self.metadata, "id": self.id, "title": self.title, "text": self.text,
                "doc_type": self.metadata.get("doc_type") or "judgment"}


@dataclass(frozen=True)
class BeirSet:
    path: Path
    corpus: tuple[CorpusRecord, ...]
    queries: dict[str, tuple[str, int]]
    """query id → (text, line), in file order."""
    qrels: dict[str, list[tuple[str, int]]]
    """query id → [(corpus id, grade)] in file order (LeCaRD's scorer needs the order)."""
    candidates: dict[str, tuple[str, ...]] | None = None
    missing_docs: tuple[str, ...] = ()

    def judged_queries(self) -> list[str]:
        """Queries with at least one relevant document, in queries.jsonl order."""
        return [q for q in self.queries if any(g > 0 for _, g in self.qrels.get(q, ()))]

    def grades(self, query_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        return {q: dict(self.qrels[q]) for q in query_ids}


@dataclass(frozen=True)
class Triplet:
    id: str
    a: str
    b: str
    c: str
    label: str
    line: int


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line; EvaluationError on anything else."""
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise EvaluationError(f"{path}:{number}: expected a JSON object")
                yield number, obj
    except FileNotFoundError:
        raise EvaluationError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path}: not UTF-8 text") from None


def _text(obj: Mapping, key: str, path: Path, line: int, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key in ("_id", "id", "query_id"):
        value = str(value)
    if not isinstance(value, str) or (required and not value.strip()):
        raise EvaluationError(f"{path}:{line}: field {key!r} must be a non-empty string")
    return value


def load_beir(directory: str | Path, *, allow_missing_docs: bool = False) -> BeirSet:
    """Read and cross-check a BEIR directory.

    Qrels naming a query not in queries.jsonl are an error. Qrels naming a document not
    in corpus.jsonl are an error unless ``allow_missing_docs``: LeCaRD's label file
    lists golden candidates whose texts were never published; they stay in the
    relevance judgements (they count in the ideal ranking) but cannot be retrieved.
    """
    path = Path(directory)
    if not path.is_dir():
        raise EvaluationError(f"{path}: not a directory")
    corpus = _load_corpus(path / "corpus.jsonl")
    corpus_ids = {r.id for r in corpus}
    queries = _load_queries(path / "queries.jsonl")
    qrels, missing = _load_qrels(path / "qrels.tsv", set(queries), corpus_ids, allow_missing_docs)
    candidates = None
    if (path / "candidates.jsonl").exists():
        candidates = _load_candidates(path / "candidates.jsonl", set(queries), corpus_ids)
    return BeirSet(path, corpus, queries, qrels, candidates, tuple(sorted(missing)))


def _load_corpus(path: Path) -> tuple[CorpusRecord, ...]:
    records, seen = [], set()
    for line, obj in _jsonl(path):
        doc_id = _text(obj, "_id", path, line)
        if doc_id in seen:
            raise EvaluationError(f"{path}:{line}: duplicate _id {doc_id!r}")
        seen.add(doc_id)
        meta = obj.get("metadata") or {}
        if not isinstance(meta, dict):
            raise EvaluationError(f"{path}:{line}: metadata must be an object")
        records.append(CorpusRecord(doc_id, _text(obj, "title", path, line, required=False),
                                    _text(obj, "text", path, line), meta, line))
    if not records:
        raise EvaluationError(f"{path}: no documents")
    return tuple(records)


def _load_queries(path: Path) -> dict[str, tuple[str, int]]:
    queries: dict[str, tuple[str, int]] = {}
    for line, obj in _jsonl(path):
        qid = _text(obj, "_id", path, line)
        if qid in queries:
            raise EvaluationError(f"{path}:{line}: duplicate _id {qid!r}")
        queries[qid] = (_text(obj, "text", path, line), line)
    if not queries:
        raise EvaluationError(f"{path}: no queries")
    return queries


def _load_qrels(path: Path, query_ids: set[str], corpus_ids: set[str],
                allow_missing_docs: bool) -> tuple[dict[str, list[tuple[str, int]]], set[str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path}: not UTF-8 text") from None
    if not lines or lines[0].split("\t")[-1].strip().lstrip("-").isdigit():
        raise EvaluationError(f"{path}:1: expected a header line (query-id, corpus-id, score)")
    qrels: dict[str, list[tuple[str, int]]] = {}
    missing: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cols = line.rstrip("\n").split("\t")
        if len(cols) != 3:
            raise EvaluationError(f"{path}:{number}: expected 3 tab-separated columns, got {len(cols)}")
        qid, doc_id, score = (c.strip() for c in cols)
        try:
            grade = int(score)
        except ValueError:
            raise EvaluationError(f"{path}:{number}: score {score!r} is not an integer") from None
        if qid not in query_ids:
            raise EvaluationError(f"{path}:{number}: unknown query id {qid!r} (not in queries.jsonl)")
        if doc_id not in corpus_ids:
            if not allow_missing_docs:
                raise EvaluationError(f"{path}:{number}: unknown corpus id {doc_id!r} (not in corpus.jsonl; "
                                      "--allow-missing-docs keeps such judgements)")
            missing.add(doc_id)
        qrels.setdefault(qid, []).append((doc_id, grade))
    return qrels, missing


def _load_candidates(path: Path, query_ids: set[str], corpus_ids: set[str]) -> dict[str, tuple[str, ...]]:
    pools: dict[str, tuple[str, ...]] = {}
    for line, obj in _jsonl(path):
        qid = _text(obj, "query_id", path, line)
        if qid not in query_ids:
            raise EvaluationError(f"{path}:{line}: unknown query id {qid!r} (not in queries.jsonl)")
        ids = obj.get("corpus_ids")
        if not isinstance(ids, list) or not ids:
            raise EvaluationError(f"{path}:{line}: corpus_ids must be a non-empty list")
        ids = [str(i) for i in ids]
        unknown = [i for i in ids if i not in corpus_ids]
        if unknown:
            raise EvaluationError(f"{path}:{line}: unknown corpus id {unknown[0]!r} (not in corpus.jsonl)")
        pools[qid] = tuple(dict.fromkeys(ids))
    return pools


def load_triplets(path: str | Path) -> list[Triplet]:
    path = Path(path)
    out: list[Triplet] = []
    for line, obj in _jsonl(path):
        label = obj.get("label")
        if label not in ("B", "C"):
            raise EvaluationError(f"{path}:{line}: label must be \"B\" or \"C\", got {label!r}")
        ident = str(obj["id"]) if obj.get("id") is not None else str(line)
        out.append(Triplet(ident, _text(obj, "A", path, line), _text(obj, "B", path, line),
                           _text(obj, "C", path, line), label, line))
    if not out:
        raise EvaluationError(f"{path}: no triplets")
    return out


# --- the temporary knowledge base ----------------------------------------------------------------

class CachedQueryEmbedder(Embedder):
    """Embeds each distinct query text once: every mode re-embeds the same query passages."""

    def __init__(self, inner: Embedder):
        self.inner, self.identity, self.dim = inner, inner.identity, inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed_passages(self, texts, *, progress=None):
        return self.inner.embed_passages(texts, progress=progress)

    def embed_queries(self, texts):
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for text, vec in zip(todo, self.inner.embed_queries(todo)):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


@contextmanager
def temporary_kb(embedder: str | Embedder | None, embed_budget: int | None = None) -> Iterator[KnowledgeBase]:
    """A knowledge base in a fresh temporary directory, removed afterwards."""
    if embedder is None:
        embedder = os.environ.get("IPKB_EMBEDDER") or DEFAULT_EMBEDDER
    if isinstance(embedder, str):
        embedder = get_embedder(embedder)  # None for "none"
    instance = CachedQueryEmbedder(embedder) if embedder is not None else None
    home = Path(tempfile.mkdtemp(prefix="ipkb-eval-"))
    try:
        kb = KnowledgeBase.open(home, embedder=instance or "none", embed_budget=embed_budget)
        try:
            yield kb
        finally:
            kb.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def parse_records(parser: CaseParser, records: Sequence[CorpusRecord],
                  source: Path) -> list[tuple[Document, list[Passage]]]:
    """Parse corpus records; a record the parsers reject is an EvaluationError naming its line."""
    items = []
    for rec in records:
        try:
            doc, passages = parser.document(rec.record(), source=str(source), locator=f"line {rec.line}")
        except InputError as exc:
            raise EvaluationError(f"{source}:{rec.line}: {exc.reason}") from None
        if doc.id != rec.id:
            raise EvaluationError(f"{source}:{rec.line}: parsed as {doc.id!r}, not its _id {rec.id!r}")
        items.append((doc, passages))
    return items


def add_all(kb: KnowledgeBase, items: Sequence[tuple[Document, list[Passage]]],
            progress: PassageProgress | None = None) -> None:
    with kb.writing():
        for start in range(0, len(items), BATCH_DOCS):
            kb.add(items[start:start + BATCH_DOCS], progress=progress)


def kb_facts(kb: KnowledgeBase) -> dict[str, Any]:
    """What the evaluation ran on: documents, passages, what was embedded, by which model."""
    return {"documents": kb.store.table_count("documents"), "passages": kb.store.table_count("passages"),
            "embedded_passages": kb.store.table_count("vectors"), "embed_budget": kb.embed_budget,
            "embedder": kb.store.get_meta("embedder_identity") or "none"}


# --- BEIR --------------------------------------------------------------------------------------

@dataclass
class BeirResult:
    report: dict[str, Any]
    run: Run = field(default_factory=dict)


def parse_query(parser: CaseParser, text: str, name: str) -> tuple[Document, list[Passage]]:
    try:
        return parser.query(text, name=name)
    except InputError as exc:
        raise EvaluationError(f"{name}: {exc.reason}") from None


def rank_queries(kb: KnowledgeBase, beir: BeirSet, parser: CaseParser, query_ids: Sequence[str],
                 modes: Sequence[str], *, k: int = DEFAULT_K, progress: Progress | None = None
                 ) -> tuple[Run, dict[str, float]]:
    """Each query ranked by ``kb.similar`` in each mode; returns the run and seconds per mode."""
    cases = {q: parse_query(parser, beir.queries[q][0], f"{beir.path / 'queries.jsonl'}:{beir.queries[q][1]}")
             for q in query_ids}
    run: Run = {}
    seconds: dict[str, float] = {}
    for mode in modes:
        started = time.perf_counter()
        run[mode] = {}
        for n, q in enumerate(query_ids, start=1):
            pool = beir.candidates.get(q) if beir.candidates is not None else None
            if beir.candidates is not None and pool is None:
                raise EvaluationError(f"{beir.path / 'candidates.jsonl'}: no pool for query {q!r}")
            doc, passages = cases[q]
            hits = kb.similar(doc, passages, k=len(pool) if pool else k, mode=mode, filters=ALL_DOCUMENTS,
                              allowed_ids=set(pool) if pool else None, pairs=0)
            run[mode][q] = [(h.id, h.score) for h in hits]
            if progress and (len(query_ids) <= 20 or n % 10 == 0 or n == len(query_ids)):
                progress(f"{mode}: query {n}/{len(query_ids)} ({q})")
        seconds[mode] = round(time.perf_counter() - started, 1)
    return run, seconds


def score_run(beir: BeirSet, run: Run, query_ids: Sequence[str], *, lecard: bool = False) -> dict[str, Any]:
    """Mean and per-query metrics for each mode."""
    grades = beir.grades(query_ids)
    out: dict[str, Any] = {}
    for mode, by_query in run.items():
        rankings = {q: [d for d, _ in by_query.get(q, [])] for q in query_ids}
        per_query = trec_metrics(grades, rankings)
        if lecard:
            restricted = lecard_metrics({q: beir.qrels[q] for q in query_ids}, rankings)
            per_query = {q: {**per_query[q], **restricted[q]} for q in query_ids}
        out[mode] = {"mean": {n: round(v, 4) for n, v in mean_metrics(per_query).items()},
                     "per_query": {q: {n: round(v, 4) for n, v in m.items()} for q, m in per_query.items()},
                     "returned_mean": round(sum(len(rankings[q]) for q in query_ids) / max(len(query_ids), 1), 1)}
    return out


def evaluate_beir(directory: str | Path, parser: CaseParser, *, modes: Sequence[str] = MODES,
                  embedder: str | Embedder | None = None, embed_budget: int | None = None, k: int = DEFAULT_K,
                  limit_queries: int | None = None, lecard_scoring: bool = False, allow_missing_docs: bool = False,
                  progress: Progress | None = None, passage_progress: PassageProgress | None = None) -> BeirResult:
    """Build a temporary knowledge base from a BEIR corpus, rank its queries, score the run."""
    modes = check_modes(modes, embedder)
    beir = load_beir(directory, allow_missing_docs=allow_missing_docs)
    query_ids = beir.judged_queries()
    skipped = [q for q in beir.queries if q not in set(query_ids)]
    if limit_queries is not None:
        query_ids = query_ids[:limit_queries]
    items = parse_records(parser, beir.corpus, beir.path / "corpus.jsonl")
    say = progress or (lambda _m: None)
    with temporary_kb("none" if modes == ["bm25"] else embedder, embed_budget) as kb:
        started = time.perf_counter()
        say(f"indexing {len(items)} documents" + ("" if modes == ["bm25"] else " and embedding their passages"))
        add_all(kb, items, passage_progress)
        build_s = round(time.perf_counter() - started, 1)
        require_vectors(kb, modes)
        run, rank_s = rank_queries(kb, beir, parser, query_ids, modes, k=k, progress=progress)
        facts = kb_facts(kb)
    report = {
        "dataset": str(beir.path), "kind": "beir", **facts,
        "queries": len(query_ids), "queries_skipped_no_relevant": skipped,
        "missing_relevant_docs": list(beir.missing_docs),
        "relevant_judgements": reachable_relevant(beir, query_ids),
        "pool": "candidates.jsonl" if beir.candidates is not None else None,
        "k": "pool size" if beir.candidates is not None else k,
        "lecard_scoring": lecard_scoring,
        "modes": score_run(beir, run, query_ids, lecard=lecard_scoring),
        "runtime_s": {"build": build_s, **{f"rank_{m}": s for m, s in rank_s.items()}},
    }
    return BeirResult(report, run)


def reachable_relevant(beir: BeirSet, query_ids: Sequence[str]) -> dict[str, int]:
    """How many (query, relevant document) judgements a system could possibly retrieve.

    A set whose relevant documents are missing from the corpus, or from the query's pool,
    caps every metric below 1 for any system; at 0 the figures say nothing at all.
    """
    corpus = {r.id for r in beir.corpus}
    total = in_corpus = in_pool = 0
    for q in query_ids:
        pool = set(beir.candidates[q]) if beir.candidates is not None and q in beir.candidates else corpus
        for doc_id, grade in beir.qrels[q]:
            if grade > 0:
                total += 1
                in_corpus += doc_id in corpus
                in_pool += doc_id in pool
    return {"total": total, "in_corpus": in_corpus, "in_pool": in_pool}


def check_modes(modes: Sequence[str], embedder: str | Embedder | None) -> list[str]:
    modes = list(dict.fromkeys(modes))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise EvaluationError(f"unknown mode {unknown[0] if unknown else ''!r}; use {', '.join(MODES)}")
    if embedder == "none" and any(m != "bm25" for m in modes):
        raise EvaluationError("vector and hybrid modes need an embedder (got --embedder none)")
    return modes


def require_vectors(kb: KnowledgeBase, modes: Sequence[str]) -> None:
    """Without a single vector, ``similar`` quietly ranks by keywords: never report that as vector."""
    if any(m != "bm25" for m in modes) and not kb.has_vectors:
        raise EvaluationError("no passage was embedded (every passage is of a kind that is not embedded), "
                              "so vector and hybrid would be keyword rankings; use --modes bm25")


def write_run(run: Run, fh: IO[str]) -> int:
    """TREC run lines ``qid Q0 docid rank score tag`` (tag = mode); returns the line count.

    Scores are the mode's own; when two are equal the rank column keeps the order
    ipkb returned (trec_eval itself would re-sort ties by document id).
    """
    count = 0
    for mode, by_query in run.items():
        for qid, ranked in by_query.items():
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                fh.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {mode}\n")
                count += 1
    return count


# --- triplets ------------------------------------------------------------------------------------

def semantic_score(query_vectors: np.ndarray, passage_matrix: np.ndarray) -> float:
    """Mean over the query's passages of the best cosine with any of the document's passages."""
    if query_vectors.size == 0 or passage_matrix.size == 0:
        return 0.0
    return float(np.mean((query_vectors @ passage_matrix.T).max(axis=1)))


def choose(difference: float) -> str | None:
    """B when B scored higher, C when C did, None on a tie."""
    return "B" if difference > 0 else "C" if difference < 0 else None


def fused_differences(differences: Mapping[str, Sequence[float]]) -> list[float]:
    """Sum over modes of each B−C difference divided by that mode's standard deviation."""
    columns = []
    for values in differences.values():
        arr = np.asarray(values, dtype=np.float64)
        spread = float(arr.std())
        columns.append(arr / spread if spread > 0 else arr)
    return [float(x) for x in np.sum(columns, axis=0)] if columns else []


def accuracy(differences: Sequence[float], labels: Sequence[str]) -> dict[str, Any]:
    picks = [choose(d) for d in differences]
    correct = sum(p == lab for p, lab in zip(picks, labels))
    ties = sum(p is None for p in picks)
    return {"accuracy": round(correct / len(labels), 4) if labels else 0.0, "correct": correct,
            "wrong": len(labels) - correct - ties, "ties": ties}


def evaluate_triplets(path: str | Path, parser: CaseParser, *, modes: Sequence[str] = MODES,
                      embedder: str | Embedder | None = None, embed_budget: int | None = None,
                      limit: int | None = None, progress: Progress | None = None,
                      passage_progress: PassageProgress | None = None) -> dict[str, Any]:
    """Accuracy of choosing the candidate closer to A, per mode, with tie counts."""
    modes = check_modes(modes, embedder)
    path = Path(path)
    triplets = load_triplets(path)[:limit] if limit else load_triplets(path)
    ids: dict[str, str] = {}
    records = []
    for t in triplets:
        for text in (t.b, t.c):
            if text not in ids:
                ids[text] = f"t{len(ids):05d}"
                records.append(CorpusRecord(ids[text], "", text, {}, t.line))
    items = parse_records(parser, records, path)
    say = progress or (lambda _m: None)
    need_vectors = any(m != "bm25" for m in modes)
    scores: dict[str, list[tuple[float, float]]] = {"bm25": [], "vector": []}
    with temporary_kb(embedder if need_vectors else "none", embed_budget) as kb:
        started = time.perf_counter()
        say(f"indexing {len(items)} distinct B/C texts" + (" and embedding their passages" if need_vectors else ""))
        add_all(kb, items, passage_progress)
        build_s = round(time.perf_counter() - started, 1)
        require_vectors(kb, modes)
        started = time.perf_counter()
        queries: dict[str, tuple[Document, list[Passage]]] = {}
        for n, t in enumerate(triplets, start=1):
            if t.a not in queries:
                queries[t.a] = parse_query(parser, t.a, f"{path}:{t.line}")
            doc, passages = queries[t.a]
            b, c = ids[t.b], ids[t.c]
            if "bm25" in modes or "hybrid" in modes:
                lex = kb.lexical.search(query_text(doc)[:6000], filters=ALL_DOCUMENTS, limit=2, allowed_ids={b, c})
                got = dict(lex.ranked)
                scores["bm25"].append((got.get(b, 0.0), got.get(c, 0.0)))
            if need_vectors:
                qvecs = kb.embedder.embed_queries([p.text for p in query_passages(passages, doc)])
                scores["vector"].append((semantic_score(qvecs, kb.vectors.doc_matrix(b)[1]),
                                         semantic_score(qvecs, kb.vectors.doc_matrix(c)[1])))
            if n % 50 == 0 or n == len(triplets):
                say(f"triplets: {n}/{len(triplets)}")
        score_s = round(time.perf_counter() - started, 1)
        facts = kb_facts(kb)
    labels = [t.label for t in triplets]
    diffs = {m: [b - c for b, c in pairs] for m, pairs in scores.items() if pairs}
    results = {}
    for mode in modes:
        if mode == "hybrid":
            fused = fused_differences({m: diffs[m] for m in ("bm25", "vector")})
            results[mode] = {**accuracy(fused, labels), "fusion": "z-scored B-C differences, bm25 + vector"}
        else:
            results[mode] = accuracy(diffs[mode], labels)
    return {"dataset": str(path), "kind": "triplets", "triplets": len(triplets),
            "distinct_texts": {"A": len(queries), "B_or_C": len(ids)}, **facts, "modes": results,
            "runtime_s": {"build": build_s, "score": score_s}}
