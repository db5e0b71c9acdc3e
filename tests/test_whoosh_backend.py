"""kb/whoosh_backend.py: writing, searching, filters, facets, phrases, long queries, locking.

Document texts are real excerpts copied from /work/shared/corpus-src (not read at test time);
ids, dates and categories follow the sources. Where each text comes from:
- GC220_*: SPC guiding case 220 (侵害技术秘密), 裁判要点 2 and 基本案情 (spc-guiding-cases-ip).
- GC20_GIST: SPC guiding case 20 (侵害发明专利权, 临时保护期), 裁判要点.
- GC30_GIST: SPC guiding case 30 (侵害商标权及不正当竞争), 裁判要点 1.
- SPC_TRADE_SECRET_5: 最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10) 第五条.
- AUCL_2019_9 / AUCL_2025_10: 反不正当竞争法 2019 第九条 last paragraph / 2025 第十条 first paragraph.
- PATENT_LAW_19: 专利法(2020-10-17) 第十九条.
- LEXEVAL_TM: a sentence of a trademark judgment quoted in LexEval (lexeval-ip-case-facts).
"""
from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kb.errors import LockedError, QueryError
from kb.lexical import FACET_FIELDS, LexicalHits, open_lexical
from kb.models import Citation, Document, Filters, Section
from kb.whoosh_backend import WhooshBackend, document_fields
from real_texts import GC220_FACTS

GC220_GIST = ("被诉侵权人构成故意侵害技术秘密的，人民法院可以被诉侵权人相关产品销售利润为基础，计算损害赔偿数额；"
              "销售利润难以确定的，可以依据权利人相关产品销售价格及销售利润率乘以被诉侵权人相关产品销售数量为基础，"
              "计算损害赔偿数额。")
GC20_GIST = ("在发明专利申请公布后至专利权授予前的临时保护期内制造、销售、进口的被诉专利侵权产品不为专利法禁止的"
             "情况下，其后续的使用、许诺销售、销售，即使未经专利权人许可，也不视为侵害专利权，但专利权人可以依法"
             "要求临时保护期内实施其发明的单位或者个人支付适当的费用。")
GC30_GIST = ("经营者是否具有超越法定经营范围而违反行政许可法律法规的行为，不影响其依法行使制止商标侵权和不正当竞争的"
             "民事权利。")
SPC_TRADE_SECRET_5 = ("权利人为防止商业秘密泄露，在被诉侵权行为发生以前所采取的合理保密措施，人民法院应当认定为"
                      "反不正当竞争法第九条第四款所称的相应保密措施。")
AUCL_2019_9 = "本法所称的商业秘密，是指不为公众所知悉、具有商业价值并经权利人采取相应保密措施的技术信息、经营信息等商业信息。"
AUCL_2025_10 = "经营者不得实施下列侵犯商业秘密的行为："
PATENT_LAW_19 = ("任何单位或者个人将在中国完成的发明或者实用新型向外国申请专利的，应当事先报经国务院专利行政部门进行"
                 "保密审查。保密审查的程序、期限等按照国务院的规定执行。")
LEXEVAL_TM = "根据《中华人民共和国商标法》第六十三条第一款、第三款之规定，被告应承担停止侵权、赔偿损失或消除影响等法律责任。"


def article(anchor: str, text: str) -> Section:
    return Section("article", f"第{anchor}条", text, anchor, number=int(anchor))


