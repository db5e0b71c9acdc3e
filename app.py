"""ipkb: the Streamlit app. Run with ``make run`` (builds the knowledge base first).

Thin by design: it opens the knowledge base once per process, draws the sidebar
navigation and hands over to one renderer per page in :mod:`webapp`. Every page
renders what :mod:`kb` returns. ``KB_HOME`` picks the knowledge base (default
``./.kb``); ``IPKB_EMBEDDER`` overrides the embedder it was built with.
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ipkb · 知识产权知识库与类案检索", page_icon="⚖️", layout="wide",
                   initial_sidebar_state="expanded")

from webapp import (  # noqa: E402  (set_page_config must come first)
    pages_guidelines,
    pages_import,
    pages_pack,
    pages_reader,
    pages_search,
    pages_similar,
    pages_status,
)
from webapp.context import navigation, open_kb, publish_url  # noqa: E402
from webapp.packs import current_pack_name, show_pack_notices  # noqa: E402
from webapp.widgets import inject_css  # noqa: E402

RENDERERS = {
    "search": pages_search.render,
    "similar": pages_similar.render,
    "reader": pages_reader.render,
    "guide": pages_guidelines.render,
    "pack": pages_pack.render,
    "import": pages_import.render,
    "status": pages_status.render,
}


def main() -> None:
    inject_css()
    st.sidebar.markdown("### ⚖️ ipkb\n知识产权知识库 · 类案检索")
    page = navigation()
    kb = open_kb()
    if kb is not None:
        st.sidebar.caption(f"当前课程包：{current_pack_name(kb)}")
        show_pack_notices()
        RENDERERS[page](kb)
    reader_id = st.session_state.get("reader_id") if page == "reader" else None
    publish_url(page, id=reader_id)


main()
