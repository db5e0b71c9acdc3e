"""Pick and mark the passage of a hit that best shows why it matched. Pure functions.

Snippets are cut from the stored passages rather than by Whoosh's highlighter: it
is faster (no re-analysis of whole documents) and the snippet can name the article
or section it comes from (``反不正当竞争法(2019) 第九条``), which is what a lawyer
wants to click.
"""
from __future__ import annotations

from typing import Sequence

from .models import Highlight, Passage

MARK_OPEN, MARK_CLOSE = "【", "】"


def _analysis():
    from . import analysis  # jieba loads lazily, only when snippets are made
    return analysis


def term_hits(text: str, terms: Sequence[str]) -> int:
    """How many distinct terms occur in the text (case-insensitive for Latin)."""
    low = text.lower()
    return sum(1 for t in set(terms) if t and t.lower() in low)


def best_passages(passages: Sequence[Passage], terms: Sequence[str], *, limit: int = 2,
                  prefer: str | None = None) -> list[Passage]:
    """Passages with the most distinct query terms; ``prefer`` (a passage id, e.g. the
    best vector match) comes first when no passage contains a term."""
    scored = [(term_hits(p.text, terms), -p.ordinal, p) for p in passages]
    scored = [s for s in scored if s[0] > 0]
    scored.sort(key=lambda s: (-s[0], -s[1]))
    chosen = [p for _, _, p in scored[:limit]]
    if prefer and not chosen:
        chosen = [p for p in passages if p.id == prefer or p.id.split("~")[0] == prefer.split("~")[0]][:1]
    if not chosen and passages:
        chosen = [next((p for p in passages if p.embed), passages[0])]
    return chosen


def window(text: str, terms: Sequence[str], width: int = 120) -> str:
    """The ``width``-character window with the most terms, with an ellipsis where cut."""
    if len(text) <= width:
        return text
    start, end = _analysis().best_window(text, list(terms), width=width) if terms else (0, width)
    out = text[start:end]
    return ("…" if start > 0 else "") + out + ("…" if end < len(text) else "")


def mark(text: str, terms: Sequence[str], *, open_: str = MARK_OPEN, close: str = MARK_CLOSE) -> str:
    """Wrap every occurrence of the terms in marks (longest match first, no overlaps)."""
    if not terms:
        return text
    spans = _analysis().mark_terms(text, list(terms))
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        out.append(open_ + text[start:end] + close)
        last = end
    out.append(text[last:])
    return "".join(out)


def highlights_for(passages: Sequence[Passage], terms: Sequence[str], *, prefer: str | None = None,
                   width: int = 120, limit: int = 2) -> tuple[Highlight, ...]:
    """Highlights of the best passages, each cut to a window around the terms."""
    out = []
    for p in best_passages(passages, terms, limit=limit, prefer=prefer):
        shown = [t for t in terms if t and t.lower() in p.text.lower()]
        text = _without_heading(p.text, p.title)
        out.append(Highlight(anchor=p.anchor, title=p.title, text=window(text, shown, width), terms=tuple(shown)))
    return tuple(out)


def _without_heading(text: str, title: str) -> str:
    """An article's text starts with its number (第十七条　…), which the title already shows."""
    label = title.split()[-1] if title.split() else ""
    label = label.split("（")[0]  # 第十八条（1/3） for a window
    if label and text.startswith(label):
        return text[len(label):].lstrip(" \u3000")
    return text
