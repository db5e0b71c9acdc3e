"""The Streamlit app driven by AppTest on a knowledge base of the real corpus (fake embedder).

Read-only tests use the session's ``corpus_kb``; tests that write (course packs,
uploads, an extra synthetic document) run on their own copy of it.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from streamlit.testing.v1 import AppTest

from kb.coursepack import PackStore
from kb.knowledge import KnowledgeBase
from kb.locking import WriteLock
from kb.taxonomy import TOPICS

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
FIXTURES = Path(__file__).parent / "fixtures" / "app"
TRADE_SECRET_RULES = "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定"


@pytest.fixture(autouse=True)
def app_env(corpus_kb, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(corpus_kb))
    monkeypatch.setenv("IPKB_EMBEDDER", "fake")
    return corpus_kb


@pytest.fixture
def own_kb(corpus_kb, tmp_path, monkeypatch) -> Path:
    """A private copy of the corpus knowledge base for tests that write."""
    home = tmp_path / "kb"
    shutil.copytree(corpus_kb, home, ignore=shutil.ignore_patterns("write.lock"))
    monkeypatch.setenv("KB_HOME", str(home))
    return home


def run_app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(params)
    return checked(at.run())


def checked(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def page_html(at: AppTest) -> str:
    """All Markdown/HTML the run rendered (main area and sidebar), our CSS block left out."""
    return "\n".join(m.value for m in at.markdown if not m.value.lstrip().startswith("<style>"))


def hit_titles(at: AppTest) -> list[str]:
    return re.findall(r'<span class="kb-rank">\d+</span><a href="[^"]*" target="_self">([^<]+)</a>', page_html(at))


def hit_ranks(at: AppTest) -> list[int]:
    return [int(n) for n in re.findall(r'<span class="kb-rank">(\d+)</span>', page_html(at))]


def results_total(at: AppTest) -> int:
    match = re.search(r"共 \*\*(\d+)\*\* 条结果", page_html(at))
    assert match, "no result count shown"
    return int(match.group(1))


def search(at: AppTest, query: str, mode: str | None = None) -> AppTest:
    if mode:
        at.radio(key="search_mode").set_value(mode)
    at.text_input(key="search_q").input(query)
    return checked(at.run())


def open_kb(home: Path) -> KnowledgeBase:
    return KnowledgeBase.open(home, embedder="fake", create=False)


def cail_trademark_facts() -> str:
    """Facts of the first CAIL 2018 假冒注册商标 record shipped in corpus/ (real)."""
    with open(REPO / "corpus/judgments/cail2018_ip_criminal_facts.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if "假冒注册商标" in record["title"] and "销售" not in record["title"]:
                return record["text"]
    raise AssertionError("no 假冒注册商标 record in the corpus")


# --- every page -------------------------------------------------------------------------------

PAGE_WIDGETS = {
    "search": ("text_input", "search_q"), "similar": ("text_area", "similar_text"),
    "reader": ("text_input", "reader_id"), "guide": ("radio", "guide_topic"),
    "pack": ("text_input", "pack_name"), "import": ("file_uploader", "upload_files"),
    "status": ("metric", None),
}


@pytest.mark.parametrize("page", list(PAGE_WIDGETS))
def test_every_page_renders_by_radio_and_by_url(page):
    kind, key = PAGE_WIDGETS[page]
    by_radio = run_app()
    by_radio.radio(key="nav").set_value(page)
    by_url = run_app(page=page)
    for at in (checked(by_radio.run()), by_url):
        assert at.radio(key="nav").value == page
        if key:
            assert getattr(at, kind)(key=key) is not None
        assert at.query_params["page"] == page


def test_status_page_counts_match_the_store(corpus_kb):
    with open_kb(corpus_kb) as kb:
        stats = kb.stats()
    at = run_app(page="status")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["文书"] == f"{stats['documents']:,}"
    assert metrics["段落"] == f"{stats['passages']:,}"
    assert metrics["向量"] == f"{stats['vectors']:,}"
    table = at.dataframe[0].value
    assert dict(zip(table["类型"], table["件数"]))["指导性案例"] == stats["by_type"]["guiding_case"]


def test_missing_knowledge_base_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(tmp_path / "nothing-here"))
    at = run_app()
    assert any("make run" in w.value for w in at.warning)
    assert not (tmp_path / "nothing-here" / "kb.sqlite").exists()


@pytest.mark.parametrize("page", list(PAGE_WIDGETS))
def test_an_empty_knowledge_base_renders_every_page_with_a_hint(tmp_path, monkeypatch, page):
    KnowledgeBase.open(tmp_path / "empty", embedder="fake").close()
    monkeypatch.setenv("KB_HOME", str(tmp_path / "empty"))
    at = run_app(page=page)
    assert any("是空的" in w.value and "make run" in w.value for w in at.warning)


def test_without_vectors_the_app_says_it_searches_by_keyword_only(tmp_path, monkeypatch):
    from ingest.pipeline import ingest_paths
    home = tmp_path / "lexical-only"
    with KnowledgeBase.open(home, embedder="none") as kb, kb.writing():
        ingest_paths(kb, [REPO / "corpus/guiding-cases/指导案例87号.json", REPO / "corpus/laws/商标法(2019-04-23).md"])
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.delenv("IPKB_EMBEDDER")
    at = search(run_app(), "注册商标")
    assert at.radio(key="search_mode").options == ["关键词"]
    assert any("仅提供关键词检索" in c.value for c in at.caption)
    assert hit_titles(at)
    similar = run_app(page="similar")
    assert any("仅使用关键词" in i.value for i in similar.info)


# --- search -----------------------------------------------------------------------------------

def test_search_finds_the_trade_secret_provisions_with_marked_terms():
    at = search(run_app(), "合理保密措施")
    titles = hit_titles(at)
    assert TRADE_SECRET_RULES in titles[:3]
    assert "<mark>合理保密措施</mark>" in page_html(at)
    assert hit_ranks(at) == list(range(1, len(titles) + 1))


def test_query_notes_are_shown_in_chinese():
    at = search(run_app(), '"合理保密措施', mode="bm25")
    assert any("引号不成对" in c.value for c in at.caption), [c.value for c in at.caption]
    assert TRADE_SECRET_RULES in hit_titles(at)


def test_a_facet_click_narrows_the_results_to_its_count():
    at = search(run_app(), "商业秘密", mode="bm25")
    before = results_total(at)
    box = next(c for c in at.checkbox if c.key == "facet_doc_type_interpretation")
    count = int(re.search(r"（(\d+)）", box.label).group(1))
    assert 0 < count < before
    box.check()
    at = checked(at.run())
    assert results_total(at) == count
    badges = re.findall(r'<div class="kb-hit">.*?<span class="kb-badge ">([^<]+)</span>', page_html(at))
    assert badges and set(badges) == {"司法解释"}
    at.checkbox(key="facet_doc_type_interpretation").uncheck()
    assert results_total(checked(at.run())) == before


def test_pagination_moves_to_the_next_ten():
    at = search(run_app(), "商标", mode="bm25")
    assert results_total(at) > 10
    first = hit_titles(at)
    assert hit_ranks(at) == list(range(1, 11))
    at.pagination(key="search_page").set_value(2)
    at = checked(at.run())
    assert hit_ranks(at)[0] == 11
    assert set(hit_titles(at)).isdisjoint(first)


def test_opening_a_result_shows_it_in_the_reader():
    at = search(run_app(), "合理保密措施")
    title = hit_titles(at)[0]
    at.button(key="open_0").click()
    at = checked(at.run())
    assert at.radio(key="nav").value == "reader"
    doc_id = at.text_input(key="reader_id").value
    assert at.query_params == {"page": "reader", "id": doc_id}
    assert f">{title}</h3>" in page_html(at)


def test_result_links_point_at_the_reader():
    at = search(run_app(), "合理保密措施")
    links = re.findall(r'<a href="\?page=reader&amp;id=([^"]+)" target="_self">', page_html(at))
    assert len(links) >= 10
    from urllib.parse import unquote
    reader = run_app(page="reader", id=unquote(links[0]))
    assert reader.text_input(key="reader_id").value == unquote(links[0])
    assert "<h3" in page_html(reader)


# --- similar cases ----------------------------------------------------------------------------

def test_similar_cases_for_pasted_cail_facts():
    at = run_app(page="similar")
    at.text_area(key="similar_text").input(cail_trademark_facts())
    at.button(key="similar_run").click()
    at = checked(at.run())
    html = page_html(at)
    assert "知识产权类别</dt><dd>商标" in html
    hits = re.findall(r'<span class="kb-rank">\d+</span><a [^>]*>([^<]+)</a>', html)
    assert len(hits) == 10
    assert sum("假冒注册商标" in t for t in hits[:5]) >= 3
    assert html.count('kb-muted">综合得分') == 10 and html.count('class="kb-bars"') == 10
    assert "<mark>" in html and "待检索案情" in html
    assert at.button(key="similar_open_0") is not None and at.button(key="similar_add_0") is not None


def test_similar_cases_for_an_uploaded_txt_judgment_show_shared_articles():
    at = run_app(page="similar")
    data = (FIXTURES / "wenshu_2013_minshen_1643.txt").read_bytes()
    at.file_uploader(key="similar_file").set_value(("沁州黄裁定书.txt", data, "text/plain"))
    at.button(key="similar_run").click()
    at = checked(at.run())
    html = page_html(at)
    assert "上传文书：沁州黄裁定书.txt" in html and "（2013）民申字第1643号" in html
    assert "侵害商标权纠纷" in html or "商标" in html
    labels = [e.label for e in at.expander]
    shared = next(label for label in labels if "商标法实施条例第49条" in label)
    text = "\n".join(m.value for e in at.expander if e.label == shared for m in e.markdown)
    assert "第四十九条" in text  # the article's own text, not just its label
    assert "?page=reader&amp;id=" in text


def test_similar_without_input_asks_for_it():
    at = run_app(page="similar")
    at.button(key="similar_run").click()
    at = checked(at.run())
    assert any("请先粘贴案情描述" in e.value for e in at.error)


def test_similar_upload_of_garbage_is_reported():
    at = run_app(page="similar")
    at.file_uploader(key="similar_file").set_value(("坏文件.pdf", b"\x00\x01garbage" * 50, "application/pdf"))
    at.button(key="similar_run").click()
    at = checked(at.run())
    assert any("坏文件.pdf" in e.value for e in at.error)


# --- reader ------------------------------------------------------------------------------------

def test_guiding_case_shows_its_holding_first_and_cited_articles_on_click(corpus_kb):
    at = run_app(page="reader", id="指导案例87号")
    html = page_html(at)
    gist_at = html.index('<div class="kb-gist-title">裁判要点</div>')
    assert gist_at < html.index("<dt>法院</dt>") < html.index("基本案情")
    assert "假冒注册商标犯罪的非法经营数额" in html[gist_at:gist_at + 400]
    cite = at.button(key="cite_0")
    assert cite.label == "刑法第213条"
    cite.click()
    at = checked(at.run())
    html = page_html(at)
    assert "第二百一十三条" in html and "假冒注册商标罪" not in cite.label
    with open_kb(corpus_kb) as kb:
        citing = [i for i in kb.citing("刑法#213") if i != "指导案例87号"]
        titles = kb.store.summaries(citing)
    assert citing, "the corpus has other documents citing 刑法第二百一十三条"
    assert f"其他引用刑法第213条的文书（{len(citing)} 件）" in html
    for doc_id in citing[:5]:
        assert titles[doc_id]["title"] in html


def test_an_article_address_opens_that_article(corpus_kb):
    with open_kb(corpus_kb) as kb:
        doc, section = kb.resolve("反不正当竞争法#9")
    at = run_app(page="reader")
    at.text_input(key="reader_id").input("反不正当竞争法#9")
    at = checked(at.run())
    html = page_html(at)
    focus = html[html.index('<div class="kb-focus">'):]
    assert section.text.splitlines()[0][len(section.title):].strip()[:30] in focus
    assert f">{doc.title}</h3>" in html
    assert at.query_params["id"] == "反不正当竞争法#9"


def test_a_superseded_law_warns_and_links_to_the_new_version():
    at = run_app(page="reader", id="反不正当竞争法(2019)")
    warning = at.warning[0].value
    assert "已被修订" in warning and "2025" in warning
    at.button(key="reader_newer").click()
    at = checked(at.run())
    assert at.text_input(key="reader_id").value == "反不正当竞争法(2025)"
    assert not any("已被修订" in w.value for w in at.warning)


def test_unknown_address_is_an_error_message():
    at = run_app(page="reader", id="不存在的法#1")
    assert any("找不到" in e.value for e in at.error)


def test_table_of_contents_jumps_to_an_article():
    at = run_app(page="reader", id="专利法(2020)")
    toc = at.selectbox(key="reader_toc_专利法(2020)")
    toc.set_value("11")
    at = checked(at.run())
    assert at.text_input(key="reader_id").value == "专利法(2020)#11"
    assert '<div class="kb-focus">' in page_html(at)


# --- guidelines ---------------------------------------------------------------------------------

def test_a_topic_lists_its_laws_and_says_no_guidelines_are_held(corpus_kb):
    at = run_app(page="guide")
    at.radio(key="guide_topic").set_value("patent")
    at = checked(at.run())
    html = page_html(at)
    assert "中华人民共和国专利法" in html and "专利法实施细则" in html
    assert any("没有收录企业知识产权合规指引" in c.value for c in at.caption)
    at.radio(key="guide_topic").set_value("trade_secret")
    at.text_input(key="guide_q").input("保密措施")
    at = checked(at.run())
    titles = hit_titles(at)
    assert TRADE_SECRET_RULES in titles
    with open_kb(corpus_kb) as kb:
        from kb.taxonomy import topics_for
        by_title = {d.title: topics_for(d) for d in kb.store.iter_documents()}
    assert all("trade_secret" in by_title[t] for t in titles)
    assert len(TOPICS) == len(at.radio(key="guide_topic").options)


# --- course packs -------------------------------------------------------------------------------

def _captured_downloads(monkeypatch) -> dict[str, bytes]:
    """What the app hands to st.download_button, by file name."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    seen: dict[str, bytes] = {}
    original = MediaFileManager.add

    def add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name:
            seen[file_name] = path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode()
        return original(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)
    monkeypatch.setattr(MediaFileManager, "add", add)
    return seen


