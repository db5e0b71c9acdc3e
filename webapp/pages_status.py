"""状态: what the knowledge base holds and how it was built (``kb.stats()``)."""
from __future__ import annotations

import streamlit as st

from kb.knowledge import KnowledgeBase
from kb.models import DOC_TYPES, IP_CATEGORIES, STATUSES

from .widgets import fmt_bytes, fmt_time


def render(kb: KnowledgeBase) -> None:
    stats = kb.stats()
    cols = st.columns(5)
    cols[0].metric("文书", f"{stats['documents']:,}")
    cols[1].metric("段落", f"{stats['passages']:,}")
    cols[2].metric("向量", f"{stats['vectors']:,}")
    cols[3].metric("索引大小", fmt_bytes(stats["index_bytes"]))
    cols[4].metric("来源文件", f"{stats['sources']:,}")
    left, right = st.columns(2, gap="large")
    order = list(DOC_TYPES)
    by_type = sorted(stats["by_type"].items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    with left:
        st.markdown("**按文书类型**")
        rows = [{"类型": DOC_TYPES.get(k, k), "件数": v} for k, v in by_type]
        st.dataframe(rows, hide_index=True, width="stretch")
        if rows:
            st.bar_chart({"件数": {r["类型"]: r["件数"] for r in rows}}, horizontal=True, height=230,
                         x_label="", y_label="", sort=False)
    by_cat = sorted(stats["by_category"].items(),
                    key=lambda kv: IP_CATEGORIES.index(kv[0]) if kv[0] in IP_CATEGORIES else 99)
    with right:
        st.markdown("**按知识产权类别**（一件文书可属多个类别）")
        rows = [{"类别": k, "件数": v} for k, v in by_cat]
        st.dataframe(rows, hide_index=True, width="stretch")
        if rows:
            st.bar_chart({"件数": {r["类别"]: r["件数"] for r in rows}}, horizontal=True, height=260,
                         x_label="", y_label="", sort=False)
    st.markdown("**构建信息**")
    status = "、".join(f"{STATUSES.get(k, k)} {v}" for k, v in stats["by_status"].items())
    st.dataframe([
        {"项目": "知识库目录", "值": stats["home"]},
        {"项目": "向量模型（配置）", "值": stats["embedder"]},
        {"项目": "向量模型（构建时）", "值": stats["embedder_identity"] or "无（仅关键词检索）"},
        {"项目": "全文索引文书数", "值": str(stats["lexical_documents"])},
        {"项目": "效力状态", "值": status},
        {"项目": "最近一次写入", "值": fmt_time(stats["last_write"]) or "—"},
    ], hide_index=True, width="stretch")
