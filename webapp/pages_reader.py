"""阅读: one document by id or address, with its facts, contents, holdings and cited articles."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from kb.errors import DocumentNotFoundError, KBError
from kb.knowledge import KnowledgeBase
from kb.models import STATUSES, Citation, Document, Section
from kb.resolve import resolve_citation

from .context import id_for_file, is_legal_text, open_in_reader
from .packs import add_ref_to_pack, add_to_pack, document_item
from .widgets import doc_badges, esc, facts_grid, html_block, link, md_text, reader_href

EXAMPLES = ("指导案例87号", "反不正当竞争法#9", "专利法第十一条", "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020)")
CITING_SHOWN = 30


def render(kb: KnowledgeBase) -> None:
    st.text_input("文书编号或条文地址", key="reader_id",
                  placeholder="如：指导案例87号、反不正当竞争法#9、专利法第十一条")
    address = (st.session_state.get("reader_id") or "").strip()
    if not address:
        _intro()
        return
    try:
        doc, section = kb.resolve(address)
    except DocumentNotFoundError:
        st.error(f"找不到“{md_text(address)}”。请输入文书编号（检索结果中显示），或“法律名#条号”“专利法第十一条”这样的条文地址。")
        return
    except KBError as exc:
        st.error(f"无法打开“{md_text(address)}”：{md_text(exc)}")
        return
    _contents(doc, section)
    gist = doc.sections_of("gist") if doc.doc_type == "guiding_case" else []
    _header(kb, doc, gist)
    if section is not None and section.kind != "gist":
        _focus(kb, doc, section)
    _citations(kb, doc)
    st.markdown("---")
    if section is not None and section.kind != "gist":
        with st.expander("全文", expanded=False):
            _body(doc, skip=gist)
    else:
        _body(doc, skip=gist)


def _set_reader(address: str) -> None:
    st.session_state["reader_id"] = address


def _intro() -> None:
    st.caption("输入文书编号打开全文，或输入条文地址直接定位到条：反不正当竞争法#9、专利法第十一条。"
               "检索结果和类案结果中的“阅读”按钮也会打开这里。")
    cols = st.columns(len(EXAMPLES))
    for i, (col, text) in enumerate(zip(cols, EXAMPLES)):
        col.button(text if len(text) < 16 else text[:14] + "…", key=f"reader_example_{i}", on_click=_set_reader,
                   args=(text,), width="stretch", help=text)


def _header(kb: KnowledgeBase, doc: Document, gist: Sequence[Section]) -> None:
    """Title and badges; a guiding case's 裁判要点 next (what a judge reads first); then the facts."""
    extra = dict(doc.extra or {})
    html_block(f'<h3 style="margin:0 0 0.2rem 0">{esc(doc.title)}</h3>'
               f'<div>{doc_badges(doc.doc_type, doc.ip_categories, doc.status, doc.authority)}</div>')
    if doc.status != "current":
        _status_banner(kb, doc, extra)
    for g in gist:
        _gist(kb, doc, g)
    html_block(facts_grid([
        ("类型", esc(doc.doc_type_label)),
        ("效力", esc(STATUSES.get(doc.status, doc.status))),
        ("类别", esc("、".join(doc.ip_categories))),
        ("日期", esc(doc.date) if doc.date else None),
        ("法院", esc(doc.court) if doc.court else None),
        ("案号", esc(doc.case_no) if doc.case_no else None),
        ("案由", esc(doc.cause) if doc.cause else None),
        ("发布机关", esc(doc.issuer) if doc.issuer else None),
        ("文号", esc(extra["document_number"]) if extra.get("document_number") else None),
        ("关键词", esc("、".join(doc.keywords)) if doc.keywords else None),
        ("编号", esc(doc.id)),
    ], columns=2))
    url = extra.get("official_url")
    origin = [f"来源：{esc(doc.source)}" if doc.source else "",
              f"文件：{esc(doc.source_path)}" if doc.source_path else "",
              f'<a href="{esc(url)}" target="_blank" rel="noopener">官方发布页</a>'
              if isinstance(url, str) and url.startswith(("https://", "http://")) else ""]
    html_block(f'<div class="kb-muted" style="word-break:break-all">{" · ".join(o for o in origin if o)}</div>')
    st.button("整篇加入课程包", key="pack_add_doc", on_click=add_to_pack, args=(kb, document_item(doc)),
              icon=":material/playlist_add:", type="tertiary")