def test_course_pack_from_search_and_reader_reorder_annotate_export(own_kb, monkeypatch):
    downloads = _captured_downloads(monkeypatch)
    at = search(run_app(), "合理保密措施")
    at.button(key="add_0").click()
    at = checked(at.run())
    assert any("已加入课程包" in c.value for c in at.caption)
    at = run_app(page="reader", id="指导案例87号")
    at.button(key="pack_add_gist").click()
    at = checked(at.run())
    at.button(key="pack_add_doc").click()
    checked(at.run())

    store = PackStore(own_kb)
    pack = store.load(store.last_used())
    assert [i.kind for i in pack.items] == ["article", "holding", "document"]
    assert pack.items[0].ref.startswith(TRADE_SECRET_RULES)
    assert "假冒注册商标犯罪的非法经营数额" in pack.items[1].text
    assert store.path_for(pack.name).is_file() and store.path_for(pack.name).parent == own_kb / "packs"

    at = run_app(page="pack")
    moved = pack.items[2]
    at.button(key=f"up_{moved.id}").click()
    at = checked(at.run())
    at.text_area(key=f"note_{moved.id}").input("讨论：网络销售数额如何认定")
    at = checked(at.run())
    pack = store.load(pack.name)
    assert [i.kind for i in pack.items] == ["article", "document", "holding"]
    assert pack.items[1].note == "讨论：网络销售数额如何认定"

    md = downloads[next(name for name in downloads if name.endswith(".md"))].decode("utf-8")
    order = [md.index(f"## {n}. {item.title}") for n, item in enumerate(pack.items, start=1)]
    assert order == sorted(order)
    assert "**批注：** 讨论：网络销售数额如何认定" in md
    assert "LawRefBook/Laws" in md.split("## 资料来源")[1] and "court.gov.cn" in md
    docx = DocxDocument(__import__("io").BytesIO(downloads[next(n for n in downloads if n.endswith(".docx"))]))
    headings = [p.text for p in docx.paragraphs if p.style.name == "Heading 1"]
    assert headings[1:4] == [f"{n}. {item.title}" for n, item in enumerate(pack.items, start=1)]
    assert docx.paragraphs[0].text == pack.title


