"""Ranking metrics for ``kb eval``: trec_eval's (through pytrec_eval) and LeCaRD's NDCG.

Pure functions over plain dicts and lists, no I/O.

- :func:`trec_metrics` hands rankings to pytrec_eval (the trec_eval C code), so
  NDCG@10/@30, MAP, P@5 and Recall@100 are the figures BEIR and TREC papers report.
  Grades are gains as they are (linear gain, log2 discount); P, MAP and recall count
  a document relevant from grade 1 up. trec_eval re-sorts a run by score and breaks
  ties by document id, so rankings are passed with scores derived from their ranks:
  the order measured is exactly the order the system returned.
- :func:`lecard_ndcg` is the scorer published with LeCaRD (``metrics.py`` of
  myx666/LeCaRD): the ranking is restricted to the query's first 30 labelled
  candidates, their grades are read in ranked order and padded with zeros to 30,
  and the ideal ranking sorts *all* the query's labels (LeCaRD's three golden
  candidates beyond the 30 included). A query whose restricted ranking has no gain
  adds 0 but still counts in the mean. It reproduces LeCaRD's published BM25 run on
  queries 0–4 (NDCG@10 .6392, @30 .7950; see tests/fixtures/lecard_bm25/).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import pytrec_eval

Qrels = Mapping[str, Mapping[str, int]]
Ranking = Sequence[str]

TREC_MEASURES: dict[str, str] = {
    "ndcg@10": "ndcg_cut_10",
    "ndcg@30": "ndcg_cut_30",
    "map": "map",
    "p@5": "P_5",
    "recall@100": "recall_100",
}
"""Our metric names → pytrec_eval's result keys."""

_PYTREC_REQUEST = {"ndcg_cut.10,30", "map", "P.5", "recall.100"}
LECARD_POOL = 30
LECARD_CUTS = (10, 30)


def trec_metrics(qrels: Qrels, rankings: Mapping[str, Ranking]) -> dict[str, dict[str, float]]:
    """Per query, the :data:`TREC_MEASURES` of its ranking (best first).

    Every query of ``qrels`` gets figures; a query missing from ``rankings`` or with
    an empty ranking scores 0 (pytrec_eval alone would leave it out of the mean).
    """
    run = {q: {doc: float(len(r) - i) for i, doc in enumerate(r)} for q, r in rankings.items() if r}
    judged = {q: {d: int(g) for d, g in labels.items()} for q, labels in qrels.items()}
    evaluated = pytrec_eval.RelevanceEvaluator(judged, _PYTREC_REQUEST).evaluate(run) if run else {}
    out = {}
    for q in qrels:
        got = evaluated.get(q)
        out[q] = {name: float(got[key]) if got else 0.0 for name, key in TREC_MEASURES.items()}
    return out


def dcg(gains: Sequence[float], k: int) -> float:
    """Sum of gain / log2(rank + 1) over the first ``k`` ranks."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def lecard_ndcg(ranking: Ranking, labels: Sequence[tuple[str, int]], k: int,
                pool: int = LECARD_POOL) -> float:
    """LeCaRD's NDCG@k for one query.

    ``labels`` are the query's (document, grade) pairs in the order of the label file
    (the qrels file order); the first ``pool`` of them are the labelled candidates.
    """
    grade_of = dict(labels[:pool])
    gains = [grade_of[d] for d in ranking if d in grade_of]
    gains += [0] * max(pool - len(gains), 0)
    if sum(gains) == 0:
        return 0.0
    ideal = sorted((g for _, g in labels), reverse=True)
    ideal += [0] * max(k - len(ideal), 0)
    best = dcg(ideal, k)
    return dcg(gains, k) / best if best > 0 else 0.0


def lecard_metrics(labels: Mapping[str, Sequence[tuple[str, int]]],
                   rankings: Mapping[str, Ranking]) -> dict[str, dict[str, float]]:
    """Per query, ``lecard_ndcg@10`` and ``lecard_ndcg@30``."""
    return {q: {f"lecard_ndcg@{k}": lecard_ndcg(rankings.get(q, ()), pairs, k) for k in LECARD_CUTS}
            for q, pairs in labels.items()}


def mean_metrics(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over the queries (an empty mapping gives {})."""
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {name: sum(m[name] for m in per_query.values()) / len(per_query) for name in names}
