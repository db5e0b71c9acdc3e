"""What every page shares: the opened knowledge base, navigation and cached listings.

The knowledge base is opened once per process (``st.cache_resource``) from
``$KB_HOME`` (default ``./.kb``); its embedder is the one it was built with unless
``$IPKB_EMBEDDER`` says otherwise. Navigation is a sidebar radio (key ``nav``) kept
in step with the URL (``?page=reader&id=…``) so that a link opens a page, a reload
stays on it, and a page can be bookmarked.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePath

import streamlit as st

from kb.errors import KBError, KBNotFoundError
from kb.knowledge import KnowledgeBase, default_home
from kb.models import LEGAL_TEXT_TYPES
from kb.taxonomy import topics_for

log = logging.getLogger(__name__)

PAGES: dict[str, str] = {
    "search": "检索",
    "similar": "类案检索",
    "reader": "阅读",
    "guide": "指引",
    "pack": "课程包",
    "import": "导入",
    "status": "状态",
}
"""Page keys (used in ``?page=``) and their labels, in sidebar order."""

BUILD_HINT = ("在项目目录运行 `make run`（先执行 `kb ingest corpus/` 建库，再启动本应用），"
              "或手动运行 `.venv/bin/kb ingest corpus/`，完成后刷新本页。")


def kb_home() -> Path:
    return default_home().resolve()


@st.cache_resource(show_spinner="正在打开知识库…")
def _open(home: str, embedder: str | None) -> KnowledgeBase:
    return KnowledgeBase.open(home, embedder=embedder, create=False)


def open_kb() -> KnowledgeBase | None:
    """The knowledge base, or ``None`` after telling the user why it cannot be used."""
    home = kb_home()
    try:
        kb = _open(str(home), os.environ.get("IPKB_EMBEDDER") or None)
    except KBNotFoundError:
        st.warning(f"尚未建立知识库（{home}）。{BUILD_HINT}", icon="📚")
        return None
    except KBError as exc:
        st.error(f"无法打开知识库 {home}：{exc}", icon="⛔")
        return None
    if kb.store.table_count("documents") == 0:
        st.warning(f"知识库 {home} 是空的。{BUILD_HINT} 也可以在“导入”页上传文件。", icon="📚")
    return kb


def kb_is_empty(kb: KnowledgeBase) -> bool:
    return kb.store.table_count("documents") == 0


# --- navigation -----------------------------------------------------------------------------

def navigation() -> str:
    """Render the sidebar radio and return the chosen page key.

    The URL wins when it changed since this session last wrote it (first load, a
    link, the back button); otherwise the radio (the user's click) wins.
    """
    params = st.query_params
    signature = (params.get("page"), params.get("id"))
    if signature != st.session_state.get("_url_seen"):
        st.session_state["_url_seen"] = signature
        if signature[0] in PAGES:
            st.session_state["nav"] = signature[0]
        if signature[0] == "reader" and signature[1]:
            st.session_state["reader_id"] = signature[1]
    return st.sidebar.radio("功能", list(PAGES), key="nav", format_func=PAGES.get, label_visibility="collapsed")


def publish_url(page: str, **params: str | None) -> None:
    """Write the page (and e.g. the reader's id) to the URL after rendering it."""
    wanted = {"page": page} | {k: v for k, v in params.items() if v}
    if {k: st.query_params.get(k) for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["_url_seen"] = (wanted.get("page"), wanted.get("id"))


def go(page: str, **state) -> None:
    """Switch page from a button callback (callbacks run before widgets are drawn)."""
    st.session_state["nav"] = page
    for key, value in state.items():
        st.session_state[key] = value


def open_in_reader(address: str) -> None:
    go("reader", reader_id=address)


# --- a cached listing of every document -------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """What listings need about a document, without its text."""

    id: str
    title: str
    doc_type: str
    status: str
    date: str | None
    categories: tuple[str, ...]
    topics: tuple[str, ...]
    file_name: str
    authority: int | None


@st.cache_resource(show_spinner=False, max_entries=4)
def _catalogue(_kb: KnowledgeBase, home: str, generation: int) -> tuple[Entry, ...]:
    out = []
    for doc in _kb.store.iter_documents():
        out.append(Entry(doc.id, doc.title, doc.doc_type, doc.status, doc.date, doc.ip_categories,
                         topics_for(doc), PurePath(doc.source_path or "").name, doc.authority))
    return tuple(out)


def catalogue(kb: KnowledgeBase) -> tuple[Entry, ...]:
    """Every live document's listing entry, recomputed when the knowledge base changes.

    This stands in for a library call "documents by topic" (see the report to the lead).
    """
    return _catalogue(kb, str(kb.home), kb.store.generation())


def id_for_file(kb: KnowledgeBase, file_name: str | None) -> str | None:
    """The document whose source file is ``file_name`` (``superseded_by`` names a file)."""
    if not file_name:
        return None
    for entry in catalogue(kb):
        if entry.file_name == file_name:
            return entry.id
    return None


def topic_entries(kb: KnowledgeBase, topic: str) -> list[Entry]:
    return [e for e in catalogue(kb) if topic in e.topics]


def is_legal_text(doc_type: str) -> bool:
    return doc_type in LEGAL_TEXT_TYPES