def test_a_pack_survives_a_reload(own_kb):
    at = run_app(page="pack")
    at.text_input(key="pack_name").input("商标刑事培训")
    at = checked(at.run())
    at = run_app(page="reader", id="指导案例87号")
    at.button(key="pack_add_gist").click()
    checked(at.run())
    fresh = run_app(page="pack")  # a new session, as after a browser reload
    assert fresh.selectbox(key="pack_pick").value == "商标刑事培训"
    assert "郭明升、郭明锋、孙淑标假冒注册商标案 裁判要点" in page_html(fresh)
    assert (own_kb / "packs").is_dir() and PackStore(own_kb).names() == ["商标刑事培训"]


def test_removing_an_item(own_kb):
    at = run_app(page="reader", id="指导案例87号")
    at.button(key="pack_add_doc").click()
    checked(at.run())
    store = PackStore(own_kb)
    item = store.load(store.last_used()).items[0]
    at = run_app(page="pack")
    at.button(key=f"rm_{item.id}").click()
    checked(at.run())
    assert store.load(store.last_used()).items == ()


# --- import -------------------------------------------------------------------------------------

def test_upload_adds_the_good_file_and_lists_the_bad_ones(own_kb):
    with open_kb(own_kb) as kb:
        before = kb.stats()["documents"]
    at = run_app(page="import")
    at.file_uploader(key="upload_files").set_value([
        ("沁州黄裁定书.txt", (FIXTURES / "wenshu_2013_minshen_1643.txt").read_bytes(), "text/plain"),
        ("空文件.txt", b"", "text/plain"),
        ("乱码.pdf", bytes(range(256)) * 8, "application/pdf"),
    ])
    at = checked(at.run())
    at.button(key="upload_run").click()
    at = checked(at.run())
    errors = [e.value for e in at.error]
    assert any(e.startswith("空文件.txt：") and "empty" in e for e in errors)
    assert any(e.startswith("乱码.pdf：") for e in errors)
    assert not any("沁州黄" in e for e in errors)
    assert any("新增 1 件" in s.value for s in at.success)
    with open_kb(own_kb) as kb:
        assert kb.stats()["documents"] == before + 1
        assert kb.get("（2013）民申字第1643号").court == "最高人民法院"
    stored = [p for p in (own_kb / "uploads").iterdir() if p.is_file()]
    assert len(stored) == 1 and stored[0].suffix == ".txt" and "沁州黄" not in stored[0].name


