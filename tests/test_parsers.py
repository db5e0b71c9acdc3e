"""Parsers on real documents from corpus/ and on plain-text fixtures copied from it.

The RawDocs are built here the way the readers build them (front matter parsed
out of Markdown, one record per JSON object), so these tests depend only on the
parsers and on the committed files.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml

from ingest.chunking import chunk
from ingest.parsers import detect_type, disambiguate_ids, parse
from ingest.types import RawDoc
from kb.errors import EmptyDocumentError, InputError
from kb.models import DOC_TYPES, IP_CATEGORIES, Document
from kb.numerals import chinese_to_int

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parsers"
TEXT_FIELDS = ("text", "full_text", "content", "context", "evidence_text", "fact", "query", "body")


# --- loading, as the readers do ---------------------------------------------------

def load_raws(path: Path) -> list[RawDoc]:
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    suffix = path.suffix.lower()
    if suffix in (".md", ".txt"):
        text = path.read_text(encoding="utf-8")
        meta = {}
        match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
        if match:
            meta = {"front_matter": yaml.safe_load(match.group(1))}
            text = text[match.end():]
        return [RawDoc(text=text, path=rel, fmt=suffix[1:], meta=meta)]
    if suffix == ".json":
        record = json.loads(path.read_text(encoding="utf-8"))
        return [RawDoc(text=_main_text(record), path=rel, fmt="json", record=record)]
    if suffix == ".jsonl":
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                record = json.loads(line)
                out.append(RawDoc(text=_main_text(record), path=rel, fmt="jsonl", locator=f"line {number}",
                                  record=record))
        return out
    raise AssertionError(f"unexpected corpus file {path}")


def _main_text(record: dict) -> str:
    return next(record[k] for k in TEXT_FIELDS if isinstance(record.get(k), str) and record[k].strip())


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".md", ".json", ".jsonl", ".txt")
                  and p.name not in ("README.md", "PROVENANCE.md"))


def parse_file(relative: str, index: int = 0) -> Document:
    return parse(load_raws(CORPUS / relative)[index])


def parse_record(relative: str, record_id: str) -> Document:
    raw = next(r for r in load_raws(CORPUS / relative) if r.record.get("id") == record_id)
    return parse(raw)


def plain(text: str, name: str = "upload.txt") -> RawDoc:
    """What a user's plain-text file gives: no front matter, no record."""
    return RawDoc(text=text, path=name, fmt="txt")


@pytest.fixture(scope="module")
def all_docs() -> list[tuple[Path, Document]]:
    out = []
    for path in corpus_files():
        for raw in load_raws(path):
            out.append((path, parse(raw)))
    return out


# --- guiding case -------------------------------------------------------------------

def test_guiding_case_219_trade_secrets():
    doc = parse_file("guiding-cases/指导案例219号.json")
    assert doc.id == "指导案例219号" and doc.guiding_no == 219 and doc.doc_type == "guiding_case"
    assert [s.kind for s in doc.sections] == ["keywords", "gist", "laws", "facts", "result", "reasoning"]
    assert [s.title for s in doc.sections] == ["关键词", "裁判要点", "相关法条", "基本案情", "裁判结果", "裁判理由"]
    gist = doc.section("gist").text
    assert gist.startswith("1.判断侵害知识产权行为是否构成情节严重并适用惩罚性赔偿时")
    assert "可以认定为以侵害知识产权为业" in gist
    assert "侵害技术秘密" in doc.keywords and "惩罚性赔偿" in doc.keywords
    assert doc.section("keywords").text.split("　") == list(doc.keywords)
    laws = [c for c in doc.citations if c.law == "反不正当竞争法"]
    assert laws and laws[0].article == 17 and laws[0].paragraph == 3
    assert doc.citations[0] == laws[0], "citations of 相关法条 come first"
    assert doc.authority == 1
    assert doc.ip_categories[0] == "商业秘密"
    assert doc.cause == "侵害技术秘密纠纷"
    assert doc.date == "2023-12-15"
    assert doc.court == "最高人民法院" and doc.case_no == "（2021）最高法民申4025号"
    assert doc.extra["case_numbers"] == ["（2017）粤73民初2163号", "（2019）最高法知民终562号", "（2021）最高法民申4025号"]
    assert doc.source.startswith("lttxzmj/chinese-law-corpus@") and "court.gov.cn" in doc.source
    assert doc.source_path.endswith("指导案例219号.json")