def _status_banner(kb: KnowledgeBase, doc: Document, extra: dict) -> None:
    """Superseded or repealed: say so first, why (``status_note``), and link the newer text."""
    label = STATUSES.get(doc.status, doc.status)
    note = md_text(extra.get("status_note") or "")
    newer = id_for_file(kb, extra.get("superseded_by"))
    newer_link = f" 新版本：[{md_text(newer)}]({reader_href(newer)})" if newer else ""
    st.warning(f"**本文本{label}。** {note}{newer_link}", icon="⚠️")
    if newer:
        st.button(f"查看新版本：{newer}", key="reader_newer", on_click=open_in_reader, args=(newer,),
                  icon=":material/update:")


def _contents(doc: Document, section: Section | None) -> None:
    """Sidebar table of contents: a select box (jumps inside this session) and the outline."""
    sections = [s for s in doc.sections if s.kind not in ("header", "tail")]
    if len(sections) < 2:
        return
    key = f"reader_toc_{doc.id}"
    anchors = [""] + [s.anchor for s in sections]
    titles = {s.anchor: " · ".join((*s.path[-1:], s.title)) for s in sections}
    st.session_state[key] = section.anchor if section is not None and section.anchor in titles else ""
    st.sidebar.selectbox("目录（跳转到）", anchors, key=key, format_func=lambda a: titles.get(a, "（全文）"),
                         on_change=_toc_jump, args=(doc.id, key))
    with st.sidebar.expander("大纲", expanded=False):
        html_block(_outline(doc.id, sections))


def _toc_jump(doc_id: str, key: str) -> None:
    anchor = st.session_state.get(key)
    st.session_state["reader_id"] = f"{doc_id}#{anchor}" if anchor else doc_id


def _outline(doc_id: str, sections: Sequence[Section]) -> str:
    """Sections grouped by their 编/章/节 path, each a link to the section."""
    out, path = [], ()
    for s in sections:
        if s.path != path:
            depth = next((i for i, (a, b) in enumerate(zip(s.path, path)) if a != b), min(len(s.path), len(path)))
            out += [f'<div style="margin-left:{i * 0.6}rem;font-weight:600">{esc(p)}</div>'
                    for i, p in enumerate(s.path) if i >= depth]
            path = s.path
        out.append(f'<div style="margin-left:{len(s.path) * 0.6}rem">{link(f"{doc_id}#{s.anchor}", s.title)}</div>')
    return f'<div class="kb-toc">{"".join(out)}</div>'


def _gist(kb: KnowledgeBase, doc: Document, gist: Section) -> None:
    html_block(f'<div class="kb-gist"><div class="kb-gist-title">裁判要点</div>{esc(gist.text)}</div>')
    st.button("裁判要点加入课程包", key="pack_add_gist", on_click=add_ref_to_pack, args=(kb, f"{doc.id}#{gist.anchor}"),
              icon=":material/playlist_add:", type="tertiary")


def _focus(kb: KnowledgeBase, doc: Document, section: Section) -> None:
    """The article or section the address named, with the documents citing it."""
    where = " · ".join(section.path)
    html_block(f'<div class="kb-focus"><div class="kb-muted">{esc(where)}</div>'
               f'<div class="kb-text">{_section_html(section)}</div></div>')
    st.button(f"{section.title}加入课程包", key="pack_add_section", on_click=add_ref_to_pack,
              args=(kb, f"{doc.id}#{section.anchor}"), icon=":material/playlist_add:", type="tertiary")
    if is_legal_text(doc.doc_type) and doc.law_name and section.kind == "article":
        _citing_list(kb, kb.citing(f"{doc.law_name}#{section.anchor}"), exclude=doc.id,
                     title=f"引用{doc.law_name}{section.title}的文书")


