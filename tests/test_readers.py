"""Readers on good input: encodings, Markdown, JSON, JSONL, HTML, PDF, DOCX, file discovery.

Inputs are generated from real corpus text in tests/fixtures/readers/ (see
SOURCES.md); anything synthetic is labelled where it is made.
"""
from __future__ import annotations

import codecs
import json
import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ingest import pdf as pdf_reader
from ingest import textutil
from ingest.readers import (
    SUPPORTED_SUFFIXES,
    TEXT_FIELDS,
    iter_input_files,
    read_bytes,
    read_path,
)
from ingest.types import ReadResult
from readers_helpers import (
    AMENDMENT_ROWS,
    FIXTURES,
    RUNNING_HEADER,
    court_pdf_paragraphs,
    encrypt_pdf,
    expected_paragraphs,
    guiding_case_lines,
    layout_paragraphs,
    make_court_pdf,
    make_patent_law_docx,
    patent_law_articles,
    patent_law_text,
)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def only_doc(result: ReadResult):
    assert result.errors == ()
    assert len(result.docs) == 1
    return result.docs[0]


# --- plain text and encodings ---------------------------------------------------------

ENCODINGS = [
    # (how the file is written, the encoding the reader should report)
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gb18030", "gb18030"),
    ("gbk", "gb18030"),
    ("utf-16", "utf-16-le"),  # Python writes a little-endian BOM
    ("utf-16-le", "utf-16-le"),  # no BOM
    ("utf-16-be", "utf-16-be"),  # no BOM
    ("utf-32", "utf-32-le"),
]


@pytest.mark.parametrize(("written", "reported"), ENCODINGS)
def test_txt_encodings_decode_to_the_same_text(tmp_path, written, reported):
    text = patent_law_text()
    path = write(tmp_path, "专利法.txt", text.encode(written))
    doc = only_doc(read_path(path))
    assert doc.text == text.strip("\n")
    assert doc.meta["encoding"] == reported
    assert doc.fmt == "txt"
    assert doc.path == str(path)
    assert doc.locator == ""


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_without_any_ascii_is_recognised(encoding):
    # The 裁判要点 paragraph has no ASCII at all, so there are no NUL bytes to go by.
    gist = guiding_case_lines()[4]
    assert gist.startswith("在发明专利申请公布后") and not any(ch.isascii() for ch in gist)
    doc = only_doc(read_bytes(gist.encode(encoding), "gist.txt"))
    assert doc.text == gist
    assert doc.meta["encoding"] == encoding


def test_txt_normalises_line_endings_controls_and_trailing_spaces_only(tmp_path):
    articles = patent_law_articles()[:4]
    raw = (
        articles[0] + "  \r\n"
        + articles[1] + "\t\r"
        + articles[2].replace("，", "，\x00", 1) + "\x07\n"
        + "\u3000\u3000" + articles[3] + "\u3000\n\n\n"
    )
    doc = only_doc(read_path(write(tmp_path, "mixed.txt", raw.encode("utf-8"))))
    assert doc.text == "\n".join([
        articles[0], articles[1], articles[2], "\u3000\u3000" + articles[3] + "\u3000",
    ])
    assert "\r" not in doc.text and "\x00" not in doc.text


def test_full_width_characters_are_kept_as_they_are():
    line = "第一条　为了促进社会主义市场经济健康发展（ＡＢＣ１２３），制定本法。"
    doc = only_doc(read_bytes(line.encode("gb18030"), "a.txt"))
    assert doc.text == line


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
@settings(max_examples=200, deadline=None)
def test_normalise_text_properties(text):
    once = textutil.normalise_text(text)
    assert textutil.normalise_text(once) == once
    assert "\r" not in once
    assert not any(textutil.is_control(ch) for ch in once)
    assert all(line == line.rstrip(" \t") for line in once.split("\n"))
    assert once.count("\u3000") == text.count("\u3000")


