"""指引: the enterprise topics (商业秘密, 商标, 专利 …) and the laws and policies behind each."""
from __future__ import annotations

import streamlit as st

from kb.errors import KBError
from kb.knowledge import KnowledgeBase
from kb.models import DOC_TYPES, STATUSES
from kb.taxonomy import TOPICS

from .context import Entry, open_in_reader, topic_entries
from .pages_search import render_hits
from .widgets import badge, esc, html_block, link

LISTED_TYPES = ("statute", "interpretation", "regulation", "local_regulation", "rule", "policy", "guideline")
CASE_LIST_LIMIT = 30
HONEST_NOTE = ("本库目前没有收录企业知识产权合规指引类文件（商业秘密保护指引、展会知识产权保护办法等未能取得可核实的"
               "真实文本）。各专题汇集与之相关的法律、司法解释、行政法规、地方性法规、部门规章和政策文件，以及相关的"
               "指导性案例。")


def render(kb: KnowledgeBase) -> None:
    topic = st.radio("专题", list(TOPICS), key="guide_topic", format_func=lambda k: TOPICS[k].label, horizontal=True)
    st.caption(HONEST_NOTE)
    entries = topic_entries(kb, topic)
    query = st.text_input(f"在“{TOPICS[topic].label}”专题内检索", key="guide_q",
                          placeholder="如：保密措施、侵权赔偿、通知删除")
    if query.strip():
        _search(kb, query, {e.id for e in entries})
        st.markdown("---")
    _listing(kb, topic, entries)


def _search(kb: KnowledgeBase, query: str, ids: set[str]) -> None:
    try:
        result = kb.search(query, k=10, allowed_ids=ids, with_facets=False)
    except KBError as exc:
        st.error(f"检索失败：{exc}")
        return
    st.markdown(f"专题内检索结果 **{result.total}** 条" + ("（显示前 10 条）" if result.total > 10 else ""))
    if result.hits:
        render_hits(kb, result.hits, prefix="guide_")


def _listing(kb: KnowledgeBase, topic: str, entries: list[Entry]) -> None:
    legal = [e for e in entries if e.doc_type in LISTED_TYPES]
    cases = [e for e in entries if e.doc_type == "guiding_case"]
    judgments = sum(1 for e in entries if e.doc_type == "judgment")
    st.markdown(f"**{TOPICS[topic].label}**：法律法规与政策 {len(legal)} 件 · 指导性案例 {len(cases)} 件 · "
                f"裁判文书 {judgments} 件")
    columns = st.columns(2, gap="large")
    groups = [(t, [e for e in legal if e.doc_type == t]) for t in LISTED_TYPES]
    groups = [(t, items) for t, items in groups if items]
    for i, (doc_type, items) in enumerate(groups):
        with columns[i % 2]:
            st.markdown(f"**{DOC_TYPES[doc_type]}**（{len(items)}）")
            html_block(_entry_list(sorted(items, key=lambda e: (e.status != "current", e.title))))
    if cases:
        with columns[len(groups) % 2]:
            st.markdown(f"**指导性案例**（{len(cases)}）")
            ordered = sorted(cases, key=lambda e: int(e.id[4:-1]) if e.id[4:-1].isdigit() else 0)
            html_block(_entry_list(ordered[:CASE_LIST_LIMIT]))
    if not legal and not cases:
        st.info("本专题暂无收录的文本。")
    options = [e.id for e in legal + cases]
    if options:
        pick = st.columns([4, 1], vertical_alignment="bottom")
        pick[0].selectbox("在阅读器中打开", options, key="guide_open",
                          format_func=lambda i: next((e.title for e in entries if e.id == i), i))
        pick[1].button("打开", key="guide_open_btn", on_click=lambda: open_in_reader(st.session_state["guide_open"]),
                       width="stretch")


def _entry_list(entries: list[Entry]) -> str:
    rows = []
    for e in entries:
        status = badge(STATUSES.get(e.status, e.status), "warn") if e.status != "current" else ""
        date = f'<span class="kb-muted">{esc(e.date)}</span>' if e.date else ""
        rows.append(f"<li>{link(e.id, e.title)} {status}{date}</li>")
    return f'<ul class="kb-list">{"".join(rows)}</ul>'
