"""The Whoosh full-text backend (the ``whoosh-reloaded`` 2.7.5 distribution).

Why it looks like this (targets at 20k documents, 2 cores: short query p50 ≤ 50 ms,
500-character case description p50 ≤ 0.5 s, indexing ≥ 4x naive Whoosh + jieba):

- Per-section text fields, none stored (the SQLite store keeps the text), with
  positions so phrases work everywhere; field boosts title 3 > gist 2.5 >
  reasoning 1.5 > facts = body 1 > result 0.7, scored with BM25F.
- Whoosh stores and writes the index; search does not use Whoosh's matchers.
  Whoosh's matcher tree costs Python calls per candidate document and per field,
  which put a 3-word query at ~200 ms and a case description at ~2 s on 20k
  documents. Instead, per reader generation (:class:`_Snapshot`) the facet columns,
  field lengths and live documents are loaded once into numpy arrays; posting lists
  are decoded a block at a time into numpy arrays (kept in an LRU cache), and
  queries are evaluated as dense score vectors with BM25F (:func:`bm25f_term`).
  Totals and facets over *all* matches then cost a mask and a ``bincount``.
  Phrases (quoted, and a dictionary compound written as its pieces) read word
  positions only for the documents holding every word (:mod:`kb.whoosh_postings`);
  Whoosh's span matcher had made them 40-50 ms of a 55 ms short query at 20k
  documents. Their masks are cached per reader generation.
- A long query (a case description) is reduced to its discriminative terms
  (:func:`kb.analysis.discriminative_terms`), weighted by their weights.
- Whoosh document numbers never leave this module: callers get document ids.
- Adds stream into one writer held open until :meth:`commit` (optionally with
  ``procs`` worker processes). Re-adding or deleting a document added since the
  last commit, which Whoosh's open segment cannot undo, is fixed up at commit.

Measured here (2 shared cores, other jobs running; 20k documents of ~1,500
characters recombined from real corpus sentences): indexing 100 docs/s vs 47 for
Whoosh + jieba's ChineseAnalyzer with stored content (2.1x, one process; index 185
MB vs 302 MB); short queries p50 2-7 ms warm, 36-55 ms with every posting list
read cold; case descriptions p50 27-82 ms; a new reader generation costs ~0.3 s once.
bench/bench_index.py gives the current figures.
"""
from __future__ import annotations

import logging
import struct
import threading
from collections import OrderedDict
from itertools import accumulate
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from whoosh import formats
from whoosh import index as windex
from whoosh.fields import ID, KEYWORD, TEXT, Schema
from whoosh.index import LockError

from .analysis import Analyzer, JiebaTokenizer, discriminative_terms, get_analyzer, jieba_analyzer
from .errors import LockedError, QueryError, StoreError
from .lexical import FACET_FIELDS, LexicalBackend, LexicalHits, register_lexical
from .models import LEGAL_TEXT_TYPES, Document, Filters
from .scoring import bm25f_term, top_k
from .query import (DEFAULT_FIELDS, And, FieldValue, Node, Not, Or, ParsedQuery, Phrase, Words,
                    normalize_authority, normalize_category, normalize_doc_type, normalize_statute,
                    normalize_status, parse_query, year_range)
from .whoosh_postings import column_values, field_lengths, phrase_docs, read_postings

logger = logging.getLogger(__name__)

FIELD_BOOSTS: Mapping[str, float] = {
    "title": 3.0, "gist": 2.5, "reasoning": 1.5, "facts": 1.0, "body": 1.0, "result": 0.7,
}
"""Text fields searched by plain words, with their index-time boosts."""

SEARCH_FIELDS: tuple[str, ...] = tuple(FIELD_BOOSTS)

FIELD_OF_KIND: Mapping[str, str] = {
    "gist": "gist", "reasoning": "reasoning", "result": "result",
    "facts": "facts", "claims": "facts", "defense": "facts", "evidence": "facts",
}
"""Section kind -> text field; every other kind (article, item, preamble, body, laws,
keywords, header, parties, tail) goes to ``body``."""

FIELD_B: Mapping[str, float] = {"title": 0.4, "gist": 0.6, "reasoning": 0.75, "facts": 0.75,
                                 "body": 0.75, "result": 0.75, "cause": 0.4}
"""BM25F length normalisation per field: short fields are normalised less."""