def test_guiding_case_criminal_cause_is_the_charge():
    doc = parse_file("guiding-cases/指导案例87号.json")
    assert doc.cause == "假冒注册商标"
    assert doc.court == "江苏省宿迁市中级人民法院" and doc.case_no == "（2015）宿中知刑初字第0004号"
    assert doc.procedure == "一审"
    assert any(c.law == "刑法" and c.article == 213 for c in doc.citations)
    assert doc.ip_categories[0] == "商标"


@pytest.mark.parametrize("number, cause", [
    (20, "侵害发明专利权纠纷"),
    (29, "擅自使用他人企业名称纠纷"),
    (113, "“乔丹”商标争议行政纠纷"),
    (276, "发明专利权无效行政纠纷"),
    (278, "因恶意提起知识产权诉讼损害责任纠纷"),
])
def test_guiding_case_cause_from_title(number, cause):
    assert parse_file(f"guiding-cases/指导案例{number}号.json").cause == cause


def test_guiding_case_final_decision_from_result():
    doc = parse_file("guiding-cases/指导案例20号.json")
    assert (doc.court, doc.case_no, doc.procedure) == ("最高人民法院", "（2011）民提字第259号", "再审")


# --- statutes ---------------------------------------------------------------------

def test_patent_law_2020_articles_chapters_preamble():
    doc = parse_file("laws/专利法(2020-10-17).md")
    assert doc.id == "专利法(2020)" and doc.law_name == "专利法" and doc.version == "2020"
    assert doc.doc_type == "statute" and doc.status == "current" and doc.date == "2020-10-17"
    articles = doc.sections_of("article")
    assert [a.number for a in articles] == list(range(1, len(articles) + 1))
    assert len(articles) == articles[-1].number == 82
    art11 = doc.section("11")
    assert art11.title == "第十一条"
    assert art11.text.startswith("第十一条　发明和实用新型专利权被授予后，除本法另有规定的以外")
    assert len(art11.text.split("\n")) == 2, "two 款, one per line"
    assert art11.path == ("第一章 总则",)
    assert doc.section("22").path == ("第二章 授予专利权的条件",)
    assert doc.section("65").path == ("第七章 专利权的保护",)
    assert doc.sections[0].kind == "preamble"
    assert "2020年10月17日" in doc.sections[0].text and "第四次修正" in doc.sections[0].text
    assert doc.ip_categories[0] == "专利"


def test_criminal_law_inserted_article_219_1():
    doc = parse_file("laws/刑法.md")
    inserted = doc.section("219-1")
    assert inserted is not None and inserted.title == "第二百一十九条之一" and inserted.number == 219
    assert inserted.text.startswith("第二百一十九条之一　为境外的机构、组织、人员窃取、刺探、收买、非法提供商业秘密的")
    assert inserted.path[-1] == "第七节 侵犯知识产权罪" and inserted.path[0] == "第二编 分则"
    assert doc.section("219").text.startswith("第二百一十九条　有下列侵犯商业秘密行为之一")
    anchors = [s.anchor for s in doc.sections]
    assert anchors.index("219") < anchors.index("219-1") < anchors.index("220")
    assert len(anchors) == len(set(anchors))


def test_anti_unfair_competition_2025_corpus_file():
    doc = parse_file("laws/反不正当竞争法(2025-06-27).md")
    assert doc.id == "反不正当竞争法(2025)"
    articles = doc.sections_of("article")
    assert len(articles) == articles[-1].number == 41
    assert [a.number for a in articles] == list(range(1, 42))
    assert doc.section("1").path == ("第一章 总则",)


def test_table_of_contents_is_not_parsed_as_sections():
    """The source file repeats its chapter headings as a 目录 before the body."""
    raw = plain((FIXTURES / "anti_unfair_competition_2025_head_with_toc.md").read_text(encoding="utf-8"),
                "反不正当竞争法.md")
    assert detect_type(raw) == "statute"
    doc = parse(raw)
    assert [s.kind for s in doc.sections] == ["preamble"] + ["article"] * 8
    assert [s.anchor for s in doc.sections[1:]] == [str(n) for n in range(1, 9)]
    assert "目" not in doc.sections[0].text and "###" not in doc.sections[0].text
    assert all("第二章" not in s.text and "目　　录" not in s.text for s in doc.sections)
    assert doc.section("1").path == ("第一章 总则",)
    assert doc.section("7").path == ("第二章 不正当竞争行为",)
    assert doc.version == "2025" and doc.date == "2025-06-27" and doc.id == "反不正当竞争法(2025)"
    assert doc.issuer == "全国人民代表大会常务委员会"


