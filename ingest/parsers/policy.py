"""Policies and guidelines: numbered measures rather than articles.

Party and government documents (实施意见, 指引) number their content as parts
(一、), sub-parts (（一）) and measures (1.). Each becomes an ``item`` Section whose
anchor is its position (``2``, ``2.1``, ``2.1.3``), so that "measure 23 of the Yuxi
opinion" is addressable and shown on its own.
"""
from __future__ import annotations

import re
from typing import Any

from kb.citations import extract_citations
from kb.models import Document, Section
from kb.numerals import NUMERAL_CHARS
from kb.taxonomy import classify_ip
from ingest.types import RawDoc

from .common import (
    front_matter, plain_markdown, iso_date, lines_of, make_section, number_of, provenance, require_text, strip_heading,
    text_field, unique_anchors,
)

PART_RE = re.compile(rf"^(?P<num>[{NUMERAL_CHARS}]+)、")
SUBPART_RE = re.compile(rf"^[（(](?P<num>[{NUMERAL_CHARS}]+)[）)]")
MEASURE_RE = re.compile(r"^(?P<num>\d{1,3})[.．、](?!\d)")
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:\s+\d{2}:\d{2}(?::\d{2})?)?$")
_DATE_LINE_RE = re.compile(r"^(?:\d{4}|[〇零○一二三四五六七八九]{4})年[0-9一二三四五六七八九十]{1,3}月[0-9一二三四五六七八九十]{1,3}日$")
_ISSUER_LINE_RE = re.compile(r"^[\u3400-\u9fff（）()\s　、]{2,60}(?:办公室|办公厅|委员会|人民政府|政府|局|厅|部|院|委|会)$")
_PAGE_FURNITURE_RE = re.compile(r"^(?:编辑|审核|责任编辑|来源|关闭|打印|【关闭】|【打印】)[:：\s]?")


def parse_policy(raw: RawDoc, doc_type: str = "policy") -> Document:
    """A policy/guideline RawDoc → Document with one item per numbered part/sub-part/measure."""
    text = require_text(raw)
    fm = front_matter(raw)
    lines = lines_of(text)
    title = text_field(fm.get("title")) or _title(lines)
    body = [ln for ln in lines if not _skip(ln, title)]
    tail_start = _tail_start(body)
    sections = [make_section("preamble", "序言", "\n".join(_preamble(body[:tail_start])), "preamble")]
    sections += numbered_items(body[:tail_start])
    tail = body[tail_start:]
    sections.append(make_section("tail", "落款", "\n".join(tail), "tail"))
    sections_t = unique_anchors(sections)
    if not any(s.kind == "item" for s in sections_t):
        sections_t += (Section(kind="body", title="正文", text=text, anchor="body"),)

    date = iso_date(fm.get("date")) or _last_date(tail) or _last_date(lines)
    issuer = text_field(fm.get("issuer")) or _issuer(tail)
    year = date[:4] if date else None
    doc_id = text_field(fm.get("id")) or (f"{title}({year})" if year else title)
    extra: dict[str, Any] = {}
    for key in ("document_number", "status_note", "licence", "published_at"):
        if fm.get(key):
            extra[key] = str(fm[key])
    return Document(
        id=doc_id, title=title, doc_type=doc_type, text=plain_markdown(text), sections=sections_t,
        ip_categories=classify_ip(title, text), citations=extract_citations(text),
        status=text_field(fm.get("status")) or "current", issuer=issuer, date=date,
        source=provenance(raw), source_path=raw.path, extra=extra,
    )


def numbered_items(lines: list[str]) -> list[Section | None]:
    """Parts 一、 → ``1``; sub-parts （一） → ``1.1``; measures 1. → ``1.1.3`` (the measure's own number).

    A line that opens no item belongs to the item before it.
    """
    sections: list[dict[str, Any]] = []
    part = sub = None
    part_title = sub_title = None
    for line in lines:
        kind, number = _opening(line)
        if kind == "part":
            part, sub, part_title, sub_title = number, None, _heading(line), None
            anchor, path = str(number), ()
        elif kind == "sub" and part is not None:
            sub, sub_title = number, _heading(line)
            anchor, path = f"{part}.{number}", (part_title,)
        elif kind == "measure":
            prefix = ".".join(str(n) for n in (part, sub) if n is not None)
            anchor = f"{prefix}.{number}" if prefix else str(number)
            path = tuple(t for t in (part_title, sub_title) if t)
        elif sections:
            sections[-1]["lines"].append(line)
            continue
        else:
            continue
        sections.append({"anchor": anchor, "title": _heading(line), "lines": [line], "path": path,
                         "number": number})
    return [make_section("item", s["title"], "\n".join(s["lines"]), s["anchor"], path=s["path"], number=s["number"])
            for s in sections]


def looks_like_policy(text: str) -> bool:
    lines = lines_of(text)
    parts = sum(1 for ln in lines if PART_RE.match(ln))
    others = sum(1 for ln in lines if SUBPART_RE.match(ln) or MEASURE_RE.match(ln))
    return parts >= 2 or (parts >= 1 and others >= 2) or others >= 3


def _opening(line: str) -> tuple[str | None, int | None]:
    for kind, pattern in (("part", PART_RE), ("sub", SUBPART_RE), ("measure", MEASURE_RE)):
        match = pattern.match(line)
        if match:
            number = number_of(match.group("num"))
            if number is not None:
                return kind, number
    return None, None


def _heading(line: str) -> str:
    """The item's heading: the line up to its first full stop (``1.强化司法保障``)."""
    head = re.split(r"[。；;]", line, maxsplit=1)[0].strip()
    return head if len(head) <= 40 else head[:40] + "…"


def _title(lines: list[str]) -> str:
    for line in lines[:3]:
        if line.startswith("#"):
            return strip_heading(line)
    return strip_heading(lines[0])


def _skip(line: str, title: str) -> bool:
    """Page furniture: the title repeated, a timestamp, 编辑/审核/关闭 lines."""
    plain = strip_heading(line)
    return plain == title or bool(_TIMESTAMP_RE.match(plain) or _PAGE_FURNITURE_RE.match(plain))


def _preamble(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if _opening(line)[0] is not None:
            break
        out.append(line)
    return out


def _tail_start(lines: list[str]) -> int:
    """Where the signature block (issuer lines, date line) at the end begins."""
    index = len(lines)
    while index > 0 and len(lines[index - 1]) <= 60 and (
            _DATE_LINE_RE.match(lines[index - 1]) or _ISSUER_LINE_RE.match(lines[index - 1])):
        index -= 1
    return index


def _last_date(lines: list[str]) -> str | None:
    for line in reversed(lines):
        if _DATE_LINE_RE.match(line):
            return iso_date(line)
    return None


def _issuer(tail: list[str]) -> str | None:
    names = [ln for ln in tail if _ISSUER_LINE_RE.match(ln)]
    if not names:
        return None
    return "、".join(re.split(r"[\s　]{2,}|[\s　]+(?=中共|[\u3400-\u9fff]{2,}人民政府)", " ".join(names)))