DOCS = (
    Document(id="指导案例220号", title="嘉兴市中某化工有限责任公司等诉王某集团有限公司等侵害技术秘密纠纷案",
             doc_type="guiding_case", text=GC220_GIST + GC220_FACTS, ip_categories=("商业秘密",),
             date="2023-12-15", authority=1, court="最高人民法院", guiding_no=220,
             sections=(Section("gist", "裁判要点", GC220_GIST, "gist"),
                       Section("facts", "基本案情", GC220_FACTS, "facts")),
             citations=(Citation("反不正当竞争法", 9, version="2019"), Citation("反不正当竞争法", 17, version="2019"))),
    Document(id="法释〔2020〕7号", title="最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定",
             doc_type="interpretation", text=SPC_TRADE_SECRET_5, ip_categories=("商业秘密", "不正当竞争"),
             date="2020-09-10", sections=(article("5", SPC_TRADE_SECRET_5),),
             citations=(Citation("反不正当竞争法", 9, paragraph=4),)),
    Document(id="指导案例20号", title="深圳市斯瑞曼精细化工有限公司诉深圳市坑梓自来水有限公司等侵害发明专利权纠纷案",
             doc_type="guiding_case", text=GC20_GIST, ip_categories=("专利",), date="2013-11-08", authority=1,
             court="最高人民法院", sections=(Section("gist", "裁判要点", GC20_GIST, "gist"),),
             citations=(Citation("专利法", 11), Citation("专利法", 13), Citation("专利法", 69))),
    Document(id="专利法(2020)", title="中华人民共和国专利法", doc_type="statute", text=PATENT_LAW_19,
             ip_categories=("专利",), date="2020-10-17", law_name="专利法", version="2020",
             sections=(article("19", PATENT_LAW_19),)),
    Document(id="反不正当竞争法(2019)", title="中华人民共和国反不正当竞争法", doc_type="statute", text=AUCL_2019_9,
             ip_categories=("不正当竞争", "商业秘密"), date="2019-04-23", status="superseded",
             law_name="反不正当竞争法", version="2019", sections=(article("9", AUCL_2019_9),)),
    Document(id="反不正当竞争法(2025)", title="中华人民共和国反不正当竞争法", doc_type="statute", text=AUCL_2025_10,
             ip_categories=("不正当竞争", "商业秘密"), date="2025-06-27", law_name="反不正当竞争法",
             version="2025", sections=(article("10", AUCL_2025_10),)),
    Document(id="指导案例30号", title="兰建军、杭州小拇指汽车维修科技股份有限公司诉天津市小拇指汽车维修服务有限公司等"
             "侵害商标权及不正当竞争纠纷案", doc_type="guiding_case", text=GC30_GIST,
             ip_categories=("商标", "不正当竞争"), date="2014-06-26", authority=1, court="最高人民法院",
             sections=(Section("gist", "裁判要点", GC30_GIST, "gist"),)),
    Document(id="lexeval-tm-1", title="侵害商标权纠纷", doc_type="judgment", text=LEXEVAL_TM,
             ip_categories=("商标",), sections=(Section("reasoning", "本院认为", LEXEVAL_TM, "reasoning"),),
             citations=(Citation("商标法", 63),)),
)
BY_ID = {d.id: d for d in DOCS}
ALL = Filters(include_superseded=True)


@pytest.fixture()
def backend(tmp_path: Path):
    b = WhooshBackend(tmp_path / "lexical")
    b.add(DOCS)
    b.commit()
    yield b
    b.close()


def ids(hits: LexicalHits) -> list[str]:
    return [doc_id for doc_id, _ in hits.ranked]


# --- writing ---------------------------------------------------------------------------------

def test_add_commit_and_counts(backend):
    assert backend.doc_count() == len(DOCS)
    assert backend.doc_ids() == set(BY_ID)
    assert backend.size_bytes() > 0


def test_open_lexical_registers_whoosh(tmp_path):
    b = open_lexical("whoosh", tmp_path / "ix")
    assert isinstance(b, WhooshBackend)
    b.close()


def test_changes_are_invisible_until_commit_and_cancel_drops_them(backend):
    backend.add([BY_ID["指导案例20号"].__class__(id="new", title="许诺销售", doc_type="judgment", text="许诺销售")])
    assert "new" not in backend.doc_ids()
    backend.cancel()
    backend.commit()  # nothing pending: a no-op
    assert "new" not in backend.doc_ids()
    assert backend.search("许诺销售", filters=ALL, limit=10).total == 1  # only 指导案例20号


