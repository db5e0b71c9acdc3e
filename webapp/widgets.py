"""Small renderers shared by the pages: escaped HTML, marked terms, badges, score bars.

Every piece of document text that reaches ``unsafe_allow_html`` passes through
:func:`esc` (or :func:`marked`, which escapes first and marks afterwards), so a
document holding ``<script>`` shows it as text. HTML blocks never contain a blank
line, so Markdown never re-reads document text (no stray emphasis, no ``$`` maths).
"""
from __future__ import annotations

import html
import re
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote

import streamlit as st

from kb.models import AUTHORITY_TIERS, DOC_TYPES, STATUSES

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use marks, stripped from text before marking
_PRIVATE = re.compile("[\ue000\ue001]")

CSS = """
<style>
.block-container {padding-top: 3.2rem; padding-bottom: 2rem; max-width: 1320px;}
section[data-testid="stSidebar"] {width: 15rem !important;}
.kb-muted {color: #5f6b7a; font-size: 0.86rem;}
.kb-hit {border-left: 3px solid #2f5d8a; padding: 0.15rem 0 0.1rem 0.75rem; margin: 0.2rem 0 0.15rem 0;}
.kb-hit-title {font-size: 1.02rem; font-weight: 600; line-height: 1.45;}
.kb-hit-title a {color: #1d3f63; text-decoration: none;}
.kb-hit-title a:hover {text-decoration: underline;}
.kb-rank {color: #8a96a3; font-weight: 400; margin-right: 0.35rem;}
.kb-snip {margin-top: 0.25rem; line-height: 1.65; font-size: 0.93rem;}
.kb-snip-title {color: #2f5d8a; font-weight: 600; margin-right: 0.4rem;}
mark {background: #ffe9a8; padding: 0 1px; border-radius: 2px; color: inherit;}
.kb-badge {display: inline-block; font-size: 0.74rem; font-weight: 500; padding: 0 0.45rem; margin: 0 0.25rem 0 0;
  border-radius: 0.6rem; background: #e8eef5; color: #2c4a6b; line-height: 1.45rem; vertical-align: middle;}
.kb-badge.kb-warn {background: #fdecea; color: #a12a1a;}
.kb-badge.kb-gold {background: #fff3d6; color: #7a5200;}
.kb-badge.kb-green {background: #e6f4ea; color: #1e6b35;}
.kb-facts {display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; font-size: 0.92rem;
  margin: 0.4rem 0 0.8rem 0;}
.kb-facts dt {color: #5f6b7a;} .kb-facts dd {margin: 0; word-break: break-all;}
.kb-text {line-height: 1.8; font-size: 0.97rem;}
.kb-art {margin: 0.35rem 0;}
.kb-art-title {font-weight: 600; color: #1d3f63; margin-right: 0.3rem;}
.kb-path {font-weight: 600; color: #2f5d8a; margin: 0.9rem 0 0.3rem 0; font-size: 1.0rem;}
.kb-gist {background: #f3f7fb; border-left: 4px solid #c98a00; padding: 0.6rem 0.9rem; margin: 0.4rem 0 0.8rem 0;
  line-height: 1.8;}
.kb-gist-title {font-weight: 700; color: #7a5200; margin-bottom: 0.2rem;}
.kb-focus {background: #fbfaf4; border: 1px solid #e6dfc4; border-radius: 6px; padding: 0.6rem 0.9rem;
  margin: 0.3rem 0 0.6rem 0; line-height: 1.8;}
.kb-bars {display: grid; grid-template-columns: 4.2rem 1fr 2.6rem; gap: 0.1rem 0.4rem; font-size: 0.8rem;
  align-items: center; max-width: 22rem;}
.kb-bar {background: #edf1f5; height: 0.55rem; border-radius: 3px; overflow: hidden;}
.kb-bar span {display: block; height: 100%; background: #3d7ab8;}
.kb-pair {font-size: 0.9rem; line-height: 1.7; background: #fafbfc; border: 1px solid #e3e8ee; border-radius: 6px;
  padding: 0.45rem 0.7rem; max-height: 16rem; overflow-y: auto;}
.kb-pair-h {font-size: 0.8rem; color: #5f6b7a; margin-bottom: 0.15rem;}
.kb-toc a {color: #1d3f63; text-decoration: none;} .kb-toc {font-size: 0.86rem; line-height: 1.6;}
.kb-list a {color: #1d3f63;} .kb-list li {margin: 0.1rem 0;}
div[data-testid="stExpander"] details summary p {font-size: 0.92rem;}
.stAppDeployButton, [data-testid="stAppDeployButton"] {display: none;}
</style>
"""