def test_interpretation_trade_secrets():
    doc = parse_file("interpretations/最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10).md")
    name = "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"
    assert doc.doc_type == "interpretation" and doc.law_name == name and doc.id == f"{name}(2020)"
    articles = doc.sections_of("article")
    assert [a.number for a in articles] == list(range(1, len(articles) + 1)) and len(articles) == 29
    assert "技术信息" in doc.section("1").text
    assert doc.issuer == "最高人民法院"
    laws = {c.law for c in doc.citations}
    assert "反不正当竞争法" in laws and name not in laws, "only other laws are kept as citations"
    assert doc.ip_categories[0] == "商业秘密"


def test_interpretation_with_multiline_title_and_document_number():
    doc = parse_file("interpretations/最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件适用法律若干问题的解释(2025-04-23).md")
    assert doc.title == "最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件适用法律若干问题的解释"
    assert doc.id == doc.title + "(2025)"
    assert doc.extra["document_number"] == "法释〔2025〕5号"
    assert any(c.law == "刑法" and c.article == 213 for c in doc.citations)


def test_superseded_statute_keeps_status_and_successor():
    doc = parse_file("laws/反不正当竞争法(2019-04-23).md")
    assert doc.id == "反不正当竞争法(2019)" and doc.status == "superseded"
    assert doc.extra["superseded_by"].startswith("反不正当竞争法(2025")
    assert "商业秘密" in doc.section("9").text


def test_civil_code_books_get_distinct_ids():
    books = {p.name: parse(load_raws(p)[0]) for p in sorted((CORPUS / "laws").glob("民法典_*.md"))}
    ids = {doc.id for doc in books.values()}
    assert ids == {"民法典·总则(2020)", "民法典·合同编(2020)", "民法典·侵权责任编(2020)"}
    tort = books["民法典_侵权责任编.md"]
    assert tort.law_name == "民法典" and tort.section("1185").path[0] == "侵权责任编"
    assert tort.section("1185").text.startswith("第一千一百八十五条")


def test_amending_decision_without_articles_is_split_into_items():
    doc = parse_file("interpretations/最高人民法院关于修改《最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）》"
                     "等十八件知识产权类司法解释的决定.md")
    items = doc.sections_of("item")
    assert [i.number for i in items] == list(range(1, 19))
    assert items[0].title == "一、修改《最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）》"
    assert doc.sections[0].kind == "preamble" and "一、" not in doc.sections[0].text


def test_reply_without_articles_or_items_has_a_body():
    doc = parse_file("interpretations/最高人民法院关于知识产权侵权诉讼中被告以原告滥用权利为由请求赔偿合理开支问题的批复.md")
    assert [s.kind for s in doc.sections] == ["preamble", "body"]
    assert doc.section("body").text.startswith("上海市高级人民法院：")
    assert "法释〔2021〕11号" in doc.section("preamble").text


def test_regulation_and_local_regulation_types():
    assert parse_file("regulations/著作权法实施条例(2013-01-30).md").doc_type == "regulation"
    local = parse_file("local-regulations/广东省知识产权保护条例(2022-03-29).md")
    assert local.doc_type == "local_regulation" and local.id == "广东省知识产权保护条例(2022)"


# --- judgments ---------------------------------------------------------------------

def test_wenshu_ruling_record():
    doc = parse_file("judgments/wenshu_ip_judgments.jsonl")
    assert doc.doc_type == "judgment"
    assert doc.court == "最高人民法院"
    assert doc.case_no == "（2013）民申字第1643号"
    assert doc.date == "2013-12-20"
    assert doc.procedure == "再审审查"
    assert doc.extra["document_kind"] == "民事裁定书"
    assert any(p.startswith("山西沁州黄小米（集团）有限公司") for p in doc.parties)
    assert any(p.startswith("沁县吴阁老土特产有限公司") for p in doc.parties)
    reasoning = doc.section("reasoning")
    assert reasoning.kind == "reasoning" and reasoning.text.startswith("本院认为，沁州黄公司于2011年6月23日")
    kinds = [s.kind for s in doc.sections]
    assert kinds.index("header") < kinds.index("parties") < kinds.index("claims") < kinds.index("reasoning") \
        < kinds.index("result") < kinds.index("tail")
    assert doc.section("claims").text.startswith("沁州黄公司申请再审称")
    assert doc.section("defense").text.startswith("吴阁老公司提交意见称")
    assert doc.authority == 3 and doc.ip_categories[0] == "商标"