MAX_LONG_TERMS = 24
FILTER_CACHE_SIZE = 32
MASK_CACHE_SIZE = 512
DOC_FREQ_CACHE_SIZE = 200_000
POSTING_CACHE_BYTES = 64 << 20
"""Decoded posting lists kept per reader generation (8 bytes a posting)."""


class WordPositions(formats.Positions):
    """Whoosh's ``Positions`` format, made cheaper to write.

    With the jieba tokenizer it takes word -> positions from
    :meth:`Analyzer.positions` in one pass instead of one Token object per word, and
    it encodes positions as a uint32 delta array instead of a pickle. Any other
    analyzer goes through Whoosh's generic path. Reads (phrase matching) decode the
    same array.
    """

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(analyzer, JiebaTokenizer) or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        fb = self.field_boost
        encode = self.encode
        for word, poslist in get_analyzer().positions(value).items():
            yield word, len(poslist), len(poslist) * fb, encode(poslist)

    def encode(self, poslist):
        n = len(poslist)
        if n == 1:
            return _ONE_POSITION + _UINT.pack(poslist[0])
        deltas = [poslist[0]] + [b - a for a, b in zip(poslist, poslist[1:])]
        return formats.pack_uint(n) + struct.pack(f"={n}I", *deltas)

    def decode_positions(self, valuestring):
        n = formats.unpack_uint(valuestring[:formats._INT_SIZE])[0]
        return list(accumulate(struct.unpack_from(f"={n}I", valuestring, formats._INT_SIZE)))


_UINT = struct.Struct("=I")
_ONE_POSITION = formats.pack_uint(1)


def _text_field(analyzer, *, stored: bool = False, boost: float = 1.0) -> TEXT:
    field = TEXT(analyzer=analyzer, stored=stored, field_boost=boost)
    field.format = WordPositions(field_boost=boost)
    return field


def build_schema() -> Schema:
    text = jieba_analyzer("index")
    fields: dict[str, Any] = {
        "id": ID(stored=True, unique=True, sortable=True),
        "title": _text_field(text, stored=True, boost=FIELD_BOOSTS["title"]),
        "doc_type": ID(stored=True, sortable=True),
        "ip_category": KEYWORD(commas=True, stored=True, sortable=True),
        "court": ID(stored=True, sortable=True),
        "year": ID(stored=True, sortable=True),
        "authority": ID(stored=True, sortable=True),
        "status": ID(stored=True, sortable=True),
        "statutes": KEYWORD(commas=True, stored=False),
        "cause": _text_field(text, stored=True),
        "case_no": ID(stored=True),
    }
    for name, boost in FIELD_BOOSTS.items():
        if name != "title":
            fields[name] = _text_field(text, boost=boost)
    return Schema(**fields)


def document_fields(doc: Document) -> dict[str, str]:
    """The Whoosh field values of a document (empty fields left out)."""
    parts: dict[str, list[str]] = {name: [] for name in SEARCH_FIELDS if name != "title"}
    if doc.sections:
        for sec in doc.sections:
            target = FIELD_OF_KIND.get(sec.kind, "body")
            parts[target].append(f"{sec.title}\n{sec.text}" if sec.title else sec.text)
    else:
        parts["body"].append(doc.text)
    if doc.keywords and not any(s.kind == "keywords" for s in doc.sections):
        parts["body"].append("，".join(doc.keywords))
    out: dict[str, str] = {name: "\n".join(texts) for name, texts in parts.items() if texts}
    out.update(
        id=doc.id,
        title=_title_text(doc),
        doc_type=doc.doc_type,
        ip_category=",".join(doc.ip_categories),
        court=doc.court or "",
        year=str(doc.year) if doc.year else "",
        authority=str(doc.authority) if doc.authority else "",
        status=doc.status or "current",
        statutes=",".join(statute_keys(doc)),
        cause=doc.cause or "",
        case_no=doc.case_no or "",
    )
    return {k: v for k, v in out.items() if v}


def _title_text(doc: Document) -> str:
    """The title as searched: with the guiding-case number and the case number, which
    users type (指导案例46号, （2013）民申字第1643号) but titles leave out."""
    extra = [f"指导案例{doc.guiding_no}号"] if doc.guiding_no else []
    if doc.case_no and doc.case_no not in doc.title:
        extra.append(doc.case_no)
    return " ".join([doc.title, *extra])


