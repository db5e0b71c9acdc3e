"""Fusion functions are pure: checked on hand-made rankings."""
from kb.fusion import normalise_max, overlap, rrf, weighted


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf({"bm25": ["a", "b", "c"], "vector": ["b", "c", "a"]})
    assert [d for d, _, _ in fused][0] == "b"  # 1/62 + 1/61 beats 1/61 + 1/63
    scores = {d: s for d, s, _ in fused}
    assert abs(scores["b"] - (1 / 62 + 1 / 61)) < 1e-12


def test_rrf_weights_and_parts():
    fused = rrf({"bm25": ["a"], "vector": ["b"]}, weights={"bm25": 2.0, "vector": 1.0})
    assert fused[0][0] == "a"
    assert fused[0][2] == {"bm25": 2.0 / 61}
    assert fused[1][2] == {"vector": 1.0 / 61}


def test_rrf_breaks_ties_by_id():
    fused = rrf({"x": ["b"], "y": ["a"]})
    assert [d for d, _, _ in fused] == ["a", "b"]


def test_rrf_empty():
    assert rrf({}) == []
    assert rrf({"bm25": []}) == []


def test_normalise_max_and_weighted():
    assert normalise_max({"a": 4.0, "b": 2.0}) == {"a": 1.0, "b": 0.5}
    assert normalise_max({"a": 0.0}) == {"a": 0.0}
    fused = weighted({"kw": {"a": 1.0, "b": 0.2}, "sem": {"b": 1.0}}, {"kw": 1.0, "sem": 1.0})
    assert fused[0][0] == "b" and abs(fused[0][1] - 0.6) < 1e-9
    assert abs(dict(fused)["a"] - 0.5) < 1e-9


def test_overlap_coefficient():
    assert overlap({"专利法#11"}, {"专利法#11", "专利法#13", "专利法#69"}) == 1.0
    assert overlap({"a", "b"}, {"b", "c"}) == 0.5
    assert overlap(set(), {"a"}) == 0.0


def test_tie_ranks_share_a_rank():
    from kb.similar import rank_part, tie_ranks
    assert tie_ranks([("a", 2.0), ("b", 3.0), ("c", 2.0), ("d", 1.0)]) == {"b": 1, "a": 2, "c": 2, "d": 4}
    assert rank_part(1) == 1.0 and rank_part(None) == 0.0 and rank_part(2) < 1.0