def test_wenshu_full_text_without_record_fields_is_segmented():
    raw = plain((FIXTURES / "wenshu_2013_minshen_1643_full_text.txt").read_text(encoding="utf-8"))
    assert detect_type(raw) == "judgment"
    doc = parse(raw)
    assert doc.id == "（2013）民申字第1643号" == doc.case_no
    assert [s.anchor for s in doc.sections] == ["header", "parties", "record", "claims", "defense", "facts",
                                                "reasoning", "result", "tail"]
    assert doc.court == "最高人民法院" and doc.date == "2013-12-20" and doc.procedure == "再审审查"
    assert doc.cause == "确认不侵害商标权、侵害商标权纠纷"
    assert doc.parties == ("山西沁州黄小米（集团）有限公司（再审申请人）", "沁县吴阁老土特产有限公司（被申请人）")
    assert doc.section("result").text.endswith("驳回山西沁州黄小米（集团）有限公司的再审申请。")
    assert doc.section("tail").text.startswith("审　判　长")
    assert doc.section("facts").text.startswith("本院审查查明")
    assert doc.extra["document_kind"] == "民事裁定书"
    assert any(c.law == "民事诉讼法" and c.article == 200 for c in doc.citations)


def test_cail_record_facts_cause_and_article():
    doc = parse_record("judgments/cail2018_ip_criminal_facts.jsonl", "cail2018-sihuajian-test-00000")
    assert [s.kind for s in doc.sections] == ["facts"]
    assert doc.sections[0].text == doc.text
    assert doc.cause == "假冒注册商标"
    assert "刑法#213" in {c.key for c in doc.citations}
    assert doc.ip_categories[0] == "商标" and doc.authority == 3


def test_lexeval_labels_become_citations():
    raws = load_raws(CORPUS / "judgments/lexeval_ip_case_facts.jsonl")
    labelled = [r for r in raws if r.record.get("law_article_labels")]
    assert len(labelled) >= 10
    for raw in labelled:
        keys = {(c.law, c.article) for c in parse(raw).citations}
        for label in raw.record["law_article_labels"]:
            match = re.search(r"《?中华人民共和国(.+?法)》?第(.+?)条", label)
            assert (match.group(1), chinese_to_int(match.group(2))) in keys, (label, keys)


def test_evidence_excerpt_is_one_evidence_section_and_guesses_nothing():
    doc = parse_record("judgments/lexeval_2_2_ip_evidence_segments.jsonl", "lexeval-2_2-8")
    assert [s.kind for s in doc.sections] == ["evidence"]
    # the text quotes a notarial certificate number and another case's 案由; neither is this case's
    assert doc.case_no is None and doc.cause is None


def test_cjrc_excerpt_html_entities_are_cleaned():
    """A CJRC record as the source had it (with &ldquo; entities) parses to the corpus text."""
    raws = load_raws(CORPUS / "judgments/ip_case_fact_excerpts.jsonl")
    quoted = next(r for r in raws if "“" in r.text and "”" in r.text)
    escaped = quoted.text.replace("“", "&ldquo;").replace("”", "&rdquo;")
    assert escaped != quoted.text
    doc = parse(RawDoc(text=escaped, path=quoted.path, fmt="jsonl", locator=quoted.locator,
                       record={**quoted.record, "context": escaped}))
    assert doc.text == quoted.text.strip()
    assert doc.text == html.unescape(doc.text)
    for raw in raws:
        assert not re.search(r"&[a-z]+;|&#\d+;", parse(raw).text)


# --- policy -----------------------------------------------------------------------------