def test_add_replaces_by_id(backend):
    old = BY_ID["指导案例30号"]
    replaced = Document(id=old.id, title="替换后的标题", doc_type=old.doc_type, text="行为保全",
                        sections=(Section("gist", "裁判要点", "行为保全", "gist"),), ip_categories=("商标",))
    backend.add([replaced])
    backend.commit()
    assert backend.doc_count() == len(DOCS)
    assert ids(backend.search("行为保全", filters=ALL, limit=10)) == [old.id]
    assert backend.search('"商标侵权"', filters=ALL, limit=10).total == 0


def test_same_id_twice_in_one_batch_keeps_the_last(tmp_path):
    b = WhooshBackend(tmp_path / "ix")
    first = Document(id="x", title="第一版", doc_type="judgment", text="驰名商标")
    second = Document(id="x", title="第二版", doc_type="judgment", text="地理标志")
    b.add([first])
    b.add([second])
    b.commit()
    assert b.doc_count() == 1
    assert b.search("驰名商标", filters=ALL, limit=5).total == 0
    assert ids(b.search("地理标志", filters=ALL, limit=5)) == ["x"]
    b.add([first])
    b.delete(["x"])  # add then delete before commit: gone
    b.commit()
    assert b.doc_count() == 0
    b.close()


def test_delete(backend):
    backend.delete(["指导案例220号", "no-such-id"])
    backend.commit()
    assert "指导案例220号" not in backend.doc_ids()
    assert backend.doc_count() == len(DOCS) - 1
    assert "指导案例220号" not in ids(backend.search("技术秘密", filters=ALL, limit=10))


# --- ranking, phrases, fields ---------------------------------------------------------------------

def test_trade_secret_documents_rank_above_patent_ones(backend):
    hits = backend.search("合理保密措施 OR 保密", filters=ALL, limit=10)
    ranked = ids(hits)
    assert "专利法(2020)" in ranked  # matches 保密 only (保密审查)
    assert ranked.index("法释〔2020〕7号") < ranked.index("专利法(2020)")
    assert ranked[0] == "法释〔2020〕7号"
    only = backend.search("合理保密措施", filters=ALL, limit=10)
    assert ids(only) == ["法释〔2020〕7号"] and only.terms == ("合理保密措施",)


def test_sub_words_are_searchable(backend):
    # 保密措施 is indexed inside 合理保密措施 and 相应保密措施
    assert set(ids(backend.search("保密措施", filters=ALL, limit=10))) == {"法释〔2020〕7号", "反不正当竞争法(2019)"}
    # SYNTHETIC document: 在先使用抗辩 does not occur in the corpus sources
    backend.add([Document(id="synthetic-prior-use", title="合成测试文书", doc_type="judgment",
                          text="被告提出在先使用抗辩。")])
    backend.commit()
    assert ids(backend.search("在先使用", filters=ALL, limit=10)) == ["synthetic-prior-use"]
    assert ids(backend.search('"在先使用抗辩"', filters=ALL, limit=10)) == ["synthetic-prior-use"]


def test_phrases_need_adjacent_words(backend):
    both = backend.search("商标 侵权", filters=ALL, limit=10)
    assert set(ids(both)) == {"指导案例30号", "lexeval-tm-1"}
    phrase = backend.search('"商标侵权"', filters=ALL, limit=10)
    assert ids(phrase) == ["指导案例30号"]  # lexeval-tm-1 has 商标(法) … (停止)侵权 far apart
    assert ids(backend.search("“被告应承担停止侵权”", filters=ALL, limit=10)) == ["lexeval-tm-1"]
    assert backend.search('"侵权应承担被告"', filters=ALL, limit=10).total == 0