@given(st.text(alphabet="中华人民共和国专利法第条款。，、；：“”（）《》　0123456789abcXYZ \n", min_size=1, max_size=300))
@settings(max_examples=100, deadline=None)
def test_utf8_and_bom_encodings_round_trip(text):
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        decoded = textutil.detect_and_decode(text.encode(encoding))
        assert decoded is not None
        assert decoded[0] == text


# --- Markdown ------------------------------------------------------------------------------

def test_markdown_front_matter_is_parsed_and_removed(tmp_path):
    source = (FIXTURES / "anti_unfair_competition_2025_head.md").read_text(encoding="utf-8")
    doc = only_doc(read_path(write(tmp_path, "反不正当竞争法.md", source.encode("utf-8"))))
    front = doc.meta["front_matter"]
    assert front["title"] == "中华人民共和国反不正当竞争法"
    assert front["publish_date"] == "2025-06-27"
    assert front["status"] == "现行有效"
    assert front["tags"] == ["法律法规", "法律", "经济法"]
    assert doc.text.startswith("（1993年9月2日第八届全国人民代表大会常务委员会第三次会议通过")
    assert "title:" not in doc.text and "---" not in doc.text
    assert "### 第一章　总　　则" in doc.text.split("\n")
    assert doc.fmt == "md"


def test_markdown_without_front_matter_keeps_headings(tmp_path):
    doc = only_doc(read_path(write(tmp_path, "专利法.markdown", patent_law_text().encode("utf-8"))))
    lines = doc.text.split("\n")
    assert lines[0] == "# 中华人民共和国专利法"
    assert "## 第一章 总则" in lines
    assert "<!-- INFO END -->" in lines
    assert "front_matter" not in doc.meta


def test_markdown_front_matter_values_are_json_serialisable():
    # Synthetic front matter with unquoted YAML dates (real files quote them).
    data = "---\npublish_date: 2025-06-27\nsynced: 2026-09-30 08:00:00\n---\n# 标题\n".encode()
    doc = only_doc(read_bytes(data, "a.md"))
    assert doc.meta["front_matter"] == {"publish_date": "2025-06-27", "synced": "2026-09-30T08:00:00"}
    json.dumps(doc.meta)


def test_markdown_empty_front_matter_gives_empty_mapping():
    doc = only_doc(read_bytes("---\n---\n第一条　正文。\n".encode(), "a.md"))
    assert doc.meta["front_matter"] == {}
    assert doc.text == "第一条　正文。"


# --- JSON and JSON Lines -----------------------------------------------------------------------

def guiding_case_record() -> dict:
    lines = guiding_case_lines()
    return {"id": "spc-guiding-20", "title": lines[0], "full_text": "\n".join(lines)}


def test_json_object_is_one_record(tmp_path):
    record = guiding_case_record()
    path = write(tmp_path, "case.json", json.dumps(record, ensure_ascii=False).encode())
    doc = only_doc(read_path(path))
    assert doc.text == record["full_text"]
    assert doc.record == record
    assert doc.locator == ""
    assert doc.fmt == "json"


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_each_text_field_is_recognised(field):
    doc = only_doc(read_bytes(json.dumps({"id": "x", field: "第一条　正文。"}).encode(), "a.json"))
    assert doc.text == "第一条　正文。"


def test_first_non_empty_text_field_wins_in_documented_order():
    articles = patent_law_articles()
    record = {
        "body": articles[3],
        "content": articles[2],
        "text": "   ",  # empty after stripping: skipped
        "full_text": 42,  # not a string: skipped
        "context": articles[1],
    }
    doc = only_doc(read_bytes(json.dumps(record, ensure_ascii=False).encode(), "a.json"))
    assert doc.text == articles[2]  # content comes before context and body


def test_json_list_gives_one_doc_per_element_with_index_locators():
    articles = patent_law_articles()[:3]
    records = [{"id": f"a{i}", "text": a} for i, a in enumerate(articles)]
    result = read_bytes(json.dumps(records, ensure_ascii=False).encode("utf-8"), "list.json")
    assert result.errors == ()
    assert [d.locator for d in result.docs] == ["[0]", "[1]", "[2]"]
    assert [d.text for d in result.docs] == articles
    assert [d.record["id"] for d in result.docs] == ["a0", "a1", "a2"]
    assert result.docs[1].name == "list.json [1]"


