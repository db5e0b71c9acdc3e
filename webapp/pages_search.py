"""检索: query box, mode, facets that narrow the results, marked snippets, pages of 10."""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import streamlit as st

from kb.errors import KBError
from kb.knowledge import KnowledgeBase
from kb.models import AUTHORITY_TIERS, CASE_TYPES, DOC_TYPES, STATUSES, Filters, Hit

from .context import open_in_reader
from .packs import add_to_pack, document_item, passage_item
from .widgets import doc_badges, esc, html_block, marked, md_text, reader_href

PAGE_SIZE = 10
MODES = {"hybrid": "混合", "bm25": "关键词", "vector": "语义"}
FACETS: dict[str, str] = {
    "doc_type": "文书类型", "ip_category": "知识产权类别", "court": "法院",
    "year": "年份", "authority": "权威层级", "status": "效力状态",
}
FACET_LIMIT = 12
EXAMPLES = ("合理保密措施", '"商业秘密" 类型:司法解释', "惩罚性赔偿 类别:商标", "网络服务提供者 AND 通知",
            "法条:反不正当竞争法第九条")
SYNTAX_HELP = """
- 直接输入词语：`合理保密措施`（多个词默认同时出现）
- 短语：`"商业秘密"`；逻辑：`专利 AND 赔偿`、`商标 OR 字号`、`著作权 NOT 软件`
- 字段：`类型:司法解释` `类别:商标` `法条:反不正当竞争法第九条` `法院:最高人民法院` `年份:2020`
- 模式：**关键词**（BM25 全文检索）、**语义**（向量相似）、**混合**（两者融合）
"""


NOTES_ZH: tuple[tuple[str, str], ...] = (
    (r"no vectors in this knowledge base: keyword search only", "本知识库未计算向量：仅使用关键词检索"),
    (r"no document has every word; showing documents with any of them",
     "没有同时包含全部检索词的文书，以下为包含任一检索词的结果"),
    (r"unbalanced quote read as plain text", "引号不成对，已按普通文字检索"),
    (r"empty field '(.+)' ignored", r"字段“\1”为空，已忽略"),
    (r"unknown field '(.+)' read as text", r"未知字段“\1”，已按普通文字检索"),
    (r"unbalanced parenthesis ignored", "括号不成对，已忽略"),
    (r"dangling (OR|NOT) ignored", r"多余的 \1 已忽略"),
    (r"parentheses nested too deep read as text", "括号嵌套过深，已按普通文字检索"),
    (r"year '(.+)' is not a year or a range like 2019-2021", r"“\1”不是年份或年份范围（如 2019-2021），已忽略"),
    (r"long query: none of its terms occurs in the index", "检索文本中的词语在知识库中均未出现"),
    (r"long query reduced to (\d+) terms", r"检索文本较长，已提取 \1 个关键词检索"),
)
"""The library's query notes (English) in Chinese; an unknown note is shown as it is."""


def note_zh(note: str) -> str:
    for pattern, chinese in NOTES_ZH:
        if re.fullmatch(pattern, note):
            return re.sub(pattern, chinese, note)
    return note


def facet_label(field: str, value: str) -> str:
    """Chinese label of a facet value (codes come from kb.models' vocabularies)."""
    if field == "doc_type":
        return DOC_TYPES.get(value, value)
    if field == "authority":
        return AUTHORITY_TIERS.get(int(value), value) if str(value).isdigit() else value
    if field == "status":
        return STATUSES.get(value, value)
    return value


def selected_filters() -> dict[str, set[str]]:
    return st.session_state.setdefault("search_filters", {})


def filters_from(selected: Mapping[str, set[str]], include_superseded: bool) -> Filters:
    """The facet choices as :class:`Filters` (years and tiers are numbers there)."""
    get = lambda name: tuple(sorted(selected.get(name, ())))  # noqa: E731
    statuses = get("status")
    return Filters(doc_types=get("doc_type"), categories=get("ip_category"), courts=get("court"),
                   years=tuple(int(y) for y in get("year") if str(y).isdigit()),
                   authorities=tuple(int(a) for a in get("authority") if str(a).isdigit()),
                   statuses=statuses, include_superseded=include_superseded or bool(statuses))


def _toggle_facet(field: str, value: str) -> None:
    chosen = selected_filters().setdefault(field, set())
    if st.session_state.get(f"facet_{field}_{value}"):
        chosen.add(value)
    else:
        chosen.discard(value)


def _clear_facets() -> None:
    for field, values in selected_filters().items():
        for value in values:
            st.session_state[f"facet_{field}_{value}"] = False
    st.session_state["search_filters"] = {}


def _set_query(text: str) -> None:
    st.session_state["search_q"] = text


def render(kb: KnowledgeBase) -> None:
    top = st.columns([5, 2.2, 1.6], vertical_alignment="bottom")
    query = top[0].text_input("检索", key="search_q", placeholder="输入检索词，回车检索，如：合理保密措施、类型:司法解释 商业秘密")
    modes = list(MODES) if kb.has_vectors else ["bm25"]
    mode = top[1].radio("检索模式", modes, key="search_mode", format_func=MODES.get, horizontal=True)
    superseded = top[2].checkbox("含已修订/废止", key="search_superseded",
                                 help="默认只检索现行有效的文本；勾选后也检索已被修订或废止的版本")
    if not kb.has_vectors:
        st.caption("本知识库未计算向量：仅提供关键词检索。")
    if not query.strip():
        _intro()
        return
    selected = selected_filters()
    filters = filters_from(selected, superseded)
    signature = (query, mode, filters)
    if st.session_state.get("_search_sig") != signature:
        st.session_state["_search_sig"] = signature
        st.session_state.pop("search_page", None)  # a new search starts on page 1
    page = int(st.session_state.get("search_page") or 1)
    try:
        result = kb.search(query, k=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, filters=filters, mode=mode)
        if not result.hits and page > 1:
            st.session_state.pop("search_page", None)
            page = 1
            result = kb.search(query, k=PAGE_SIZE, offset=0, filters=filters, mode=mode)
    except KBError as exc:
        st.error(f"检索失败：{exc}")
        return
    left, right = st.columns([1, 3.3], gap="medium")
    with left:
        _facets(result.facets, selected)
    with right:
        _results(kb, result, page)


