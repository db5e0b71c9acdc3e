"""Documents → passages: the pieces that are embedded, highlighted and shown side by side.

One passage per section keeps an article, a 裁判要点 or a policy measure whole, so
that a hit can say exactly where it is (``反不正当竞争法(2019)#9``). Only sections
longer than the window are cut, at sentence boundaries (articles at their 款
lines first), into overlapping windows ``#anchor~1 … ~N``. Every passage's text
is a verbatim slice of its section, so a highlight maps back to the document.
"""
from __future__ import annotations

import re

from kb.models import MEANINGFUL_KINDS, Document, Passage, Section

__all__ = ["chunk", "split_units", "pack_windows", "window_spans"]

_SENTENCE_END = re.compile(r"[。；！？!?;]+[”’」』）)]*\s*|\n+")


def chunk(doc: Document, *, window: int = 360, overlap: int = 60) -> list[Passage]:
    """Passages for ``doc`` in document order (ids ``{doc.id}#{anchor}`` or ``…#{anchor}~{n}``)."""
    if window <= 0 or overlap < 0 or overlap >= window:
        raise ValueError(f"need 0 <= overlap < window, got window={window}, overlap={overlap}")
    passages: list[Passage] = []
    for section in doc.sections:
        text = section.text.strip()
        if not text:
            continue
        pieces = [text] if len(text) <= window else pack_windows(
            split_units(text, window, by_line=section.kind == "article"), window, overlap)
        label = _label(doc, section)
        embed = section.kind in MEANINGFUL_KINDS
        for n, piece in enumerate(pieces, start=1):
            windowed = len(pieces) > 1
            passages.append(Passage(
                id=f"{doc.id}#{section.anchor}" + (f"~{n}" if windowed else ""),
                doc_id=doc.id, anchor=section.anchor, kind=section.kind,
                title=f"{label}（{n}/{len(pieces)}）" if windowed else label,
                text=piece.strip(), ordinal=len(passages), embed=embed,
            ))
    return passages


def split_units(text: str, window: int, *, by_line: bool = False) -> list[str]:
    """Cut ``text`` into consecutive units whose concatenation is ``text``.

    Units are sentences (ending in 。；！？ or a line break), or whole lines when
    ``by_line`` (an article's 款) as long as a line fits the window. A unit longer
    than the window is cut into window-sized slices: the only mid-sentence cut.
    """
    if by_line:
        coarse = [line for line in re.split(r"(?<=\n)", text) if line]
        units: list[str] = []
        for line in coarse:
            units += [line] if len(line) <= window else split_units(line, window)
        return units
    units = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            units.append(text[start:match.end()])
            start = match.end()
    if start < len(text):
        units.append(text[start:])
    out: list[str] = []
    for unit in units:
        while len(unit) > window:
            out.append(unit[:window])
            unit = unit[window:]
        if unit:
            out.append(unit)
    return out


def pack_windows(units: list[str], window: int, overlap: int) -> list[str]:
    """The window texts for :func:`window_spans`."""
    return ["".join(units[start:end]) for start, end in window_spans(units, window, overlap)]


def window_spans(units: list[str], window: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy windows of whole units as ``(start, end)`` unit ranges.

    Each window after the first starts with the previous window's last units that
    fit in ``overlap`` characters. When the last unit alone is longer than
    ``overlap`` but at most half a window it is still repeated (unless ``overlap``
    is 0), so that consecutive windows share some text wherever they can. Every
    window brings at least one new unit; units must each fit the window.
    """
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(units):
        start = _overlap_start(units, spans[-1], overlap, window) if spans else index
        while start < index and _length(units, start, index) + len(units[index]) > window:
            start += 1
        end = index + 1
        while end < len(units) and _length(units, start, end) + len(units[end]) <= window:
            end += 1
        spans.append((start, end))
        index = end
    return spans


def _overlap_start(units: list[str], previous: tuple[int, int], overlap: int, window: int) -> int:
    start, end = previous
    first = end
    while first > start and _length(units, first - 1, end) <= overlap:
        first -= 1
    if first == end and overlap and len(units[end - 1]) <= window // 2:
        first = end - 1
    return first


def _length(units: list[str], start: int, end: int) -> int:
    return sum(len(u) for u in units[start:end])


def _label(doc: Document, section: Section) -> str:
    """``反不正当竞争法(2019) 第九条`` for an article; the section's own title otherwise."""
    if section.kind == "article":
        return f"{doc.id} {section.title}"
    return section.title or section.anchor