def test_json_record_text_line_endings_are_normalised():
    # CAIL facts contain \r\n (corpus manifest).
    doc = only_doc(read_bytes(json.dumps({"text": "公诉机关指控：\r\n被告人…  \r\n"}).encode(), "a.json"))
    assert doc.text == "公诉机关指控：\n被告人…"
    assert doc.record["text"] == "公诉机关指控：\r\n被告人…  \r\n"


def test_json_nesting_up_to_the_limit_is_accepted():
    value = {"text": "正文", "nested": json.loads("[" * 99 + "]" * 99)}  # depth 100 with the object
    doc = only_doc(read_bytes(json.dumps(value).encode(), "a.json"))
    assert doc.text == "正文"


def test_jsonl_reads_line_by_line_with_line_locators(tmp_path):
    articles = patent_law_articles()[:3]
    lines = [json.dumps({"id": i, "context": a}, ensure_ascii=False) for i, a in enumerate(articles)]
    data = ("\ufeff" + lines[0] + "\r\n\n" + lines[1] + "\n   \n" + lines[2]).encode("utf-8")
    result = read_path(write(tmp_path, "facts.jsonl", data))
    assert result.errors == ()
    assert [d.locator for d in result.docs] == ["line 1", "line 3", "line 5"]
    assert [d.text for d in result.docs] == articles
    assert all(d.fmt == "jsonl" for d in result.docs)


def test_read_bytes_matches_read_path(tmp_path):
    samples = {
        "a.txt": patent_law_text().encode("gb18030"),
        "a.json": json.dumps([guiding_case_record()], ensure_ascii=False).encode(),
        "a.jsonl": b'{"text": "x"}\n{"text": "y"}\n',
    }
    for name, data in samples.items():
        from_disk = read_path(write(tmp_path, name, data))
        from_memory = read_bytes(data, str(tmp_path / name))
        assert from_disk == from_memory


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=200))
@settings(max_examples=100, deadline=None)
def test_json_depth_guard_agrees_with_real_depth(depth, limit):
    text = '{"a": "[[[{{{ ]] \\" [["}' if depth == 0 else "[" * depth + '"]]]\\"["' + "]" * depth
    assert textutil.json_depth_exceeds(text, limit) == (depth > limit)


# --- HTML ------------------------------------------------------------------------------------

def html_page(charset: str = "utf-8") -> str:
    """SYNTHETIC markup around real guiding-case text, with script, style, nav and entities."""
    lines = guiding_case_lines()
    quoted = lines[7].replace("“", "&ldquo;").replace("”", "&rdquo;")
    return f"""<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>指导案例20号 &amp; 裁判要点</title>
<style>p {{ color: red; }} .x::before {{ content: "样式文字"; }}</style>
<script>var s = "<p>脚本文字</p>"; if (a < b && c > d) {{ }}</script></head>
<body><nav><a href="/">首页</a> &gt; <a href="/cases">案例</a></nav>
<h1>{lines[0]}</h1>
<p>{lines[1]}</p>
<h2>裁判要点</h2>
<p>  {lines[4]}
   </p>
<p>{quoted}<br>第二行&nbsp;&nbsp;文字</p>
<table><tr><th>案号</th><th>法院</th><th>备注</th></tr>
<tr><td>（2011）民提字第259号</td><td>最高人民法院</td><td></td></tr>
<tr><td></td><td>广东省高级人民法院</td><td>二审</td></tr></table>
<noscript>请启用脚本</noscript>
</body></html>"""


def test_html_drops_script_style_nav_and_unescapes_entities():
    lines = guiding_case_lines()
    doc = only_doc(read_bytes(html_page().encode("utf-8"), "case.html"))
    assert doc.text.split("\n") == [
        "# " + lines[0],
        lines[1],
        "## 裁判要点",
        lines[4],
        lines[7],
        "第二行 文字",
        "案号\t法院\t备注",
        "（2011）民提字第259号\t最高人民法院",  # trailing blanks go (normalise_text)
        "\t广东省高级人民法院\t二审",  # a leading empty cell keeps its column
    ]
    assert doc.meta["title"] == "指导案例20号 & 裁判要点"
    assert doc.fmt == "html"