def test_yuxi_policy_measures():
    doc = parse_file("policy/玉溪市强化知识产权保护的实施意见(2021-11-19).md")
    assert doc.id == "玉溪市强化知识产权保护的实施意见(2021)" and doc.doc_type == "policy"
    assert doc.date == "2021-11-19"
    measures = [s for s in doc.sections if s.kind == "item" and s.anchor.count(".") >= 1 and s.title[0].isdigit()]
    assert [m.number for m in measures] == list(range(1, 35))
    assert doc.section("2.1.1").title == "1.强化司法保障"
    assert doc.section("2.1.1").path == ("二、工作重点", "(一)推进知识产权保护体系建设")
    m23 = doc.section("2.6.23")
    assert m23.title == "23.加强商业秘密保护" and "商业秘密保护行政指导" in m23.text
    m25 = doc.section("2.6.25")
    assert m25.title.startswith("25.") and "企业知识产权保护规范性指南" in m25.text
    assert doc.section("1").title == "一、指导思想和主要目标"
    assert doc.section("2.1").title == "(一)推进知识产权保护体系建设"
    assert doc.section("3.34").text.startswith("34.加强宣传引导")
    assert "编辑" not in doc.text and "关闭" not in doc.section("3.34").text


# --- detection ----------------------------------------------------------------------------

def test_detection_on_plain_guiding_case_text():
    raw = plain((FIXTURES / "guiding_case_87_text.txt").read_text(encoding="utf-8"))
    assert detect_type(raw) == "guiding_case"
    doc = parse(raw)
    assert doc.id == "指导案例87号" and doc.date == "2017-03-06"
    assert doc.keywords == ("刑事", "假冒注册商标罪", "非法经营数额", "网络销售", "刷信誉")
    assert [s.kind for s in doc.sections] == ["keywords", "gist", "laws", "facts", "result", "reasoning"]


def test_declared_type_wins_and_labels_are_accepted():
    text = (FIXTURES / "guiding_case_87_text.txt").read_text(encoding="utf-8")
    assert detect_type(RawDoc(text=text, path="a.md", fmt="md", meta={"front_matter": {"doc_type": "judgment"}})) \
        == "judgment"
    assert detect_type(RawDoc(text=text, path="a.json", fmt="json", record={"doc_type": "司法解释"})) \
        == "interpretation"


def test_content_detection_agrees_with_declared_type_on_the_whole_corpus():
    """Strip front matter and record fields: the text alone must give the declared type."""
    mismatches = []
    for path in corpus_files():
        for raw in load_raws(path):
            declared = detect_type(raw)
            assert declared in DOC_TYPES
            if detect_type(plain(raw.text)) != declared:
                mismatches.append((raw.name, declared))
    assert mismatches == []


@pytest.mark.parametrize("text", ["", "   \n\n\t", "---\n\n"])
def test_empty_input_raises_empty_document_error(text):
    with pytest.raises(EmptyDocumentError) as info:
        parse(plain(text, "empty.txt"))
    assert isinstance(info.value, InputError) and info.value.path == "empty.txt"


# --- the whole corpus ---------------------------------------------------------------

def test_every_corpus_file_parses_and_chunks(all_docs):
    assert len(all_docs) > 400
    ids = [doc.id for _, doc in all_docs]
    assert len(ids) == len(set(ids)), "document ids are unique across the corpus"
    for path, doc in all_docs:
        assert doc.sections, path
        assert all(s.text.strip() for s in doc.sections), path
        anchors = [s.anchor for s in doc.sections]
        assert len(anchors) == len(set(anchors)), path
        assert doc.ip_categories and set(doc.ip_categories) <= set(IP_CATEGORIES), path
        assert doc.source and doc.source_path == str(path.relative_to(ROOT)), path
        assert doc.doc_type in DOC_TYPES
        passages = chunk(doc)
        assert passages and all(p.text for p in passages), path


def test_statute_ids_follow_law_name_and_version(all_docs):
    for _, doc in all_docs:
        if doc.doc_type in ("statute", "regulation", "interpretation", "local_regulation", "rule") and doc.version:
            assert doc.id.startswith(doc.law_name) and doc.id.endswith(f"({doc.version})"), doc.id


def test_disambiguate_ids_uses_the_full_date():
    doc = parse_file("laws/反不正当竞争法(2019-04-23).md")
    twin = Document.from_dict({**doc.to_dict(), "date": "2019-01-01"})
    first, second = disambiguate_ids([doc, twin])
    assert (first.id, second.id) == ("反不正当竞争法(2019-04-23)", "反不正当竞争法(2019-01-01)")
    assert disambiguate_ids([doc])[0].id == "反不正当竞争法(2019)"