def inject_css() -> None:
    st.markdown(CSS, unsafe_allow_html=True)


def esc(text: object) -> str:
    """HTML-escape document text; newlines become ``<br>`` and ``$`` an entity."""
    return _escape(_PRIVATE.sub("", str(text if text is not None else "")))


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("$", "&#36;").replace("\r", "").replace("\n", "<br>")


def marked(text: str, terms: Sequence[str]) -> str:
    """Escape ``text`` and wrap the query terms in ``<mark>`` (marks are placed on the raw
    text, then the text is escaped, so a term can never inject markup)."""
    from kb.snippets import mark
    raw = _PRIVATE.sub("", text or "")
    with_marks = mark(raw, [t for t in terms if t], open_=_OPEN, close=_CLOSE) if terms else raw
    return _escape(with_marks).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def md_text(text: object) -> str:
    """Document text for a Markdown (not HTML) context: no emphasis, links, maths or raw HTML."""
    return re.sub(r"([\\`*_\[\]<>#|$~])", r"\\\1", str(text or "")).replace("\n", " ")


def html_block(body: str) -> None:
    """Render trusted markup around escaped text (no blank lines: Markdown must not re-parse it)."""
    st.markdown(re.sub(r"\n\s*", "", body), unsafe_allow_html=True)


def reader_href(address: str) -> str:
    """A link that opens the reader on a document or article (``ID`` or ``ID#anchor``)."""
    return "?page=reader&id=" + quote(address, safe="")


def link(address: str, label: str) -> str:
    return f'<a href="{esc(reader_href(address))}" target="_self">{esc(label)}</a>'


def badge(text: str, tone: str = "") -> str:
    return f'<span class="kb-badge {("kb-" + tone) if tone else ""}">{esc(text)}</span>'


def doc_badges(doc_type: str, categories: Iterable[str] = (), status: str = "current",
               authority: int | None = None) -> str:
    """Type, authority, status and IP-category badges of a document or hit."""
    parts = [badge(DOC_TYPES.get(doc_type, doc_type), "gold" if doc_type == "guiding_case" else "")]
    if authority and doc_type != "guiding_case":  # a guiding case's type already says its tier
        parts.append(badge(AUTHORITY_TIERS.get(authority, str(authority)), "gold" if authority == 1 else ""))
    if status != "current":
        parts.append(badge(STATUSES.get(status, status), "warn"))
    parts += [badge(c, "green") for c in categories if c and c != "其他"]
    return "".join(parts)


def facts_grid(rows: Sequence[tuple[str, str | None]], columns: int = 1) -> str:
    """Labelled facts (values are HTML already escaped; rows with no value are left out),
    in one or more label/value column pairs."""
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows if v)
    style = f' style="grid-template-columns:{" ".join(["max-content 1fr"] * columns)}"' if columns > 1 else ""
    return f'<dl class="kb-facts"{style}>{cells}</dl>'


SCORE_LABELS = {"keyword": "关键词", "semantic": "语义", "statute": "法条", "authority": "权威性"}


def score_bars(parts: Mapping[str, float]) -> str:
    """Horizontal bars of the score parts, each on [0, 1]."""
    rows = []
    for key, label in SCORE_LABELS.items():
        value = max(0.0, min(1.0, float(parts.get(key, 0.0))))
        rows.append(f"<div>{label}</div><div class='kb-bar'><span style='width:{value * 100:.0f}%'></span></div>"
                    f"<div>{value:.2f}</div>")
    return f'<div class="kb-bars">{"".join(rows)}</div>'


def fmt_time(epoch: str | float | None) -> str | None:
    if not epoch:
        return None
    import time
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch)))
    except (TypeError, ValueError):
        return str(epoch)


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
