"""类案检索: a pasted case description or an uploaded judgment → similar cases, with reasons."""
from __future__ import annotations

import streamlit as st

from kb.errors import InputError, KBError
from kb.knowledge import KnowledgeBase
from kb.models import Document, SimilarHit
from kb.resolve import resolve_citation

from .context import open_in_reader
from .packs import add_ref_to_pack
from .widgets import doc_badges, esc, facts_grid, html_block, link, marked, md_text, reader_href, score_bars

SIMILAR_MAX_MB = 10
RESULTS = 10
PAIRS_SHOWN = 2
UPLOAD_TYPES = ["pdf", "docx", "txt"]


def render(kb: KnowledgeBase) -> None:
    st.caption("粘贴案情描述或上传裁判文书（PDF、DOCX、TXT，不超过 10 MB），查找相似的指导性案例与裁判文书，"
               "并逐项说明相似之处：关键词、语义、共同引用的法条、权威层级。同分时指导性案例优先。")
    if not kb.has_vectors:
        st.info("本知识库未计算向量：类案检索仅使用关键词检索和法条比对，不计算语义相似度。", icon="ℹ️")
    cols = st.columns([3, 2], gap="medium")
    cols[0].text_area("案情描述", key="similar_text", height=190,
                      placeholder="粘贴案件事实，例如：被告人未经注册商标所有人许可，在同一种商品上使用与其注册商标相同的商标……")
    cols[1].file_uploader("或上传裁判文书", type=UPLOAD_TYPES, key="similar_file", max_upload_size=SIMILAR_MAX_MB,
                          help="上传的文书只用于本次检索，不会加入知识库")
    cols[1].button("检索类案", key="similar_run", type="primary", on_click=run_similar, args=(kb,),
                   icon=":material/search:", width="stretch")
    error = st.session_state.pop("_similar_error", None)
    if error:
        st.error(md_text(error))
    found = st.session_state.get("similar_result")
    if found:
        _query_facts(found["query"], found["source"])
        _hits(kb, found["query"], found["hits"])


def run_similar(kb: KnowledgeBase) -> None:
    """Button callback: build the query case (file first, else text) and search."""
    from ingest.query import query_from_bytes, query_from_text
    upload = st.session_state.get("similar_file")
    text = (st.session_state.get("similar_text") or "").strip()
    try:
        if upload is not None:
            query, passages = query_from_bytes(upload.getvalue(), upload.name, max_bytes=SIMILAR_MAX_MB * 1024 * 1024)
            source = f"上传文书：{upload.name}"
        elif text:
            query, passages = query_from_text(text)
            source = "粘贴的案情"
        else:
            st.session_state["_similar_error"] = "请先粘贴案情描述或上传一份裁判文书。"
            return
        hits = kb.similar(query, passages, k=RESULTS)
    except InputError as exc:
        st.session_state["_similar_error"] = f"无法读取 {exc.path}：{exc.reason}"
        return
    except KBError as exc:
        st.session_state["_similar_error"] = f"类案检索失败：{exc}"
        return
    st.session_state["similar_result"] = {"query": query, "hits": hits, "source": source}


def _query_facts(query: Document, source: str) -> None:
    cats = "、".join(c for c in query.ip_categories if c != "其他") or "未识别"
    cites = "、".join(dict.fromkeys(c.label for c in query.citations)) or "未发现引用法条"
    html_block('<div class="kb-focus">' + facts_grid([
        ("检索依据", esc(f"{source}（识别为裁判文书 {query.case_no}）" if query.case_no else source)),
        ("知识产权类别", esc(cats)),
        ("案由 / 罪名", esc(query.cause or "未识别")),
        ("引用法条", esc(cites)),
    ]) + "</div>")


def _hits(kb: KnowledgeBase, query: Document, hits: list[SimilarHit]) -> None:
    if not hits:
        st.info("没有找到相似案例。")
        return
    st.markdown(f"**相似案例 {len(hits)} 件**（按综合得分排序）")
    for n, hit in enumerate(hits):
        with st.container(border=True):
            _hit(kb, n, hit)


