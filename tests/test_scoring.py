"""BM25F scoring functions against hand computations."""
import math

import numpy as np

from kb.scoring import K1, bm25_idf, bm25f_term, top_k


def test_idf_is_positive_and_falls_with_document_frequency():
    assert bm25_idf(100, 1) > bm25_idf(100, 50) > bm25_idf(100, 100) > 0
    assert math.isclose(bm25_idf(10, 2), math.log(1 + (10 - 2 + 0.5) / 2.5))


def test_bm25f_sums_fields_before_saturation():
    size = 3
    live = np.ones(size, dtype=bool)
    lengths = np.array([10.0, 20.0, 10.0], dtype=np.float32)
    title = (np.array([0]), np.array([3.0], dtype=np.float32), lengths, 10.0, 0.0)  # boost 3, no length norm
    body = (np.array([0, 1]), np.array([1.0, 2.0], dtype=np.float32), lengths, 10.0, 1.0)
    scores = bm25f_term([title, body], n_docs=3, size=size, live=live)
    idf = bm25_idf(3, 2)
    tf0 = 3.0 + 1.0 / (10 / 10)
    tf1 = 2.0 / (20 / 10)
    assert math.isclose(scores[0], idf * tf0 * (K1 + 1) / (tf0 + K1), rel_tol=1e-6)
    assert math.isclose(scores[1], idf * tf1 * (K1 + 1) / (tf1 + K1), rel_tol=1e-6)
    assert scores[2] == 0.0


def test_bm25f_ignores_deleted_documents_in_df():
    lengths = np.ones(2, dtype=np.float32)
    field = (np.array([0, 1]), np.ones(2, dtype=np.float32), lengths, 1.0, 0.75)
    only_one_live = bm25f_term([field], n_docs=1, size=2, live=np.array([True, False]))
    assert only_one_live[0] > 0
    assert bm25f_term([field], n_docs=2, size=2, live=np.zeros(2, dtype=bool)).sum() == 0


def test_top_k_orders_by_score_then_docnum():
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9], dtype=np.float32)
    mask = np.array([True, True, True, False, True])
    best = top_k(mask, scores, 3)
    assert [d for d, _ in best] == [1, 4, 0]
    assert [s for _, s in best] == [float(scores[1]), float(scores[4]), 0.5]
    assert top_k(mask, scores, 0) == [] and top_k(np.zeros(5, dtype=bool), scores, 3) == []