def _citing_list(kb: KnowledgeBase, ids: Sequence[str], *, exclude: str, title: str) -> None:
    ids = [i for i in ids if i != exclude]
    if not ids:
        st.caption(f"{title}：知识库中暂无。")
        return
    meta = kb.store.summaries(ids[:CITING_SHOWN])
    items = "".join(f"<li>{link(i, meta[i]['title'])} <span class='kb-muted'>{esc(i)}</span></li>"
                    for i in ids[:CITING_SHOWN] if i in meta)
    more = f"<div class='kb-muted'>另有 {len(ids) - CITING_SHOWN} 件未列出</div>" if len(ids) > CITING_SHOWN else ""
    html_block(f'<div class="kb-muted">{esc(title)}（{len(ids)} 件）</div><ul class="kb-list">{items}</ul>{more}')


def _citations(kb: KnowledgeBase, doc: Document) -> None:
    """Every cited article as a button; the chosen one shows its text and who else cites it."""
    cited = list({c.key: c for c in doc.citations if c.article}.values())
    if not cited:
        return
    st.markdown("**引用法条**")
    row = st.container(horizontal=True, gap="small")
    for i, c in enumerate(cited):
        row.button(c.label, key=f"cite_{i}", on_click=_choose_cite, args=(doc.id, i), type="secondary")
    chosen = st.session_state.get("reader_cite")
    if chosen and chosen[0] == doc.id and chosen[1] < len(cited):
        _citation_panel(kb, doc, cited[chosen[1]])


def _choose_cite(doc_id: str, index: int) -> None:
    current = st.session_state.get("reader_cite")
    st.session_state["reader_cite"] = None if current == (doc_id, index) else (doc_id, index)


def _citation_panel(kb: KnowledgeBase, doc: Document, citation: Citation) -> None:
    found = resolve_citation(kb, citation, at_date=doc.date)
    with st.container(border=True):
        if not found.doc_id:
            st.caption(f"{md_text(citation.label)}：{md_text(found.note or '该法律文本未收录')}")
            return
        target = kb.get(found.doc_id)
        section = target.section(found.anchor) if found.anchor else None
        heading = f"{target.title} {section.title if section else ''}".strip()
        html_block(f'<div class="kb-muted">{esc(citation.label)} → {link(found.address, heading)}</div>')
        if found.superseded:
            st.warning(f"所引版本已被修订或废止。{md_text(found.note)}", icon="⚠️")
        elif found.note:
            st.caption(md_text(found.note))
        html_block(f'<div class="kb-text">{_section_html(section) if section else esc(target.text[:600])}</div>')
        buttons = st.columns([1.2, 1.3, 5])
        buttons[0].button("打开该条", key="cite_open", on_click=open_in_reader, args=(found.address,), type="tertiary",
                          icon=":material/open_in_new:")
        buttons[1].button("加入课程包", key="pack_add_cite", on_click=add_ref_to_pack, args=(kb, found.address),
                          type="tertiary", icon=":material/playlist_add:")
        _citing_list(kb, kb.citing(citation.key), exclude=doc.id, title=f"其他引用{citation.label}的文书")


def _section_html(section: Section) -> str:
    text = section.text
    if section.kind == "article" and text.startswith(section.title):
        return f'<span class="kb-art-title">{esc(section.title)}</span>{esc(text[len(section.title):].lstrip())}'
    return f'<span class="kb-art-title">{esc(section.title)}</span><br>{esc(text)}'


def _body(doc: Document, *, skip: Sequence[Section] = ()) -> None:
    """The document's text, grouped under its 编/章/节 headings."""
    sections = [s for s in doc.sections if s not in skip]
    if not sections:
        html_block(f'<div class="kb-text">{esc(doc.text)}</div>')
        return
    out, path = [], ()
    for s in sections:
        if s.path != path:
            out += [f'<div class="kb-path">{esc(p)}</div>' for i, p in enumerate(s.path)
                    if i >= len(path) or path[i] != p]
            path = s.path
        if s.kind in ("article", "item"):
            out.append(f'<div class="kb-art" id="a-{esc(s.anchor)}">{_section_html(s)}</div>')
        elif s.kind == "preamble":
            out.append(f'<div class="kb-muted" style="margin-bottom:0.6rem">{esc(s.text)}</div>')
        else:
            out.append(f'<div class="kb-path">{esc(s.title)}</div><div>{esc(s.text)}</div>')
    html_block(f'<div class="kb-text">{"".join(out)}</div>')