def test_field_queries(backend):
    assert set(ids(backend.search("type:司法解释", filters=ALL, limit=10))) == {"法释〔2020〕7号"}
    assert set(ids(backend.search("类型:statute 类别:专利", filters=ALL, limit=10))) == {"专利法(2020)"}
    assert set(ids(backend.search("标题:专利法", filters=ALL, limit=10))) == {"专利法(2020)"}
    assert set(ids(backend.search("year:2013-2014", filters=ALL, limit=10))) == {"指导案例20号", "指导案例30号"}
    assert set(ids(backend.search("法院:最高人民法院 许诺销售", filters=ALL, limit=10))) == {"指导案例20号"}


def test_statute_field_query(backend):
    hits = backend.search("statute:反不正当竞争法#9", filters=Filters(), limit=10)
    assert set(ids(hits)) == {"指导案例220号", "法释〔2020〕7号"}  # the 2019 law itself is superseded
    with_old = backend.search("法条:反不正当竞争法第九条", filters=ALL, limit=10)
    assert set(ids(with_old)) == {"指导案例220号", "法释〔2020〕7号", "反不正当竞争法(2019)"}
    assert set(ids(backend.search("statute:专利法第11条", filters=ALL, limit=10))) == {"指导案例20号"}


def test_boolean_operators(backend):
    trade_secret = set(ids(backend.search("商业秘密", filters=ALL, limit=10)))
    without_laws = set(ids(backend.search("商业秘密 -type:statute", filters=ALL, limit=10)))
    assert without_laws == {d for d in trade_secret if BY_ID[d].doc_type != "statute"}
    either = set(ids(backend.search("临时保护期 OR 商标侵权", filters=ALL, limit=10)))
    assert either == {"指导案例20号", "指导案例30号"}
    everything_but = set(ids(backend.search("NOT 商业秘密", filters=ALL, limit=20)))
    assert everything_but == set(BY_ID) - trade_secret


def test_all_words_required_then_relaxed(backend):
    strict = backend.search("临时保护期 许诺销售", filters=ALL, limit=10)
    assert ids(strict) == ["指导案例20号"] and not strict.notes
    relaxed = backend.search("临时保护期 商标侵权", filters=ALL, limit=10)
    assert set(ids(relaxed)) == {"指导案例20号", "指导案例30号"}
    assert relaxed.notes and "any" in relaxed.notes[-1]


def test_long_query_is_reduced_to_its_discriminative_terms(backend):
    hits = backend.search(GC220_FACTS, filters=ALL, limit=5)
    assert ids(hits)[0] == "指导案例220号"
    assert 0 < len(hits.terms) <= 24
    assert any(note.startswith("long query reduced to") for note in hits.notes)
    assert "技术秘密" in hits.terms


def test_malformed_queries_never_raise(backend):
    for q in ('"未闭合', "((商标", "AND", "-", "title:", "：：", "法条:", ")" * 50, ""):
        hits = backend.search(q, filters=ALL, limit=5)
        assert isinstance(hits, LexicalHits)
    with pytest.raises(QueryError):
        backend.search("商标", filters=ALL, limit=-1)


# --- filters, facets, allowed ids ---------------------------------------------------------------------

def test_superseded_hidden_by_default(backend):
    default = set(ids(backend.search("商业秘密", filters=Filters(), limit=10)))
    assert "反不正当竞争法(2019)" not in default and "反不正当竞争法(2025)" in default
    assert "反不正当竞争法(2019)" in set(ids(backend.search("商业秘密", filters=ALL, limit=10)))
    only_old = backend.search("商业秘密", filters=Filters(statuses=("superseded",)), limit=10)
    assert ids(only_old) == ["反不正当竞争法(2019)"]
    assert ids(backend.search("status:superseded", filters=Filters(), limit=10)) == ["反不正当竞争法(2019)"]