def statute_keys(doc: Document) -> list[str]:
    """What ``statute:`` matches: each citation's article key and bare law name, and for a
    legal text its own law name and ``law#anchor`` of each of its articles."""
    keys: list[str] = []
    for cite in doc.citations:
        keys.append(cite.key)
        keys.append(cite.law)
    if doc.doc_type in LEGAL_TEXT_TYPES and doc.law_name:
        keys.append(doc.law_name)
        keys.extend(f"{doc.law_name}#{s.anchor}" for s in doc.sections if s.kind == "article")
    return list(dict.fromkeys(k.replace(",", " ").strip() for k in keys if k and k.strip()))


# --- scoring (pure) ------------------------------------------------------------------------------

# --- one reader generation ---------------------------------------------------------------------

class _Codes:
    """A facet column as integer codes: (docnum, code) pairs, so multi-valued works alike."""

    def __init__(self, values: Sequence[str], *, multi: bool):
        self.vocab: list[str] = []
        index: dict[str, int] = {}
        docs: list[int] = []
        codes: list[int] = []
        for docnum, value in enumerate(values):
            for v in (value.split(",") if multi else (value,)):
                if v:
                    docs.append(docnum)
                    codes.append(index.setdefault(v, len(index)))
        self.vocab = list(index)
        self.index = index
        self.docs = np.array(docs, dtype=np.int64)
        self.codes = np.array(codes, dtype=np.int64)
        self.size = len(values)

    def mask(self, values: Iterable[str]) -> np.ndarray:
        wanted = [self.index[v] for v in values if v in self.index]
        out = np.zeros(self.size, dtype=bool)
        if wanted:
            out[self.docs[np.isin(self.codes, wanted)]] = True
        return out

    def count(self, mask: np.ndarray) -> dict[str, int]:
        if not len(self.docs):
            return {}
        counts = np.bincount(self.codes[mask[self.docs]], minlength=len(self.vocab))
        return {self.vocab[i]: int(c) for i, c in enumerate(counts) if c}


