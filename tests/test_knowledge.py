"""The knowledge base's read side on the real shipped corpus (fake embedder): search modes,
facets and filters, address resolution, statute versions, similar-case ranking and reasons."""
from __future__ import annotations

import pytest

from ingest.query import query_from_text
from kb.embeddings import FakeEmbedder
from kb.errors import DocumentNotFoundError, ModelMismatchError, QueryError
from kb.knowledge import KnowledgeBase
from kb.models import CASE_TYPES, Citation, Document, Filters, Passage, Section
from kb.resolve import resolve_citation


@pytest.fixture(scope="module")
def kb(corpus_kb):
    with KnowledgeBase.open(corpus_kb, create=False) as opened:
        yield opened


def test_search_modes_share_filters_and_report_score_parts(kb):
    for mode in ("bm25", "vector", "hybrid"):
        result = kb.search("植物新品种 繁殖材料", k=5, mode=mode, filters=Filters(doc_types=("guiding_case",)))
        assert result.hits, mode
        assert all(h.doc_type == "guiding_case" for h in result.hits), mode
        assert all(set(h.scores) <= {"bm25", "vector"} for h in result.hits)
    hybrid = kb.search("植物新品种 繁殖材料", k=5, mode="hybrid")
    assert any(set(h.scores) == {"bm25", "vector"} for h in hybrid.hits)


def test_facets_count_the_matches_and_filters_narrow(kb):
    result = kb.search("商业秘密", k=5, mode="bm25")
    by_type = result.facets["doc_type"]
    assert sum(by_type.values()) == result.total
    narrowed = kb.search("商业秘密", k=5, mode="bm25", filters=Filters(doc_types=("interpretation",)))
    assert narrowed.total == by_type["interpretation"]


def test_pagination_continues_the_ranking(kb):
    first = kb.search("商标", k=10, mode="bm25")
    second = kb.search("商标", k=10, offset=10, mode="bm25")
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    both = kb.search("商标", k=20, mode="bm25")
    assert [h.id for h in both.hits] == [h.id for h in first.hits + second.hits]
    with pytest.raises(QueryError):
        kb.search("商标", k=0)


def test_superseded_texts_hidden_unless_asked(kb):
    ids = {h.id for h in kb.search("反不正当竞争法 商业秘密", k=50, mode="bm25").hits}
    assert "反不正当竞争法(2025)" in ids and "反不正当竞争法(2019)" not in ids
    wide = kb.search("反不正当竞争法 商业秘密", k=50, mode="bm25", filters=Filters(include_superseded=True))
    assert "反不正当竞争法(2019)" in {h.id for h in wide.hits}


def test_snippets_mark_query_terms_and_name_their_article(kb):
    hit = kb.search("合理保密措施", k=1, mode="bm25").hits[0]
    assert "【合理保密措施】" in hit.snippet
    assert hit.highlights[0].title.endswith("第五条")


def test_resolve_addresses(kb):
    doc, art = kb.resolve("反不正当竞争法#9")
    assert doc.id == "反不正当竞争法(2025)" and art.anchor == "9"
    doc, art = kb.resolve("反不正当竞争法(2019)#9")
    assert doc.status == "superseded" and "商业秘密" in art.text
    doc, art = kb.resolve("专利法第十一条")
    assert doc.id == "专利法(2020)" and art.number == 11
    doc, art = kb.resolve("民法典第一千一百八十五条")
    assert doc.id == "民法典·侵权责任编(2020)" and "惩罚性赔偿" in art.text
    doc, section = kb.resolve("指导案例219号")
    assert section is None and doc.guiding_no == 219
    with pytest.raises(DocumentNotFoundError):
        kb.resolve("专利法第九百九十九条")
    with pytest.raises(DocumentNotFoundError):
        kb.resolve("不存在的文件")


def test_citations_resolve_to_the_version_in_force(kb):
    cited = Citation("反不正当竞争法", 9, version="2019")
    found = resolve_citation(kb, cited)
    assert found.doc_id == "反不正当竞争法(2019)" and found.superseded
    assert resolve_citation(kb, Citation("反不正当竞争法", 9), at_date="2021-05-01").doc_id == "反不正当竞争法(2019)"
    assert resolve_citation(kb, Citation("反不正当竞争法", 9)).doc_id == "反不正当竞争法(2025)"
    old = resolve_citation(kb, Citation("反不正当竞争法", 10, version="1993"))
    assert old.doc_id == "反不正当竞争法(2025)" and "1993" in old.note


def test_similar_cases_are_cases_with_reasons(kb):
    facts = kb.get("指导案例219号").sections_of("facts")[0].text
    query, passages = query_from_text(facts)
    hits = kb.similar(query, passages, k=5)
    assert hits and all(h.doc_type in CASE_TYPES for h in hits)
    assert hits[0].id == "指导案例219号"  # its own facts find it first
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        r = h.reasons
        assert all(0.0 <= v <= 1.0 for v in (r.keyword, r.semantic, r.statute_overlap, r.authority))
        assert r.passage_pairs and r.passage_pairs[0].doc_text
    assert {"指导案例220号"} & {h.id for h in hits[1:]}  # another trade-secret case follows


def test_similar_leaves_out_the_pasted_case_itself(kb):
    whole = kb.get("指导案例219号").text
    query, passages = query_from_text(whole)
    assert "指导案例219号" not in {h.id for h in kb.similar(query, passages, k=5)}