def test_html_declared_gbk_charset_is_honoured():
    doc = only_doc(read_bytes(html_page("gbk").encode("gbk"), "case.htm"))
    assert doc.text.split("\n")[0] == "# " + guiding_case_lines()[0]
    assert doc.meta["encoding"] == "gbk"


# --- PDF -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("columns", "lines_per_page"), [(48, 8), (56, 14), (64, 14), (72, 20)])
def test_pdf_headers_footers_stripped_and_paragraphs_rejoined(tmp_path, columns, lines_per_page):
    paragraphs = court_pdf_paragraphs()
    data, crossing = make_court_pdf(
        layout_paragraphs(paragraphs, columns=columns), lines_per_page=lines_per_page
    )
    assert crossing >= 1  # some paragraph really continues on the next page
    doc = only_doc(read_path(write(tmp_path, "judgment.pdf", data)))
    assert doc.text.split("\n") == expected_paragraphs(paragraphs)
    assert RUNNING_HEADER not in doc.text
    assert "页" not in doc.text  # no "第 N 页" footer survived (页 is absent from the real text)
    assert doc.meta["pages"] >= 2
    assert doc.meta["title"] == "指导案例20号"
    assert doc.fmt == "pdf"


def test_pdf_article_number_keeps_its_full_width_space():
    paragraphs = court_pdf_paragraphs()
    data, _ = make_court_pdf(layout_paragraphs(paragraphs), lines_per_page=14)
    text = read_bytes(data, "law.pdf").docs[0].text
    assert "第一条\u3000为了保护专利权人的合法权益" in text
    assert "第二条\u3000本法所称的发明创造" in text
    assert "第一条 " not in text


def test_pdf_with_empty_user_password_opens():
    paragraphs = court_pdf_paragraphs()
    data, _ = make_court_pdf(layout_paragraphs(paragraphs), lines_per_page=14)
    doc = only_doc(read_bytes(encrypt_pdf(data, user_password=""), "open.pdf"))
    assert doc.text.split("\n") == expected_paragraphs(paragraphs)
    assert doc.meta["encrypted"] is True


@pytest.mark.parametrize(
    "line",
    ["第 3 页", "第3页", "第 3 页 共 10 页", "共10页 第3页", "- 3 -", "— 12 —", "3/10", "3 / 10",
     "Page 3 of 10", "page 3", "3", "  17  ", "第三页"],
)
def test_page_number_lines_are_recognised(line):
    assert pdf_reader.is_page_number_line(line)


@pytest.mark.parametrize(
    "line",
    ["第三条", "2020年", "1984年3月12日", "一、", "123456", "第 3 页的内容", "（2011）民提字第259号"],
)
def test_text_lines_are_not_page_numbers(line):
    assert not pdf_reader.is_page_number_line(line)


def test_running_lines_need_more_than_half_of_the_pages():
    pages = [
        ["（2013）民申字第1643号", "正文甲。", "第 1 页"],
        ["（2013）民申字第1643号", "正文乙。", "第 2 页"],
        ["正文丙。", "第 3 页"],
        ["（2013）民申字第1643号", "正文丁。", "4"],
    ]
    assert pdf_reader.strip_running_lines(pages) == [["正文甲。"], ["正文乙。"], ["正文丙。"], ["正文丁。"]]
    # A line on only two of five pages is content, not a running header.
    pages = [["重复的一行", "甲"], ["重复的一行", "乙"], ["丙"], ["丁"], ["戊"]]
    assert pdf_reader.strip_running_lines(pages) == pages


