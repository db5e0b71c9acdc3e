"""课程包: choose or create a pack, reorder, annotate and remove items, export Markdown / Word.

Every change is saved at once under ``HOME/packs/`` (see :mod:`kb.coursepack`), so
a pack survives a reload and a restart; the pack in use is the store's "last used".
"""
from __future__ import annotations

import re

import streamlit as st

from kb.coursepack import (
    PackStore,
    annotate,
    export_docx,
    export_markdown,
    move_down,
    move_up,
    new_pack,
    remove_item,
    retitle,
)
from kb.errors import KBError
from kb.knowledge import KnowledgeBase

from .packs import current_pack_name
from .widgets import badge, esc, html_block, link, md_text

PREVIEW_CHARS = 220


def render(kb: KnowledgeBase) -> None:
    store = PackStore(kb.home)
    current = current_pack_name(kb)
    names = store.names()
    if current not in names:
        names.insert(0, current)
    top = st.columns([2, 2, 3], vertical_alignment="bottom")
    st.session_state["pack_pick"] = current
    top[0].selectbox("当前课程包", names, key="pack_pick", on_change=_switch, args=(store,))
    top[1].text_input("新建或打开课程包", key="pack_name", placeholder="输入名称后回车", on_change=_create, args=(store,))
    error = st.session_state.pop("_pack_page_error", None)
    if error:
        st.error(md_text(error))
    pack = store.load_or_create(current)
    st.session_state["pack_title"] = pack.title
    top[2].text_input("标题（导出时使用）", key="pack_title", on_change=_retitle, args=(store, current))
    if not pack.items:
        st.info("课程包还是空的。在“检索”“类案检索”“阅读”页点击“加入课程包”即可添加文书、裁判要点或条文。", icon="📎")
    else:
        _downloads(pack)
        st.caption(f"共 {len(pack.items)} 项 · 创建 {pack.created} · 更新 {pack.updated} · "
                   f"保存于 {store.path_for(pack.name)}")
    for n, item in enumerate(pack.items):
        with st.container(border=True):
            _item(store, pack, n, item)


def _downloads(pack) -> None:
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", pack.name).strip("_") or "coursepack"
    cols = st.columns([1.3, 1.3, 5])
    cols[0].download_button("导出 Markdown", export_markdown(pack).encode("utf-8"), file_name=f"{stem}.md",
                            mime="text/markdown", key="dl_md", icon=":material/download:", on_click="ignore")
    cols[1].download_button(
        "导出 Word", export_docx(pack), file_name=f"{stem}.docx", key="dl_docx", icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document", on_click="ignore")


def _item(store: PackStore, pack, n: int, item) -> None:
    head, buttons = st.columns([8, 2.2], vertical_alignment="top")
    with head:
        preview = item.text[:PREVIEW_CHARS] + ("…" if len(item.text) > PREVIEW_CHARS else "")
        html_block(f'<div class="kb-hit-title"><span class="kb-rank">{n + 1}</span>{esc(item.title)} '
                   f'{badge(item.kind_label)}</div>'
                   f'<div class="kb-muted">{link(item.ref, item.ref)}</div>'
                   f'<div class="kb-snip">{esc(preview)}</div>'
                   f'<div class="kb-muted" style="margin-top:0.2rem">来源：{esc(item.source)}</div>')
    with buttons:
        row = st.container(horizontal=True, gap="small")
        row.button("↑", key=f"up_{item.id}", on_click=_edit, args=(store, pack.name, move_up, item.id),
                   disabled=n == 0, help="上移")
        row.button("↓", key=f"down_{item.id}", on_click=_edit, args=(store, pack.name, move_down, item.id),
                   disabled=n == len(pack.items) - 1, help="下移")
        row.button("移除", key=f"rm_{item.id}", on_click=_edit, args=(store, pack.name, remove_item, item.id),
                   icon=":material/delete:")
    note_key = f"note_{item.id}"
    st.session_state[note_key] = item.note
    st.text_area("批注", key=note_key, height=68, placeholder="培训要点、讨论问题……（离开输入框即保存）",
                 on_change=_note, args=(store, pack.name, item.id), label_visibility="collapsed")


def _edit(store: PackStore, name: str, operation, item_id: str) -> None:
    try:
        store.save(operation(store.load(name), item_id))
    except KBError as exc:
        st.session_state["_pack_page_error"] = f"操作失败：{exc}"


def _note(store: PackStore, name: str, item_id: str) -> None:
    try:
        store.save(annotate(store.load(name), item_id, st.session_state.get(f"note_{item_id}", "")))
    except KBError as exc:
        st.session_state["_pack_page_error"] = f"批注未保存：{exc}"


def _switch(store: PackStore) -> None:
    name = st.session_state.get("pack_pick")
    if name and store.exists(name):
        store.set_last_used(name)
    elif name:
        store.save(new_pack(name))


def _create(store: PackStore) -> None:
    name = (st.session_state.get("pack_name") or "").strip()
    if not name:
        return
    try:
        store.save(store.load_or_create(name))
    except KBError as exc:
        st.session_state["_pack_page_error"] = f"无法创建课程包：{exc}"
        return
    st.session_state["pack_name"] = ""


def _retitle(store: PackStore, name: str) -> None:
    try:
        store.save(retitle(store.load_or_create(name), st.session_state.get("pack_title", "")))
    except KBError as exc:
        st.session_state["_pack_page_error"] = f"标题未保存：{exc}"