def _hit(kb: KnowledgeBase, n: int, hit: SimilarHit) -> None:
    doc = kb.get(hit.id)
    reasons = hit.reasons
    meta = " · ".join(esc(x) for x in (hit.court, hit.year, doc.case_no, hit.cause) if x)
    html_block(
        f'<div class="kb-hit-title"><span class="kb-rank">{n + 1}</span>'
        f'<a href="{esc(reader_href(hit.id))}" target="_self">{esc(hit.title)}</a></div>'
        f'<div>{doc_badges(hit.doc_type, hit.ip_categories, hit.status, hit.authority)}'
        f'<span class="kb-muted">{meta}</span></div>')
    left, right = st.columns([2, 3], gap="medium")
    with left:
        html_block(f'<div class="kb-muted">综合得分 <strong style="color:#1d3f63">{hit.score:.3f}</strong></div>'
                   + score_bars({"keyword": reasons.keyword, "semantic": reasons.semantic,
                                 "statute": reasons.statute_overlap, "authority": reasons.authority}))
    with right:
        html_block(facts_grid([
            ("共同类别", esc("、".join(reasons.shared_categories)) if reasons.shared_categories else None),
            ("共同案由", esc(reasons.shared_cause) if reasons.shared_cause else None),
            ("共同法条", esc("、".join(reasons.shared_articles)) if reasons.shared_articles else "无"),
        ]))
        _shared_articles(kb, doc, n, reasons.shared_articles, reasons.superseded_articles)
    _pairs(n, hit)
    buttons = st.columns([1, 1.4, 6])
    buttons[0].button("阅读", key=f"similar_open_{n}", on_click=open_in_reader, args=(hit.id,), type="tertiary",
                      icon=":material/menu_book:")
    buttons[1].button("加入课程包", key=f"similar_add_{n}", on_click=add_ref_to_pack, args=(kb, hit.id),
                      type="tertiary", icon=":material/playlist_add:")


def _shared_articles(kb: KnowledgeBase, doc: Document, n: int, labels, superseded) -> None:
    """Each shared article as an expander holding its text (the version the case meant)."""
    by_label = {c.label: c for c in doc.citations if c.article}
    for label in labels:
        citation = by_label.get(label)
        if citation is None:
            continue
        found = resolve_citation(kb, citation, at_date=doc.date)
        flag = label in superseded or found.superseded
        with st.expander(f"{'⚠️ ' if flag else '📖 '}{label}" + ("（所引版本已被修订或废止）" if flag else "")):
            _article_text(kb, found)


def _article_text(kb: KnowledgeBase, found) -> None:
    if not found.doc_id:
        st.caption(found.note or "该法律文本未收录")
        return
    target = kb.get(found.doc_id)
    section = target.section(found.anchor) if found.anchor else None
    body = section.text if section else "（未定位到具体条文）"
    html_block(f'<div class="kb-text">{esc(body)}</div>'
               f'<div class="kb-muted">{link(found.address, target.title + (" " + section.title if section else ""))}'
               f'{" · " + esc(found.note) if found.note else ""}</div>')


def _pairs(n: int, hit: SimilarHit) -> None:
    pairs = hit.reasons.passage_pairs[:PAIRS_SHOWN]
    for i, pair in enumerate(pairs):
        left, right = st.columns(2, gap="small")
        terms = pair.shared_terms
        left.markdown(
            f'<div class="kb-pair-h">待检索案情 · 共同词语 {len(terms)} 个</div>'
            f'<div class="kb-pair">{marked(pair.query_text, terms)}</div>', unsafe_allow_html=True)
        right.markdown(
            f'<div class="kb-pair-h">{esc(pair.doc_title or pair.doc_anchor)} · 相似度 {pair.similarity:.2f}</div>'
            f'<div class="kb-pair">{marked(pair.doc_text, terms)}</div>', unsafe_allow_html=True)