JOIN_CASES = {
    # SYNTHETIC lines, one rule each.
    "full line without sentence end continues; closing punctuation never opens a paragraph": (
        ["本院认为：原告主张被告的产品落入", "涉案专利保护范围，理由不能成立", "。"],
        ["本院认为：原告主张被告的产品落入涉案专利保护范围，理由不能成立。"],
    ),
    "short unpunctuated line before an indented one is a heading": (
        ["关键词　民事　知识产权　侵害　发明专利权", "裁判要点", "\u3000\u3000在发明专利申请公布后。"],
        ["关键词　民事　知识产权　侵害　发明专利权", "裁判要点", "在发明专利申请公布后。"],
    ),
    "Latin words join with a space, a number broken across lines without": (
        ["The plaintiff Apple Inc. and its rival", "signed the agreement in the year of 19", "98 and kept to it."],
        ["The plaintiff Apple Inc. and its rival signed the agreement in the year of 1998 and kept to it."],
    ),
    "a bare article number joins its text with U+3000": (
        ["第十一条", "发明和实用新型专利权被授予后。"],
        ["第十一条\u3000发明和实用新型专利权被授予后。"],
    ),
    "a bare chapter number in a table of contents does not swallow the next one": (
        ["第一章", "第二章", "第三章　法律责任"],
        ["第一章", "第二章", "第三章　法律责任"],
    ),
    "a short line ends its paragraph": (
        ["本院认为：原告主张被告的产品落入涉案专利保护范围。", "原告：深圳市斯瑞曼精细化工有限公司", "被告：深圳市坑梓自来水有限公司"],
        ["本院认为：原告主张被告的产品落入涉案专利保护范围。", "原告：深圳市斯瑞曼精细化工有限公司", "被告：深圳市坑梓自来水有限公司"],
    ),
    "a sentence end stops joining where paragraphs are not indented": (
        ["第二条　本法所称的发明创造是指发明、实用新型。", "发明，是指对产品、方法或者其改进所提出的。"],
        ["第二条　本法所称的发明创造是指发明、实用新型。", "发明，是指对产品、方法或者其改进所提出的。"],
    ),
    "a blank line ends a paragraph": (
        ["本院认为：原告主张被告的产品落入", "", "涉案专利保护范围，理由不能成立"],
        ["本院认为：原告主张被告的产品落入", "涉案专利保护范围，理由不能成立"],
    ),
}


@pytest.mark.parametrize("case", JOIN_CASES, ids=list(JOIN_CASES))
def test_join_broken_lines(case):
    lines, expected = JOIN_CASES[case]
    assert pdf_reader.join_broken_lines(lines) == expected


def test_restore_article_space():
    restore = pdf_reader.restore_article_space
    assert restore("第十一条  发明") == "第十一条\u3000发明"
    assert restore("第二百一十九条之一 为境外") == "第二百一十九条之一\u3000为境外"
    assert restore("第三条 2008年修正") == "第三条\u30002008年修正"  # at line start, whatever follows
    assert restore("关键词 民事  知识产权") == "关键词\u3000民事\u3000知识产权"  # gaps between CJK
    assert restore("原告Apple Inc. 公司于 2009 年") == "原告Apple Inc. 公司于 2009 年"  # not CJK–CJK
    assert restore("依照 第十一条 规定") == "依照\u3000第十一条\u3000规定"


def test_unreadable_share_separates_text_from_garbage():
    assert textutil.unreadable_share(patent_law_text()) == 0.0
    assert textutil.unreadable_share("Société Générale v. Müller GmbH, 2019") < 0.3
    assert textutil.is_mojibake("\ue000\ue001\ue002中文\ufffd\ufffd")  # private use and U+FFFD
    assert textutil.is_mojibake("ŎƗʝ4M͋ȧcŹɗ>ȊÞ)[ƿƯJù_ȷƵ?͑Ɇçʈʅ")  # Latin soup of glyph ids


# --- DOCX -------------------------------------------------------------------------------------

def test_docx_paragraphs_headings_and_tables(tmp_path):
    doc = only_doc(read_path(write(tmp_path, "专利法.docx", make_patent_law_docx())))
    articles = patent_law_articles()[:3]
    assert doc.text.split("\n") == [
        "# 中华人民共和国专利法",
        "# 第一章 总则",
        *articles,
        "## 修正情况",
        *("\t".join(row) for row in AMENDMENT_ROWS),
    ]
    assert doc.meta["title"] == "中华人民共和国专利法"
    assert doc.fmt == "docx"


