"""Exact cosine search over the store's vectors, restricted by document and refreshed on writes."""
import numpy as np

from kb.embeddings import FakeEmbedder, get_embedder
from kb.models import Document, Passage, Section
from kb.store import Store
from kb.vectors import MatrixVectorIndex, VectorHit, top_docs


def _put(store, doc_id, texts, embedder):
    doc = Document(doc_id, doc_id, "judgment", "\n".join(texts),
                   sections=tuple(Section("facts", "f", t, str(i)) for i, t in enumerate(texts)))
    passages = [Passage(f"{doc_id}#{i}", doc_id, str(i), "facts", "f", t, i) for i, t in enumerate(texts)]
    store.put_pending([(doc, passages, embedder.embed_passages(texts))])
    store.mark_live([doc_id])


def test_search_finds_nearest_passage_and_respects_allowed_docs(tmp_path):
    store, emb = Store(tmp_path / "s.sqlite"), FakeEmbedder()
    _put(store, "secret", ["被告采取了合理保密措施", "技术信息不为公众所知悉"], emb)
    _put(store, "mark", ["被告在同一种商品上使用相同商标", "商标近似导致混淆"], emb)
    index = MatrixVectorIndex(store)
    q = emb.embed_queries(["是否采取合理保密措施"])[0]
    hits = index.search(q, 3)
    assert hits[0] == VectorHit("secret#0", "secret", hits[0].score)
    assert hits[0].score > hits[-1].score
    only_mark = index.search(q, 3, allowed_docs={"mark"})
    assert {h.doc_id for h in only_mark} == {"mark"}
    assert index.search(q, 3, allowed_docs=set()) == []
    pids, matrix = index.doc_matrix("mark")
    assert pids == ["mark#0", "mark#1"] and matrix.shape == (2, emb.dim)


def test_index_reloads_after_a_write(tmp_path):
    store, emb = Store(tmp_path / "s.sqlite"), FakeEmbedder()
    index = MatrixVectorIndex(store)
    assert len(index) == 0
    _put(store, "a", ["植物新品种繁殖材料"], emb)
    assert len(index) == 1
    store.mark_deleting(["a"])
    store.purge(["a"])
    assert len(index) == 0


def test_top_docs_keeps_each_documents_best_passage():
    hits = [VectorHit("a#1", "a", 0.9), VectorHit("b#1", "b", 0.8), VectorHit("a#2", "a", 0.95)]
    assert top_docs(hits) == [("a", 0.95, "a#2"), ("b", 0.8, "b#1")]


def test_fake_embedder_is_deterministic_unit_length_and_registered():
    emb = get_embedder("fake")
    a = emb.embed_passages(["商业秘密侵权"])
    b = get_embedder("fake").embed_passages(["商业秘密侵权"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a[0]), 1.0)
    assert get_embedder("none") is None
    close = emb.embed_queries(["商业秘密侵权纠纷"])[0] @ a[0]
    far = emb.embed_queries(["植物新品种"])[0] @ a[0]
    assert close > far


def test_embed_budget_keeps_the_most_telling_passages():
    from kb.knowledge import apply_embed_budget
    ps = [Passage("d#h", "d", "h", "header", "首部", "x" * 50, 0, False),
          Passage("d#c", "d", "c", "claims", "诉称", "c" * 100, 1),
          Passage("d#f", "d", "f", "facts", "查明", "f" * 100, 2),
          Passage("d#r", "d", "r", "reasoning", "本院认为", "r" * 100, 3)]
    kept = {p.id for p in apply_embed_budget(ps, 200) if p.embed}
    assert kept == {"d#f", "d#r"}
    assert [p.id for p in apply_embed_budget(ps, 200)] == [p.id for p in ps]  # order and passages kept
    assert {p.id for p in apply_embed_budget(ps, 10) if p.embed} == {"d#f"}  # never zero vectors
