"""Query robustness: no query string makes search or similar-case search fail or blow up.

On a small knowledge base of real corpus documents (fake embedder), hypothesis throws
random Unicode and query-language debris (unbalanced quotes and parentheses, unknown and
empty fields, operators alone, control and bidi characters, emoji, full-width
punctuation) at ``kb.search`` in every mode and at ``kb.similar`` (through
``ingest.query.query_from_text``). Only invalid *parameters* may raise, as QueryError.

100,000-character queries check a work bound instead of a wall time (speed lives in
bench/reliability_run.py): the number of distinct terms the lexical side evaluates
stays near the long-query cap, so a pasted wall of text cannot cost thousands of
posting-list scans.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from reliability_helpers import copy_corpus_subset, long_queries, queries

KB_SET = ("guiding-cases/指导案例20号.json", "guiding-cases/指导案例29号.json", "guiding-cases/指导案例46号.json",
          "laws/专利法(2020-10-17).md", "judgments/lecardv2_ip_criminal.jsonl",
          "judgments/cail2018_ip_criminal_facts.jsonl")
MODES = ("bm25", "vector", "hybrid")
EXAMPLES = 400


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    from ingest.pipeline import ingest_paths
    from kb.knowledge import KnowledgeBase

    root = tmp_path_factory.mktemp("query_kb")
    folder = copy_corpus_subset(root / "in", KB_SET)
    knowledge = KnowledgeBase.open(root / "kb", embedder="fake")
    with knowledge.writing():
        report = ingest_paths(knowledge, [folder])
    assert report.ok and len(report.added) > 40
    yield knowledge
    knowledge.close()


def assert_sound(kb, result, k: int) -> None:
    live = kb.store.live_ids()
    assert len(result.hits) <= k
    assert result.total >= 0
    for hit in result.hits:
        assert hit.id in live
        assert math.isfinite(hit.score)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries)
def test_search_never_raises_on_any_query_string(kb, query):
    for mode in MODES:
        assert_sound(kb, kb.search(query, k=5, mode=mode), 5)


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries)
def test_similar_never_raises_on_any_description(kb, query):
    from ingest.query import query_from_text
    from kb.errors import EmptyDocumentError

    if not query.strip():
        with pytest.raises(EmptyDocumentError):
            query_from_text(query)
        return
    doc, passages = query_from_text(query)
    live = kb.store.live_ids()
    for mode in MODES:
        hits = kb.similar(doc, passages, k=5, mode=mode)
        assert len(hits) <= 5
        assert all(h.id in live and math.isfinite(h.score) for h in hits)


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": -1}, {"k": 1001}, {"offset": -1}, {"mode": "nope"}])
def test_invalid_search_parameters_raise_query_error(kb, kwargs):
    from kb.errors import QueryError
    with pytest.raises(QueryError):
        kb.search("专利", **kwargs)


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": -1}, {"mode": "nope"}])
def test_invalid_similar_parameters_raise_query_error(kb, kwargs):
    from ingest.query import query_from_text
    from kb.errors import QueryError
    doc, passages = query_from_text("被告人未经注册商标所有人许可，在同一种商品上使用与其注册商标相同的商标")
    with pytest.raises(QueryError):
        kb.similar(doc, passages, **kwargs)


LONG = long_queries()


class LexicalSpy:
    """Wraps ``kb.lexical.search`` to record the terms each call evaluated (the work done)."""

    def __init__(self, kb):
        self.kb, self.terms = kb, []

    def __enter__(self):
        self.original = original = self.kb.lexical.search

        def search(*args, **kwargs):
            hits = original(*args, **kwargs)
            self.terms.append(len(set(hits.terms)))
            return hits
        self.kb.lexical.search = search
        return self

    def __exit__(self, *exc):
        self.kb.lexical.search = self.original


def term_bound() -> int:
    from kb.whoosh_backend import MAX_LONG_TERMS
    return 4 * MAX_LONG_TERMS  # a blow-up is thousands of terms, one posting scan each


@pytest.mark.parametrize("name", list(LONG))
def test_100k_character_query_is_answered_with_bounded_work(kb, name):
    query = LONG[name]
    assert len(query) == 100_000
    for mode in MODES:
        with LexicalSpy(kb) as spy:
            assert_sound(kb, kb.search(query, k=10, mode=mode), 10)
        assert all(n <= term_bound() for n in spy.terms), f"{name}/{mode}: {spy.terms} distinct terms evaluated"
        assert spy.terms or mode == "vector"


@pytest.mark.parametrize("name", list(LONG))
def test_100k_character_description_for_similar_cases(kb, name):
    from ingest.query import query_from_text
    from kb.similar import MAX_QUERY_PASSAGES, query_passages

    doc, passages = query_from_text(LONG[name])
    assert len(query_passages(passages, doc)) <= MAX_QUERY_PASSAGES
    live = kb.store.live_ids()
    for mode in MODES:
        with LexicalSpy(kb) as spy:
            hits = kb.similar(doc, passages, k=10, mode=mode)
        assert len(hits) <= 10 and all(h.id in live for h in hits)
        assert all(n <= term_bound() for n in spy.terms), f"{name}/{mode}: {spy.terms} distinct terms evaluated"