def test_similar_reports_shared_and_superseded_articles(kb):
    text = ("被告未经许可使用原告的技术秘密，原告依据《中华人民共和国反不正当竞争法》（2019年修正）第九条"
            "及第十七条第三款主张赔偿。")
    query, passages = query_from_text(text)
    hits = kb.similar(query, passages, k=10, mode="bm25")
    shared = [h for h in hits if h.reasons.shared_articles]
    assert shared, "a case citing 反不正当竞争法第十七条 should be found"
    top = shared[0].reasons
    assert any("反不正当竞争法" in a for a in top.shared_articles)
    assert set(top.superseded_articles) <= set(top.shared_articles)
    assert top.superseded_articles  # the 2019 text is superseded by the 2025 revision


def test_guiding_cases_win_ties(tmp_path):
    text = "被告在同一种商品上使用与原告注册商标相同的商标，构成侵害商标权。"
    docs = [Document(id=i, title=t, doc_type=dt, text=text, authority=a, ip_categories=("商标",),
                     sections=(Section("facts", "查明事实", text, "facts"),))
            for i, t, dt, a in (("a-judgment", "判决", "judgment", 3), ("z-guiding", "指导案例", "guiding_case", 1))]
    with KnowledgeBase.open(tmp_path, embedder=FakeEmbedder()) as kb, kb.writing():
        kb.add([(d, [Passage(f"{d.id}#facts", d.id, "facts", "facts", "查明事实", text, 0)]) for d in docs])
    with KnowledgeBase.open(tmp_path, embedder=FakeEmbedder()) as kb:
        query, passages = query_from_text("被告使用与原告注册商标相同的商标，侵害商标权纠纷")
        for mode in ("bm25", "vector", "hybrid"):
            assert [h.id for h in kb.similar(query, passages, mode=mode)] == ["z-guiding", "a-judgment"], mode


def test_a_different_embedder_is_refused(corpus_kb):
    with pytest.raises(ModelMismatchError, match="fake"):
        KnowledgeBase.open(corpus_kb, embedder="fake:32", create=False)


def test_a_bare_fact_description_becomes_one_facts_section():
    # a LeCaRD-style description with no court header (synthetic, modelled on CAIL facts)
    text = ("2018年1月15日14时许，被告人张某某未经注册商标所有人许可，在其经营的店铺内销售假冒“贴必定”"
            "注册商标的防水材料，销售金额共计人民币八万元。案发后被告人如实供述了上述事实。")
    query, passages = query_from_text(text)
    assert [s.kind for s in query.sections] == ["facts"]
    assert passages and all(p.embed for p in passages)


def test_trade_secret_query_ranks_the_trade_secret_cases_and_provisions_first(kb):
    """Relevance smoke test on the real corpus (the foundation issue's example)."""
    top5 = [h.id for h in kb.search("侵害技术秘密 合理保密措施", k=5, mode="bm25").hits]
    assert "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020)" in top5
    assert len({"指导案例219号", "指导案例220号", "指导案例273号"} & set(top5)) >= 2
    assert kb.search("合理保密措施", k=1, mode="bm25").hits[0].id.startswith("最高人民法院关于审理侵犯商业秘密")


def test_field_queries_on_the_real_corpus(kb):
    hits = kb.search("类型:指导性案例 植物新品种", k=20, mode="bm25").hits
    assert hits and all(h.doc_type == "guiding_case" for h in hits)
    assert {"指导案例86号", "指导案例92号", "指导案例100号", "指导案例160号"} <= {h.id for h in hits}
    citing = kb.search("法条:刑法第213条", k=50, mode="bm25")
    assert citing.total >= 10
    for h in citing.hits:  # the cases citing the article, and the law that holds it
        doc = kb.get(h.id)
        assert "刑法#213" in {c.key for c in doc.citations} or (doc.law_name == "刑法" and doc.section("213"))
    phrase = kb.search('"临时保护期"', k=5, mode="bm25").hits
    assert phrase[0].id == "指导案例20号"


def test_a_guiding_case_is_found_by_its_number(kb):
    assert kb.search("指导案例46号", k=1, mode="bm25").hits[0].id == "指导案例46号"


def _tiny(doc_id: str, text: str) -> tuple[Document, list[Passage]]:
    doc = Document(id=doc_id, title=doc_id, doc_type="judgment", text=text, ip_categories=("商标",),
                   sections=(Section("facts", "查明事实", text, "facts"),))
    return doc, [Passage(f"{doc_id}#facts", doc_id, "facts", "facts", "查明事实", text, 0)]


def test_uncommitted_adds_stay_invisible_until_commit(tmp_path):
    with KnowledgeBase.open(tmp_path, embedder=FakeEmbedder()) as kb, kb.writing():
        kb.add([_tiny("first", "被告使用与原告注册商标相同的商标")], commit=False)
        assert kb.store.live_ids() == set()
        assert kb.search("注册商标", mode="bm25").total == 0
        kb.commit()
        assert kb.store.live_ids() == {"first"}
        kb.add([_tiny("second", "注册商标近似混淆")], commit=False)
        kb.add([_tiny("third", "注册商标驰名商标")], commit=False)
        # a delete commits what is pending first, so nothing is left half-visible
        assert kb.delete(["first"]) == ["first"]
        assert kb.store.live_ids() == {"second", "third"}
        kb.add([_tiny("fourth", "注册商标许可")], commit=False)
    # leaving writing() commits the rest
    with KnowledgeBase.open(tmp_path, embedder=FakeEmbedder()) as kb:
        assert kb.store.live_ids() == {"second", "third", "fourth"}
        assert {h.id for h in kb.search("注册商标", mode="bm25").hits} == {"second", "third", "fourth"}
        assert kb.check().ok