def test_upload_while_another_ingest_runs_is_refused_clearly(own_kb):
    with open_kb(own_kb) as kb:
        before = kb.stats()["documents"]
    at = run_app(page="import")
    at.file_uploader(key="upload_files").set_value(
        [("沁州黄裁定书.txt", (FIXTURES / "wenshu_2013_minshen_1643.txt").read_bytes(), "text/plain")])
    at = checked(at.run())
    with WriteLock(own_kb):
        at.button(key="upload_run").click()
        at = checked(at.run())
    assert any("另一个导入正在进行" in e.value for e in at.error)
    with open_kb(own_kb) as kb:
        assert kb.stats()["documents"] == before
    assert not [p for p in (own_kb / "uploads").iterdir() if p.is_file()]


# --- escaping -----------------------------------------------------------------------------------

def test_document_html_is_shown_as_text_never_as_markup(own_kb):
    from ingest.pipeline import ingest_paths
    with open_kb(own_kb) as kb, kb.writing():
        report = ingest_paths(kb, [FIXTURES / "synthetic_xss.txt"])
    (doc_id,) = report.added
    assert "<b>" in doc_id  # the id itself carries markup: links and labels must escape it too

    pages = [search(run_app(), "合成保密措施", mode="bm25"), run_app(page="reader", id=doc_id)]
    at = run_app(page="reader", id=doc_id)
    at.button(key="pack_add_doc").click()
    checked(at.run())
    pages.append(run_app(page="pack"))
    for at in pages:
        html = page_html(at)
        assert "合成测试文书" in html
        for raw in ("<script", "<b>", "<img", 'href="javascript:'):
            assert raw not in html, raw
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;b&gt;" in html
    reader_html = page_html(pages[1])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reader_html and "&#36;100" in reader_html
