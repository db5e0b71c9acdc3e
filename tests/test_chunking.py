"""Chunking: one passage per section, overlapping sentence windows for long ones."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import chunk, pack_windows, split_units, window_spans
from kb.models import MEANINGFUL_KINDS, Document, Section

from test_parsers import corpus_files, load_raws, parse, parse_file

SENTENCE_END = "。；！？"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def wenshu():
    return parse_file("judgments/wenshu_ip_judgments.jsonl")


def test_ids_unique_and_stable_across_runs(wenshu):
    again = parse_file("judgments/wenshu_ip_judgments.jsonl")
    first, second = chunk(wenshu), chunk(again)
    assert [p.id for p in first] == [p.id for p in second]
    assert first == second
    assert len({p.id for p in first}) == len(first)
    assert [p.ordinal for p in first] == list(range(len(first)))
    assert all(p.doc_id == wenshu.id for p in first)


def test_one_passage_per_short_section_windows_for_long_ones(wenshu):
    passages = chunk(wenshu)
    for section in wenshu.sections:
        mine = [p for p in passages if p.anchor == section.anchor]
        if len(section.text) <= 360:
            assert [p.id for p in mine] == [f"{wenshu.id}#{section.anchor}"]
            assert mine[0].text == section.text
        else:
            assert [p.id for p in mine] == [f"{wenshu.id}#{section.anchor}~{n}" for n in range(1, len(mine) + 1)]
            assert len(mine) >= 2


def test_windows_overlap_and_cover_the_section(wenshu):
    section = wenshu.section("reasoning")
    assert len(section.text) > 1000
    windows = [p for p in chunk(wenshu) if p.anchor == "reasoning"]
    assert windows[0].title == f"本院认为（1/{len(windows)}）" and windows[1].title == f"本院认为（2/{len(windows)}）"
    spans = []
    for window in windows:
        start = section.text.find(window.text)
        assert start >= 0, "a window is a verbatim slice of its section"
        spans.append((start, start + len(window.text)))
    assert spans[0][0] == 0
    assert spans[-1][1] == len(section.text.rstrip())
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 < e1, "consecutive windows overlap"
        assert s1 < s2 and e1 < e2


def test_windows_end_at_sentence_boundaries(wenshu):
    passages = chunk(wenshu)
    for section in wenshu.sections:
        windows = [p for p in passages if p.anchor == section.anchor]
        for window in windows[:-1]:
            assert window.text[-1] in SENTENCE_END + "”）", window.text[-20:]
            assert section.text[section.text.find(window.text) + len(window.text):][:1] in ("", "\n") \
                or window.text[-1] in SENTENCE_END + "”）"


def test_no_window_longer_than_the_window(wenshu):
    for size, overlap in ((360, 60), (200, 40), (120, 0)):
        for passage in chunk(wenshu, window=size, overlap=overlap):
            assert len(passage.text) <= size


def test_article_passages_carry_their_label():
    doc = parse_file("laws/专利法(2020-10-17).md")
    passages = {p.id: p for p in chunk(doc)}
    eleventh = passages["专利法(2020)#11"]
    assert eleventh.title == "专利法(2020) 第十一条"
    assert eleventh.text.startswith("第十一条") and eleventh.kind == "article" and eleventh.embed
    assert eleventh.text == doc.section("11").text
    trade_secret = [p for p in chunk(parse_file("laws/反不正当竞争法(2019-04-23).md")) if p.anchor == "9"]
    assert trade_secret[0].title == "反不正当竞争法(2019) 第九条（1/2）"
    assert trade_secret[0].id == "反不正当竞争法(2019)#9~1"


def test_long_article_is_windowed_at_paragraph_lines():
    doc = parse_file("laws/反不正当竞争法(2025-06-27).md")
    article = doc.section("10")
    assert len(article.text) > 360
    windows = [p for p in chunk(doc) if p.anchor == "10"]
    assert [p.id for p in windows] == [f"反不正当竞争法(2025)#10~{n}" for n in range(1, len(windows) + 1)]
    assert windows[0].title == f"反不正当竞争法(2025) 第十条（1/{len(windows)}）"
    lines = article.text.split("\n")
    for window in windows:
        assert any(window.text.startswith(line) for line in lines), "windows start at a 款 line"


def test_embed_flags_follow_section_kind():
    case = parse_file("guiding-cases/指导案例219号.json")
    flags = {p.kind: p.embed for p in chunk(case)}
    assert flags == {"keywords": False, "gist": True, "laws": False, "facts": True, "result": False,
                     "reasoning": True}
    ruling = parse_file("judgments/wenshu_ip_judgments.jsonl")
    for passage in chunk(ruling):
        assert passage.embed == (passage.kind in MEANINGFUL_KINDS)
    assert {p.kind for p in chunk(ruling) if not p.embed} == {"header", "parties", "result", "tail"}


def test_case_section_titles_are_human_labels():
    case = parse_file("guiding-cases/指导案例219号.json")
    titles = [p.title for p in chunk(case)]
    assert titles[:3] == ["关键词", "裁判要点", "相关法条"]
    assert "基本案情（1/" in titles[3]


def test_empty_sections_produce_no_passage():
    doc = Document(id="d", title="t", doc_type="policy", text="一、甲。",
                   sections=(Section("item", "一、", "  \n ", "1"), Section("item", "二、", "一、甲。", "2")))
    assert [p.id for p in chunk(doc)] == ["d#2"]


def test_bad_window_arguments_are_refused():
    doc = parse_file("guiding-cases/指导案例87号.json")
    with pytest.raises(ValueError):
        chunk(doc, window=50, overlap=50)
    with pytest.raises(ValueError):
        chunk(doc, window=0)


def test_every_corpus_passage_is_a_slice_of_its_document():
    """Modulo whitespace, so that highlights can be mapped back into the document text."""
    for path in corpus_files():
        for raw in load_raws(path):
            doc = parse(raw)
            text = squash(doc.text)
            passages = chunk(doc)
            assert len({p.id for p in passages}) == len(passages), path
            for passage in passages:
                assert squash(passage.text) in text, (path, passage.id)
                assert len(passage.text) <= 360


# --- the windowing functions on generated text ---------------------------------------------

sentences = st.lists(
    st.tuples(st.text(alphabet="知识产权保护商标专利著作权甲乙丙丁", min_size=1, max_size=150),
              st.sampled_from(list(SENTENCE_END) + ["\n"])),
    min_size=1, max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(sentences, st.integers(min_value=20, max_value=400), st.integers(min_value=0, max_value=19))
def test_windows_on_generated_text(parts, window, overlap):
    text = "".join(body + end for body, end in parts)
    units = split_units(text, window)
    assert "".join(units) == text
    assert all(0 < len(u) <= window for u in units)
    spans = window_spans(units, window, overlap)
    pieces = pack_windows(units, window, overlap)
    assert pieces == ["".join(units[a:b]) for a, b in spans]
    assert all(len(p) <= window for p in pieces)
    # coverage and order: windows start at unit 0, end at the last unit, and each one
    # starts inside or right after the one before and reaches further
    assert spans[0][0] == 0 and spans[-1][1] == len(units)
    for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
        assert a1 < a2 <= b1 < b2
        if overlap == 0:
            assert a2 == b1, "no overlap asked, none given"
        elif len(units[b1 - 1]) <= overlap and len(units[b1 - 1]) + len(units[b1]) <= window:
            assert a2 < b1, "the last unit of a window is repeated when it fits the overlap"
    # a sentence that fits the window is never cut; a longer one is cut into window-sized slices
    for body, end in parts:
        sentence = body + end
        if len(sentence) <= window:
            assert sentence in units
        else:
            assert sentence[:window] in units