def test_filters(backend):
    q = "商业秘密 OR 专利 OR 商标"
    by_type = backend.search(q, filters=Filters(doc_types=("guiding_case",), include_superseded=True), limit=20)
    assert {BY_ID[i].doc_type for i in ids(by_type)} == {"guiding_case"}
    by_label = backend.search(q, filters=Filters(doc_types=("指导性案例",), include_superseded=True), limit=20)
    assert ids(by_label) == ids(by_type)
    by_cat = backend.search(q, filters=Filters(categories=("专利", "商标"), include_superseded=True), limit=20)
    assert set(ids(by_cat)) == {d.id for d in DOCS if {"专利", "商标"} & set(d.ip_categories)}
    by_year = backend.search(q, filters=Filters(years=(2013, 2020), include_superseded=True), limit=20)
    assert set(ids(by_year)) == {"指导案例20号", "专利法(2020)", "法释〔2020〕7号"}
    by_authority = backend.search(q, filters=Filters(authorities=(1,), include_superseded=True), limit=20)
    assert set(ids(by_authority)) == {"指导案例220号", "指导案例20号", "指导案例30号"}
    none = backend.search(q, filters=Filters(courts=("不存在的法院",)), limit=20)
    assert none.total == 0 and none.ranked == ()


def test_facets_count_every_match(backend):
    hits = backend.search("商业秘密 OR 专利 OR 商标", filters=ALL, limit=2, with_facets=True)
    assert len(hits.ranked) == 2 and hits.total > 2
    matched = [d for d in DOCS if d.id in set(ids(backend.search("商业秘密 OR 专利 OR 商标",
                                                                  filters=ALL, limit=100)))]
    assert hits.total == len(matched)
    assert set(hits.facets) == set(FACET_FIELDS)
    assert hits.facets["doc_type"] == dict(Counter(d.doc_type for d in matched))
    assert hits.facets["ip_category"] == dict(Counter(c for d in matched for c in d.ip_categories))
    assert hits.facets["year"] == dict(Counter(str(d.year) for d in matched if d.year))
    assert hits.facets["status"] == dict(Counter(d.status for d in matched))
    assert hits.facets["authority"] == dict(Counter(str(d.authority) for d in matched if d.authority))
    assert hits.facets["court"] == dict(Counter(d.court for d in matched if d.court))
    assert backend.search("商业秘密", filters=ALL, limit=2).facets == {}


def test_allowed_ids_restrict_results(backend):
    allowed = {"指导案例20号", "法释〔2020〕7号", "unknown-id"}
    hits = backend.search("商业秘密 OR 专利", filters=ALL, limit=10, allowed_ids=allowed)
    assert set(ids(hits)) == {"指导案例20号", "法释〔2020〕7号"} and hits.total == 2
    assert backend.search("商业秘密", filters=ALL, limit=10, allowed_ids=set()).total == 0


def test_results_are_document_ids_never_docnums(backend):
    for q in ("商业秘密", "NOT 专利", "type:statute", GC220_FACTS):
        for doc_id, score in backend.search(q, filters=ALL, limit=20).ranked:
            assert isinstance(doc_id, str) and doc_id in BY_ID
            assert isinstance(score, float)


def test_document_fields_map_sections_to_fields():
    fields = document_fields(BY_ID["lexeval-tm-1"])
    assert fields["reasoning"] == "本院认为\n" + LEXEVAL_TM and "body" not in fields
    assert fields["statutes"].split(",") == ["商标法#63", "商标法"]
    law = document_fields(BY_ID["反不正当竞争法(2019)"])
    assert {"反不正当竞争法", "反不正当竞争法#9"} <= set(law["statutes"].split(","))
    assert law["status"] == "superseded" and law["year"] == "2019"


# --- readers see new commits; procs; locking ---------------------------------------------------------------