@pytest.mark.parametrize(
    ("style", "level"),
    [("Heading 1", 1), ("heading 3", 3), ("标题 2", 2), ("标题2", 2), ("Title", 1), ("Normal", None),
     ("Heading", None), (None, None)],
)
def test_heading_levels_from_style_names(style, level):
    from ingest.docx_reader import heading_level

    assert heading_level(style) == level


# --- finding files ----------------------------------------------------------------------------

def test_iter_input_files_walks_sorted_and_skips_hidden_and_unsupported(tmp_path):
    for relative in ["b/2.md", "b/1.txt", "a.json", "c/d/e.pdf", "c/skip.xls", ".hidden.txt",
                     ".git/config.txt", "b/.cache/x.txt", "Z.TXT", "c/d/f.docx"]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "b", target_is_directory=True)
    explicit = tmp_path / "c" / "skip.xls"
    found = list(iter_input_files([tmp_path, explicit, tmp_path / "missing.txt"]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "Z.TXT", "a.json", "b/1.txt", "b/2.md", "c/d/e.pdf", "c/d/f.docx", "c/skip.xls", "missing.txt",
    ]


def test_iter_input_files_accepts_strings_and_yields_named_hidden_files(tmp_path):
    hidden = tmp_path / ".notes.txt"
    hidden.write_bytes(b"x")
    assert list(iter_input_files([str(hidden)])) == [hidden]


def test_supported_suffixes_are_the_documented_ones():
    assert SUPPORTED_SUFFIXES == frozenset(
        {".txt", ".md", ".markdown", ".json", ".jsonl", ".pdf", ".docx", ".html", ".htm"}
    )


def test_suffix_matching_ignores_case(tmp_path):
    doc = only_doc(read_path(write(tmp_path, "LAW.TXT", "第一条　正文。".encode())))
    assert doc.text == "第一条　正文。"


def test_utf16_nul_pattern_detector():
    assert textutil.utf16_by_nul_pattern("abc 第一条\n".encode("utf-16-le")) == "utf-16-le"
    assert textutil.utf16_by_nul_pattern("abc 第一条\n".encode("utf-16-be")) == "utf-16-be"
    assert textutil.utf16_by_nul_pattern("abc 第一条\n".encode("utf-8")) is None
    assert textutil.bom_encoding(codecs.BOM_UTF32_LE + b"x") == "utf-32-le"
    assert textutil.bom_encoding(codecs.BOM_UTF16_LE + b"x") == "utf-16-le"
    assert textutil.bom_encoding(string.ascii_letters.encode()) is None


def test_relative_path_is_reported_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "rel.txt", "第一条　正文。".encode())
    doc = only_doc(read_path("rel.txt"))
    assert doc.path == "rel.txt"
    assert doc.name == "rel.txt"


REAL_TEXT = patent_law_text() + "\n".join(guiding_case_lines())


@given(st.integers(min_value=0, max_value=len(REAL_TEXT) - 1), st.integers(min_value=6, max_value=400))
@settings(max_examples=300, deadline=None)
def test_real_text_in_gb18030_is_never_mistaken_for_another_encoding(start, length):
    # Any stretch of real text with a few hanzi. (A handful of GBK characters alone
    # can also be valid UTF-8, e.g. 一一一 = D2 BB D2 BB D2 BB; strict UTF-8 wins then,
    # as it must for accented Latin text. Real Chinese prose does not do that.)
    text = REAL_TEXT[start:start + length]
    assume(sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 4)
    decoded = textutil.detect_and_decode(text.encode("gb18030"))
    assert decoded == (text, "gb18030")


def test_iter_input_files_skips_folder_notes_but_reads_them_when_named(tmp_path):
    for name in ["README.md", "PROVENANCE.md", "law.md"]:
        (tmp_path / name).write_text("# x\n", encoding="utf-8")
    assert [p.name for p in iter_input_files([tmp_path])] == ["law.md"]
    assert list(iter_input_files([tmp_path / "README.md"])) == [tmp_path / "README.md"]