class _Snapshot:
    """Everything search needs from one reader generation, loaded once, docnum-indexed."""

    def __init__(self, searcher, posting_budget: int = POSTING_CACHE_BYTES):
        reader = searcher.reader()
        self.searcher = searcher
        self.reader = reader
        self.generation = reader.generation()
        self.size = reader.doc_count_all()
        self.ids = column_values(reader, "id")
        self.live = np.zeros(self.size, dtype=bool)
        if self.size:
            self.live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
        self.n_live = int(np.count_nonzero(self.live))
        self.docnum_of = {self.ids[d]: int(d) for d in np.flatnonzero(self.live)}
        self.facets = {name: _Codes(column_values(reader, name), multi=name == "ip_category")
                       for name in FACET_FIELDS}
        self.lengths = {f: field_lengths(reader, f, self.size) for f in (*SEARCH_FIELDS, "cause")}
        self.avg_len = {f: max(float(arr[self.live].mean()), 1.0) if self.n_live else 1.0
                        for f, arr in self.lengths.items()}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._posting_bytes = 0
        self._budget = posting_budget
        self._filter_masks: dict[tuple, np.ndarray] = {}
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._doc_freqs: dict[str, int] = {}

    def postings(self, field_name: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a term in a field, decoded once and cached (LRU)."""
        key = (field_name, term)
        hit = self._postings.get(key)
        if hit is not None:
            self._postings.move_to_end(key)
            return hit
        hit = read_postings(self.reader, field_name, term)
        self._postings[key] = hit
        self._posting_bytes += hit[0].nbytes + hit[1].nbytes
        while self._posting_bytes > self._budget and len(self._postings) > 1:
            _, (ids, weights) = self._postings.popitem(last=False)
            self._posting_bytes -= ids.nbytes + weights.nbytes
        return hit

    def doc_freq(self, term: str) -> int:
        """Documents with ``term`` in any text field (approximated by the largest field).

        Remembered per generation: a case description asks for ~100 terms, most of
        them asked by every description before it (six term-table lookups each)."""
        df = self._doc_freqs.get(term)
        if df is None:
            df = max(self.reader.doc_frequency(f, term) for f in SEARCH_FIELDS)
            if len(self._doc_freqs) >= DOC_FREQ_CACHE_SIZE:
                self._doc_freqs.clear()
            self._doc_freqs[term] = df
        return df

    def term_scores(self, term: str, fields: Sequence[str]) -> np.ndarray:
        parts = []
        for f in fields:
            ids, weights = self.postings(f, term)
            parts.append((ids, weights, self.lengths[f], self.avg_len[f], FIELD_B.get(f, 0.75)))
        return bm25f_term(parts, self.n_live, self.size, self.live)

    def filter_mask(self, filters: Filters, default_status: bool) -> np.ndarray:
        """Live documents passing ``filters``, cached per filter value."""
        key = (filters, default_status)
        mask = self._filter_masks.get(key)
        if mask is None:
            mask = self.live.copy()
            for name, values in _filter_values(filters, default_status):
                mask &= self.facets[name].mask(values)
            if len(self._filter_masks) >= FILTER_CACHE_SIZE:
                self._filter_masks.pop(next(iter(self._filter_masks)))
            self._filter_masks[key] = mask
        return mask

    def cached_mask(self, key: tuple, compute) -> np.ndarray:
        """A document mask computed once per reader generation (LRU of :data:`MASK_CACHE_SIZE`):
        phrase checks read word positions, the one costly step of a short query."""
        mask = self._masks.get(key)
        if mask is None:
            mask = compute()
            mask.setflags(write=False)
            self._masks[key] = mask
            if len(self._masks) > MASK_CACHE_SIZE:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(key)
        return mask

    def id_mask(self, doc_ids: Iterable[str]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        nums = [d for i in doc_ids if (d := self.docnum_of.get(i)) is not None]
        if nums:
            mask[nums] = True
        return mask


def _filter_values(filters: Filters, default_status: bool) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    if filters.doc_types:
        out.append(("doc_type", [normalize_doc_type(v) for v in filters.doc_types]))
    if filters.categories:
        out.append(("ip_category", [normalize_category(c) for c in filters.categories]))
    if filters.courts:
        out.append(("court", list(filters.courts)))
    if filters.years:
        out.append(("year", [str(y) for y in filters.years]))
    if filters.authorities:
        out.append(("authority", [str(a) for a in filters.authorities]))
    if filters.statuses:
        out.append(("status", [normalize_status(s) for s in filters.statuses]))
    elif default_status and not filters.include_superseded:
        out.append(("status", ["current"]))
    return out


# --- evaluating the parse tree ---------------------------------------------------------------------

class _Evaluator:
    """Turns a :class:`ParsedQuery` into a match mask and BM25F scores over all documents."""

    def __init__(self, snap: _Snapshot, analyzer: Analyzer, max_long_terms: int):
        self.snap = snap
        self.an = analyzer
        self.max_long_terms = max_long_terms
        self.terms: list[str] = []
        self.notes: list[str] = []
        self._term_cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def evaluate(self, parsed: ParsedQuery, *, relaxed: bool = False
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        root = parsed.root
        if root is None:
            return None
        if parsed.is_long:
            result = self._long(root.text if isinstance(root, Words) else parsed.text)
            for r in parsed.restrictions:
                if result is not None:
                    result = (result[0] & self._field_value(r)[0], result[1])
            return result
        if relaxed:
            return self._words(" ".join(w.text for w in _plain_words(root)), SEARCH_FIELDS, conjunction=False)
        return self._node(root)

    def distinct_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.terms))

    # -- nodes -------------------------------------------------------------------------------------

    def _node(self, node: Node) -> tuple[np.ndarray, np.ndarray] | None:
        if isinstance(node, Words):
            return self._words(node.text, _fields(node.field), conjunction=True)
        if isinstance(node, Phrase):
            return self._phrase(node.text, _fields(node.field))
        if isinstance(node, FieldValue):
            return self._field_value(node)
        if isinstance(node, Not):
            child = self._node(node.child)
            if child is None:
                return None
            return ~child[0], self._zeros()
        results = [r for r in (self._node(c) for c in node.children) if r is not None]
        if not results:
            return None
        mask, score = results[0][0].copy(), results[0][1].copy()
        for m, s in results[1:]:
            if isinstance(node, Or):
                mask |= m
            else:
                mask &= m
            score += s
        return mask, score

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.snap.size, dtype=np.float32)

    def _term(self, term: str, fields: Sequence[str]) -> np.ndarray:
        key = (term, tuple(fields))
        scores = self._term_cache.get(key)
        if scores is None:
            scores = self._term_cache[key] = self.snap.term_scores(term, fields)
        return scores

    def _words(self, text: str, fields: Sequence[str], *, conjunction: bool
               ) -> tuple[np.ndarray, np.ndarray] | None:
        terms = self.an.query_terms(text)
        if not terms:
            return None
        self.terms.extend(terms)
        score = self._zeros()
        mask = np.ones(self.snap.size, dtype=bool) if conjunction else np.zeros(self.snap.size, dtype=bool)
        for term in terms:
            s = self._compound(term, fields)
            if conjunction:
                mask &= s > 0
            else:
                mask |= s > 0
            score += s
        return mask, score

    def _compound(self, term: str, fields: Sequence[str]) -> np.ndarray:
        """Scores of a query word, also matching its pieces written as a phrase.

        A dictionary compound such as 合理保密措施 is one token, but judgments write
        合理的保密措施 (stop words take no position, so the pieces 合理|保密措施 stand
        side by side). Statute names and splits into single characters are left alone.
        """
        scores = self._term(term, fields)
        pieces = self.an.split_compound(term)
        if len(pieces) < 2 or any(len(p) < 2 for p in pieces) or self.an.is_statute_name(term):
            return scores
        alt = self._phrase_mask([pieces], fields, skip=scores > 0)
        if not alt.any():
            return scores
        piece_scores = sum(self._term(p, fields) for p in pieces)
        return scores + np.where(alt, piece_scores, 0.0).astype(np.float32)

    def _phrase(self, text: str, fields: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        groups = self.an.phrase_groups(text)
        if not groups:
            return None
        mask = np.ones(self.snap.size, dtype=bool)
        score = self._zeros()
        for words in groups:
            self.terms.extend(words)
            split = [piece for w in words for piece in self.an.split_compound(w)]
            variants = [words] if split == words else [words, split]
            group_mask = self._phrase_mask(variants, fields)
            mask &= group_mask
            for term in dict.fromkeys(words + split):
                score += np.where(group_mask, self._term(term, fields), 0.0).astype(np.float32)
        return mask, score

    def _phrase_mask(self, variants: list[list[str]], fields: Sequence[str], *,
                     skip: np.ndarray | None = None) -> np.ndarray:
        """Documents where any variant's words stand side by side in one of ``fields``
        (documents in ``skip`` are not checked and never returned)."""
        key = (tuple(map(tuple, variants)), tuple(fields), skip is not None)
        return self.snap.cached_mask(key, lambda: self._phrase_mask_uncached(variants, fields, skip))

    def _phrase_mask_uncached(self, variants, fields, skip) -> np.ndarray:
        out = np.zeros(self.snap.size, dtype=bool)
        for words in variants:
            if len(words) == 1:
                out |= self._term(words[0], fields) > 0
                continue
            for f in fields:  # only documents where every word occurs in that field
                candidates = _common_docs([self.snap.postings(f, w)[0] for w in dict.fromkeys(words)])
                done = out if skip is None else out | skip
                candidates = candidates[~done[candidates]]
                if len(candidates):
                    out[phrase_docs(self.snap.reader, f, words, candidates)] = True
        if skip is not None:
            out &= ~skip
        return out

    def _field_value(self, node: FieldValue) -> tuple[np.ndarray, np.ndarray]:
        name, value = node.field, node.value
        snap = self.snap
        if name in ("doc_type", "ip_category", "status", "authority", "court"):
            norm = {"doc_type": normalize_doc_type, "ip_category": normalize_category,
                    "status": normalize_status, "authority": normalize_authority}.get(name, str.strip)
            return snap.facets[name].mask([norm(value)]), self._zeros()
        if name == "year":
            span = year_range(value)
            if span is None:
                self.notes.append(f"year {value!r} is not a year or a range like 2019-2021")
                return np.zeros(snap.size, dtype=bool), self._zeros()
            years = [y for y in snap.facets["year"].vocab if y.isdigit() and span[0] <= int(y) <= span[1]]
            return snap.facets["year"].mask(years), self._zeros()
        keys = normalize_statute(value) if name == "statutes" else [value.strip()]
        if name == "id":
            return snap.id_mask(keys), self._zeros()
        mask = np.zeros(snap.size, dtype=bool)
        for key in keys:
            ids, _ = snap.postings(name, key)
            mask[ids] = True
        return mask, self._zeros()

    def _long(self, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        chosen = discriminative_terms(text, self.snap.doc_freq, self.snap.n_live,
                                      max_terms=self.max_long_terms, analyzer=self.an)
        if not chosen:
            self.notes.append("long query: none of its terms occurs in the index")
            return None
        self.terms.extend(t for t, _ in chosen)
        self.notes.append(f"long query reduced to {len(chosen)} terms")
        top = chosen[0][1]
        score = self._zeros()
        for term, weight in chosen:
            score += np.float32(weight / top) * self._term(term, SEARCH_FIELDS)
        return score > 0, score


def _common_docs(posting_ids: list[np.ndarray]) -> np.ndarray:
    """Docnums present in every posting list (smallest first, so it stops early)."""
    out = None
    for ids in sorted(posting_ids, key=len):
        out = ids if out is None else np.intersect1d(out, ids, assume_unique=True)
        if not len(out):
            break
    return out if out is not None else np.zeros(0, dtype=np.int64)


def _fields(name: str | None) -> Sequence[str]:
    return SEARCH_FIELDS if name is None else (name,)


def _plain_words(root: Node) -> list[Words]:
    """The words of an implicit-AND query of plain words, else []."""
    words = root.children if isinstance(root, And) else (root,)
    return [w for w in words if isinstance(w, Words) and w.field is None] \
        if all(isinstance(w, Words) and w.field is None for w in words) else []


def _mentions_field(parsed: ParsedQuery, name: str) -> bool:
    def walk(node: Node | None) -> bool:
        if isinstance(node, FieldValue):
            return node.field == name
        if isinstance(node, (And, Or)):
            return any(walk(c) for c in node.children)
        if isinstance(node, Not):
            return walk(node.child)
        return False
    return walk(parsed.root) or any(r.field == name for r in parsed.restrictions)


# --- the backend --------------------------------------------------------------------------------

class WhooshBackend(LexicalBackend):
    """A Whoosh index in ``directory``; see the module docstring for the design.

    ``procs`` > 1 indexes in that many worker processes (Whoosh's MpWriter; each
    worker loads the jieba dictionary itself) and ``multisegment`` skips the final
    merge of their segments. ``lock_timeout`` is how long to wait for another
    writer before :class:`~kb.errors.LockedError`.
    """

    def __init__(self, directory: Path | str, *, procs: int = 1, limitmb: int = 256,
                 multisegment: bool = False, lock_timeout: float = 1.0,
                 max_long_terms: int = MAX_LONG_TERMS, analyzer: Analyzer | None = None):
        self.directory = Path(directory)
        self.procs = max(1, int(procs))
        self.limitmb = limitmb
        self.multisegment = multisegment
        self.lock_timeout = lock_timeout
        self.max_long_terms = max_long_terms
        self._analyzer = analyzer
        self._ix = self._open_index()
        self._writer = None
        self._replace = True
        self._session: set[str] = set()  # ids added since the last commit
        self._redo: dict[str, dict[str, str] | None] = {}  # their final versions (None: deleted)
        self._snapshot: _Snapshot | None = None
        self._lock = threading.RLock()

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = get_analyzer()
        return self._analyzer

    def _open_index(self):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if windex.exists_in(str(self.directory)):
                ix = windex.open_dir(str(self.directory))
                missing = set(build_schema().names()) - set(ix.schema.names())
                if missing:
                    raise StoreError(f"lexical index at {self.directory} lacks fields {sorted(missing)}; "
                                     "rebuild it")
                return ix
            return windex.create_in(str(self.directory), build_schema())
        except OSError as exc:
            raise StoreError(f"cannot open the lexical index at {self.directory}: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------

    def _open_writer(self) -> None:
        if self._writer is not None:
            return
        self._writer = self._new_writer(parallel=True)
        self._replace = self._ix.doc_count_all() > 0

    def _new_writer(self, *, parallel: bool):
        options: dict[str, Any] = {"limitmb": self.limitmb, "timeout": self.lock_timeout, "delay": 0.05}
        if parallel and self.procs > 1:
            options.update(procs=self.procs, multisegment=self.multisegment)
        try:
            return self._ix.writer(**options)
        except LockError:
            raise LockedError(f"another process is writing to the index at {self.directory}") from None

    def add(self, docs: Sequence[Document]) -> None:
        """Index documents now (streamed into the writer); visible after :meth:`commit`.

        A document whose id was already added since the last commit cannot be taken
        back out of Whoosh's open segment: its final version is kept aside and
        swapped in by :meth:`commit`.
        """
        with self._lock:
            self._open_writer()
            for doc in docs:
                fields = document_fields(doc)
                if doc.id in self._session:
                    self._redo[doc.id] = fields
                elif self._replace:
                    self._writer.update_document(**fields)
                else:
                    self._writer.add_document(**fields)
                self._session.add(doc.id)

    def delete(self, doc_ids: Iterable[str]) -> None:
        with self._lock:
            self._open_writer()
            for doc_id in doc_ids:
                if doc_id in self._session:
                    self._redo[doc_id] = None
                else:
                    self._writer.delete_by_term("id", doc_id)

    def commit(self) -> None:
        """Make adds and deletes durable and visible.

        Ids added twice (or added then deleted) since the last commit take a second,
        short write that replaces every copy by the final version.
        """
        with self._lock:
            writer = self._writer
            if writer is None:
                return
            redo = self._redo
            try:
                writer.commit()
                self._drop_writer(cancel=False)
                if redo:
                    fixer = self._new_writer(parallel=False)
                    try:
                        for doc_id, fields in redo.items():
                            fixer.delete_by_term("id", doc_id)
                            if fields is not None:
                                fixer.add_document(**fields)
                        fixer.commit()
                    except BaseException:
                        fixer.cancel()
                        raise
            except BaseException:
                self._drop_writer(cancel=True)
                raise

    def cancel(self) -> None:
        with self._lock:
            self._drop_writer(cancel=True)

    def _drop_writer(self, *, cancel: bool) -> None:
        writer, self._writer = self._writer, None
        self._session = set()
        self._redo = {}
        if writer is not None and cancel:
            try:
                writer.cancel()
            except Exception:  # noqa: BLE001 - releasing the lock matters more than the error
                logger.exception("cancelling the Whoosh writer failed")

    # -- reading ---------------------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        """The snapshot of the latest commit (rebuilt when another commit happened)."""
        snap = self._snapshot
        if snap is not None and not snap.searcher.up_to_date():
            # a fresh searcher, not Searcher.refresh(): that reuses segment readers by
            # segment id and so misses deletions committed into an existing segment
            snap.searcher.close()
            snap = None
        if snap is None:
            snap = self._snapshot = _Snapshot(self._ix.searcher())
        return snap

    def doc_ids(self) -> set[str]:
        with self._lock:
            return set(self._current().docnum_of)

    def doc_count(self) -> int:
        with self._lock:
            return self._current().n_live

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())

    def close(self) -> None:
        with self._lock:
            self._drop_writer(cancel=True)
            if self._snapshot is not None:
                self._snapshot.searcher.close()
                self._snapshot = None

    # -- searching ---------------------------------------------------------------------------------

    def search(self, query: str, *, filters: Filters, limit: int, with_facets: bool = False,
               allowed_ids: set[str] | None = None, as_description: bool = False) -> LexicalHits:
        if limit < 0:
            raise QueryError(f"limit must be >= 0, got {limit}")
        if as_description:
            parsed = ParsedQuery(query, Words(query) if query.strip() else None, is_long=True)
        else:
            parsed = parse_query(query, known_fields=DEFAULT_FIELDS)
        with self._lock:
            snap = self._current()
            allow = snap.filter_mask(filters, default_status=not _mentions_field(parsed, "status"))
            if allowed_ids is not None:
                allow = allow & snap.id_mask(allowed_ids)
            ev = _Evaluator(snap, self.analyzer, self.max_long_terms)
            result = ev.evaluate(parsed)
            notes = list(parsed.notes)
            mask = result[0] & allow if result is not None else np.zeros(snap.size, dtype=bool)
            if (result is not None and not mask.any() and not parsed.explicit and not parsed.is_long
                    and len(ev.distinct_terms()) > 1 and _plain_words(parsed.root)):
                relaxed = ev.evaluate(parsed, relaxed=True)
                if relaxed is not None and (relaxed[0] & allow).any():
                    result, mask = relaxed, relaxed[0] & allow
                    notes.append("no document has every word; showing documents with any of them")
            ranked = top_k(mask, result[1], limit) if result is not None else []
            facets = {name: snap.facets[name].count(mask) for name in FACET_FIELDS} if with_facets else {}
            return LexicalHits(
                ranked=tuple((snap.ids[d], score) for d, score in ranked),
                total=int(np.count_nonzero(mask)),
                terms=ev.distinct_terms(),
                facets=facets,
                notes=tuple(notes + ev.notes),
            )


register_lexical("whoosh", WhooshBackend)