def _intro() -> None:
    st.markdown("#### 知识产权法律法规、司法解释与案例检索")
    st.caption("收录专利、商标、著作权、商业秘密、反不正当竞争等领域的法律、行政法规、司法解释、地方性法规、"
               "最高人民法院指导性案例和裁判文书。示例：")
    cols = st.columns(len(EXAMPLES))
    for i, (col, text) in enumerate(zip(cols, EXAMPLES)):
        col.button(text, key=f"example_{i}", on_click=_set_query, args=(text,), width="stretch")
    with st.expander("检索语法", expanded=True):
        st.markdown(SYNTAX_HELP)


def _facets(facets: Mapping[str, Mapping[str, int]], selected: dict[str, set[str]]) -> None:
    st.markdown("**筛选**")
    if any(selected.values()):
        st.button("清除筛选", key="search_clear", on_click=_clear_facets, type="tertiary")
    for field, title in FACETS.items():
        counts = dict(facets.get(field, {}))
        for value in selected.get(field, ()):
            counts.setdefault(value, 0)
        if not counts:
            continue
        order = sorted(counts.items(), key=(lambda kv: (-int(kv[0]) if kv[0].isdigit() else 0))
                       if field == "year" else (lambda kv: (-kv[1], kv[0])))
        shown = [kv for kv in order if kv[0] in selected.get(field, ())]
        shown += [kv for kv in order if kv not in shown][:max(0, FACET_LIMIT - len(shown))]
        with st.expander(title, expanded=field in ("doc_type", "ip_category") or bool(selected.get(field))):
            for value, count in shown:
                key = f"facet_{field}_{value}"
                if key not in st.session_state:
                    st.session_state[key] = value in selected.get(field, ())
                st.checkbox(f"{facet_label(field, value)}（{count}）", key=key,
                            on_change=_toggle_facet, args=(field, value))


def _results(kb: KnowledgeBase, result, page: int) -> None:
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    first = (page - 1) * PAGE_SIZE + 1
    shown = f"第 {first}–{first + len(result.hits) - 1} 条" if result.hits else ""
    st.markdown(f"共 **{result.total}** 条结果 {shown}")
    for note in result.notes:
        st.caption(f"注：{md_text(note_zh(note))}")
    if not result.hits:
        st.info("没有找到结果。可以减少检索词、去掉筛选条件，或勾选“含已修订/废止”。")
        return
    render_hits(kb, result.hits, start=first, prefix="")
    if pages > 1:
        st.pagination(pages, key="search_page")


def render_hits(kb: KnowledgeBase, hits: Sequence[Hit], *, start: int = 1, prefix: str = "") -> None:
    """Hit cards with marked snippets, an "open" button (``{prefix}open_{n}``) and an
    "add to course pack" button (``{prefix}add_{n}``); ``n`` counts from 0 on the page."""
    for n, hit in enumerate(hits):
        shown_id = hit.id if hit.doc_type in CASE_TYPES else None
        meta = " · ".join(esc(x) for x in (hit.court, hit.year, shown_id) if x)
        snippets = "".join(
            f'<div class="kb-snip"><span class="kb-snip-title">{esc(_short_title(h.title, hit.id))}</span>'
            f'{marked(h.text, h.terms)}</div>' for h in hit.highlights[:2])
        html_block(
            f'<div class="kb-hit"><div class="kb-hit-title"><span class="kb-rank">{start + n}</span>'
            f'<a href="{esc(reader_href(hit.id))}" target="_self">{esc(hit.title)}</a></div>'
            f'<div>{doc_badges(hit.doc_type, hit.ip_categories, hit.status, hit.authority)}'
            f'<span class="kb-muted">{meta} · 得分 {hit.score:.4f}</span></div>{snippets}</div>')
        buttons = st.columns([1, 1.4, 6])
        buttons[0].button("阅读", key=f"{prefix}open_{n}", on_click=open_in_reader, args=(hit.id,), type="tertiary",
                          icon=":material/menu_book:")
        anchor = hit.highlights[0].anchor if hit.highlights else None
        buttons[1].button("加入课程包", key=f"{prefix}add_{n}", on_click=add_hit_to_pack, args=(kb, hit.id, anchor),
                          type="tertiary", icon=":material/playlist_add:",
                          help="把命中的条文或段落（无命中段落时为全文）加入当前课程包")


def _short_title(title: str, doc_id: str) -> str:
    """A passage title without the document id it starts with (``…(2020) 第五条`` → ``第五条``)."""
    return title[len(doc_id):].strip() or title if title.startswith(doc_id) else title


def add_hit_to_pack(kb: KnowledgeBase, doc_id: str, anchor: str | None) -> None:
    """Callback: the hit's best passage (its whole section) or, without one, the document."""
    try:
        doc = kb.get(doc_id)
    except KBError as exc:
        st.session_state["_pack_error"] = f"未能加入课程包：{exc}"
        return
    if anchor:
        passage = next((p for p in kb.passages(doc_id) if p.anchor == anchor), None)
        if passage is not None:
            add_to_pack(kb, passage_item(doc, anchor.split("~")[0] if doc.section(anchor) is None else anchor,
                                         passage.title, passage.text))
            return
    add_to_pack(kb, document_item(doc))