def test_a_second_backend_sees_new_commits(backend, tmp_path):
    reader = WhooshBackend(tmp_path / "lexical")
    assert reader.search("地理标志", filters=ALL, limit=5).total == 0
    backend.add([Document(id="gi", title="地理标志", doc_type="judgment", text="地理标志")])
    backend.commit()
    assert ids(reader.search("地理标志", filters=ALL, limit=5)) == ["gi"]
    assert reader.doc_count() == len(DOCS) + 1
    reader.close()


def test_parallel_writer_indexes_the_same(tmp_path):
    b = WhooshBackend(tmp_path / "mp", procs=2)
    b.add(DOCS)
    b.commit()
    assert b.doc_ids() == set(BY_ID)
    assert ids(b.search('"商标侵权"', filters=ALL, limit=10)) == ["指导案例30号"]
    assert set(ids(b.search("保密措施", filters=ALL, limit=10))) == {"法释〔2020〕7号", "反不正当竞争法(2019)"}
    b.close()


def _second_process(directory: str, queue) -> None:
    """Runs in a spawned process: read (loads jieba there), then try to write."""
    b = WhooshBackend(Path(directory), lock_timeout=0.2)
    found = b.search("合理保密措施", filters=ALL, limit=5)
    try:
        b.add([Document(id="other", title="另一进程", doc_type="judgment", text="另一进程")])
        queue.put(("no error", list(found.ranked)))
    except LockedError as exc:
        queue.put(("LockedError", [doc_id for doc_id, _ in found.ranked], str(exc)))
    finally:
        b.close()


def test_second_writer_in_another_process_gets_locked_error(backend, tmp_path):
    backend.add([Document(id="pending", title="未提交", doc_type="judgment", text="未提交")])  # holds the lock
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_second_process, args=(str(tmp_path / "lexical"), queue))
    proc.start()
    result = queue.get(timeout=120)
    proc.join(timeout=60)
    assert result[0] == "LockedError"
    assert result[1] == ["法释〔2020〕7号"]  # the spawned process analysed the query with the dictionary
    assert "another process is writing" in result[2]
    backend.commit()
    assert "pending" in backend.doc_ids()


def test_second_writer_in_the_same_process_gets_locked_error(backend, tmp_path):
    backend.add([Document(id="pending", title="未提交", doc_type="judgment", text="未提交")])
    other = WhooshBackend(tmp_path / "lexical", lock_timeout=0.1)
    with pytest.raises(LockedError):
        other.delete(["指导案例20号"])
    backend.cancel()
    other.delete(["指导案例20号"])  # the lock is free again
    other.commit()
    assert "指导案例20号" not in backend.doc_ids()
    other.close()


# --- the fast read path against Whoosh's own matchers ----------------------------------------------

def _multi_segment_backend(directory: Path) -> WhooshBackend:
    """DOCS in three segments (Whoosh merges small segments unless told not to), one deletion."""
    b = WhooshBackend(directory)
    for chunk in (DOCS[:3], DOCS[3:6], DOCS[6:]):
        writer = b._ix.writer()
        for doc in chunk:
            writer.add_document(**document_fields(doc))
        writer.commit(merge=False)
    b.delete(["指导案例20号"])  # lives in the first segment
    b.commit()
    return b


def test_posting_reader_agrees_with_whoosh_matchers(tmp_path):
    from whoosh import query as wq

    from kb.whoosh_postings import read_postings

    b = _multi_segment_backend(tmp_path / "multi")
    snap = b._current()
    assert len(snap.reader.leaf_readers()) == 3
    searcher = snap.searcher
    for field_name, term in [("gist", "侵权"), ("title", "纠纷案"), ("body", "商业秘密"), ("facts", "技术秘密"),
                             ("reasoning", "商标"), ("statutes", "反不正当竞争法#9"), ("gist", "许诺销售")]:
        ids, weights = read_postings(snap.reader, field_name, term)
        live = [int(d) for d in ids if snap.live[d]]
        assert sorted(live) == sorted(searcher.docs_for_query(wq.Term(field_name, term)))
        matcher = snap.reader.postings(field_name, term)
        expected = {}
        while matcher.is_active():
            expected[matcher.id()] = matcher.weight()
            matcher.next()
        assert {d: pytest.approx(w) for d, w in zip(live, weights[snap.live[ids]])} == expected
    b.close()


