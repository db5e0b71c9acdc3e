"""Adding what a page shows to the current course pack.

The current pack is the one last saved or chosen (``PackStore.last_used``, kept
under the KB home, so it survives a reload); when there is none yet, the first
addition creates ``我的课程包``. Items snapshot the text and a source line that
says which version of which text it is and where it came from.
"""
from __future__ import annotations

import streamlit as st

from kb.coursepack import PackItem, PackStore, add_item
from kb.errors import KBError
from kb.knowledge import KnowledgeBase
from kb.models import DOC_TYPES, STATUSES, Document, Section

from .widgets import md_text

DEFAULT_PACK = "我的课程包"
DOCUMENT_SNAPSHOT_CHARS = 20000


def current_pack_name(kb: KnowledgeBase) -> str:
    return PackStore(kb.home).last_used() or DEFAULT_PACK


def source_line(doc: Document) -> str:
    """``《标题》（类型，法院，案号，日期，效力） 出处`` — enough to cite and to find it again."""
    facts = [DOC_TYPES.get(doc.doc_type, doc.doc_type)]
    facts += [x for x in (doc.court, doc.case_no, doc.date) if x]
    if doc.status != "current":
        facts.append(STATUSES.get(doc.status, doc.status))
    line = f"《{doc.title}》（{'，'.join(facts)}）"
    url = (doc.extra or {}).get("official_url")
    origin = doc.source or doc.source_path or ""
    if url and url not in origin:
        origin = f"{origin} {url}".strip()
    return f"{line} {origin}" if origin else line


def document_item(doc: Document) -> PackItem:
    text = doc.text
    if len(text) > DOCUMENT_SNAPSHOT_CHARS:
        text = text[:DOCUMENT_SNAPSHOT_CHARS] + f"\n……（节选；全文见知识库文书 {doc.id}）"
    return PackItem(kind="document", ref=doc.id, title=doc.title, text=text, source=source_line(doc))


def section_item(doc: Document, section: Section) -> PackItem:
    """An article (条), a holding (裁判要点) or another section of a document."""
    kind = {"article": "article", "gist": "holding"}.get(section.kind, "section")
    return PackItem(kind=kind, ref=f"{doc.id}#{section.anchor}", title=f"{doc.title} {section.title}",
                    text=section.text, source=source_line(doc))


def passage_item(doc: Document, anchor: str, title: str, text: str) -> PackItem:
    section = doc.section(anchor)
    if section is not None:
        return section_item(doc, section)
    return PackItem(kind="passage", ref=f"{doc.id}#{anchor}", title=f"{doc.title} {title}".strip(),
                    text=text, source=source_line(doc))


def add_to_pack(kb: KnowledgeBase, item: PackItem) -> None:
    """Button callback: add ``item`` to the current pack and save it."""
    store = PackStore(kb.home)
    name = current_pack_name(kb)
    try:
        pack = add_item(store.load_or_create(name), item)
        store.save(pack)
    except KBError as exc:
        st.session_state["_pack_error"] = f"未能加入课程包：{exc}"
        return
    st.session_state["_pack_notice"] = f"已加入课程包「{name}」：{item.title}（共 {len(pack.items)} 项）"


def add_ref_to_pack(kb: KnowledgeBase, ref: str) -> None:
    """Button callback: add a document (``ID``) or one of its sections (``ID#anchor``)."""
    try:
        doc, section = kb.resolve(ref)
    except KBError as exc:
        st.session_state["_pack_error"] = f"未能加入课程包：{exc}"
        return
    add_to_pack(kb, section_item(doc, section) if section is not None else document_item(doc))


def show_pack_notices() -> None:
    """Toast what the last add did (set by the callbacks above)."""
    notice = st.session_state.pop("_pack_notice", None)
    if notice:
        st.toast(md_text(notice), icon="📎")
        st.caption(f"📎 {md_text(notice)}")
    error = st.session_state.pop("_pack_error", None)
    if error:
        st.error(md_text(error))