def test_multi_segment_index_searches_like_a_single_one(tmp_path, backend):
    multi = _multi_segment_backend(tmp_path / "multi")
    backend.delete(["指导案例20号"])
    backend.commit()
    for q in ("商业秘密 OR 专利 OR 商标", '"商标侵权"', "statute:反不正当竞争法#9", "法院:最高人民法院", GC220_FACTS):
        one = backend.search(q, filters=ALL, limit=10, with_facets=True)
        many = multi.search(q, filters=ALL, limit=10, with_facets=True)
        assert set(ids(many)) == set(ids(one)) and many.total == one.total
        assert many.facets == one.facets
    assert multi.doc_ids() == set(BY_ID) - {"指导案例20号"}
    multi.close()


# --- compounds and broadening (lead) -----------------------------------------------------------

def _one(tmp_path, docs):
    b = WhooshBackend(tmp_path / "lx")
    b.add(docs)
    b.commit()
    return b


def test_compound_query_word_matches_its_pieces_written_apart(tmp_path):
    # synthetic sentences: 合理保密措施 is one dictionary word, judgments write 合理的保密措施
    b = _one(tmp_path, [Document(id="a", title="甲", doc_type="judgment", text="原告采取了合理的保密措施。"),
                        Document(id="b", title="乙", doc_type="judgment", text="措施合理。保密义务。")])
    hits = b.search("合理保密措施", filters=ALL, limit=1)
    assert ids(hits) == ["a"] and hits.total == 1
    # phrase checks are cached per index generation: a commit must show new matches
    b.add([Document(id="c", title="丙", doc_type="judgment", text="被告未采取合理的保密措施。")])
    b.commit()
    assert set(ids(b.search("合理保密措施", filters=ALL, limit=5))) == {"a", "c"}
    b.close()


def test_as_description_ignores_query_syntax_and_selects_terms(backend):
    text = '类别:专利 "临时保护期" 许诺销售 OR'  # syntax that a pasted description may contain by chance
    hits = backend.search(text, filters=ALL, limit=5, as_description=True)
    assert ids(hits)[0] == "指导案例20号"
    assert any("long query" in n for n in hits.notes)
    assert backend.search("   ", filters=ALL, limit=5, as_description=True).ranked == ()


def test_phrase_reader_agrees_with_whoosh_phrase_queries(tmp_path):
    """phrase_docs reads positions only for candidate documents; it must find exactly the
    documents Whoosh's own Phrase query finds (adjacent, in order), across segments."""
    from whoosh import query as wq

    from kb.analysis import get_analyzer
    from kb.whoosh_backend import SEARCH_FIELDS
    from kb.whoosh_postings import phrase_docs

    b = _multi_segment_backend(tmp_path / "multi")
    snap = b._current()
    runs = []
    for doc in DOCS:
        words = {p: w for w, ps in get_analyzer().positions(doc.text[:300]).items() for p in ps}
        runs += [[words[p + i] for i in range(n)] for p in sorted(words)[::5] for n in (2, 3)
                 if all(p + i in words for i in range(n))]
    runs += [list(reversed(r)) for r in runs[::4]]  # the same words out of order
    checked = found_somewhere = 0
    for field_name in SEARCH_FIELDS:
        for words in runs:
            got = {int(d) for d in phrase_docs(snap.reader, field_name, words, np.arange(snap.size)) if snap.live[d]}
            expected = set(snap.searcher.docs_for_query(wq.Phrase(field_name, words)))
            assert got == expected, (field_name, words)
            checked += 1
            found_somewhere += bool(expected)
    assert checked > 100 and found_somewhere > 30
    b.close()
