"""Parsers: a RawDoc's text (and record/front matter) → a kb.models.Document. Pure.

:func:`detect_type` decides what a document is — from its declared ``doc_type``
when the file says, else from its content — and :func:`parse` hands it to the
parser for that type. Types are the codes of ``kb.models.DOC_TYPES``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from kb.errors import InputError
from kb.models import DOC_TYPES, LEGAL_TEXT_TYPES, Document
from ingest.types import RawDoc

from .common import ARTICLE_RE, CASE_NO_RE, CJK, clean_text, fields, lines_of, require_text, strip_heading
from .guiding_case import looks_like_guiding_case, parse_guiding_case
from .judgment import parse_judgment
from .policy import parse_policy
from .statute import normalize_title, parse_statute

__all__ = ["parse", "detect_type", "disambiguate_ids"]

_LABEL_TO_CODE = {label: code for code, label in DOC_TYPES.items()}
_DECLARED_HINTS: tuple[tuple[str, str], ...] = (
    ("指导性案例", "guiding_case"), ("指导案例", "guiding_case"),
    ("判决书", "judgment"), ("裁定书", "judgment"), ("调解书", "judgment"), ("裁判文书", "judgment"),
    ("司法解释", "interpretation"), ("行政法规", "regulation"), ("地方性法规", "local_regulation"),
    ("部门规章", "rule"), ("法律", "statute"), ("政策", "policy"), ("指引", "guideline"), ("指南", "guideline"),
)
_STATUTE_TITLE_END = re.compile(r"(?:法|法典|条例|规定|解释|办法|决定|批复|细则|规则|修正案)(?:[（(][一二三四五六七八九十]+[）)])?$")
_NEEDS_NO_ARTICLES = re.compile(r"(?:决定|批复|修正案)(?:[（(][一二三四五六七八九十]+[）)])?$")
_REGION_PREFIX = re.compile(rf"^[{CJK}]{{2,12}}?(?:省|市|自治区|特别行政区|自治州|县)")
_JUDGMENT_DOC = re.compile(r"法院.{0,20}?(?:判决书|裁定书|调解书)")
_JUDGMENT_MARKERS = ("本院认为", "判决如下", "裁定如下", "经审理查明", "本院查明", "诉称", "辩称", "公诉机关指控",
                     "起诉书指控", "被告人", "上诉人", "原告", "被告")
_EXCERPT_MARKERS = ("本院", "查明", "被告人", "原告", "被告", "公诉机关", "指控", "诉称", "辩称", "上诉人", "证人", "证实",
                    "证据", "认定事实", "判决书")
"""Words of a judgment excerpt (facts or evidence without the header): two of them make a judgment.
Statutes and interpretations use them too, but they are recognised before this test runs."""
_EXCERPT_OPENING = re.compile(r"查明|认定事实|证据|指控")


def parse(raw: RawDoc) -> Document:
    """Parse one RawDoc into a Document (raises EmptyDocumentError / InputError when nothing usable)."""
    require_text(raw)
    doc_type = detect_type(raw)
    if doc_type in LEGAL_TEXT_TYPES:
        return parse_statute(raw, doc_type)
    if doc_type == "guiding_case":
        return parse_guiding_case(raw)
    if doc_type == "judgment":
        return parse_judgment(raw)
    if doc_type in ("policy", "guideline"):
        return parse_policy(raw, doc_type)
    raise InputError(raw.name, f"unknown document type {doc_type!r}")


def detect_type(raw: RawDoc) -> str:
    """The DOC_TYPES code of a RawDoc: declared (front matter / record ``doc_type``) or from content."""
    declared = declared_type(fields(raw).get("doc_type"))
    if declared:
        return declared
    text = clean_text(raw.text or "")
    info = fields(raw)
    if looks_like_guiding_case(text):
        return "guiding_case"
    if looks_like_judgment(text):
        return "judgment"
    title = normalize_title(str(info.get("title") or _first_line(text)))
    statute_type = statute_like_type(title, text, category=str(info.get("category") or ""))
    if statute_type:
        return statute_type
    if CASE_NO_RE.search(text[:500]) or _EXCERPT_OPENING.search(text[:40]) \
            or sum(m in text for m in _EXCERPT_MARKERS) >= 2:
        return "judgment"
    return "guideline" if re.search(r"指引|指南", title) else "policy"


def declared_type(value: Any) -> str | None:
    """A declared type as a code: ``statute``, ``法律``, ``刑事判决书事实部分…`` → judgment."""
    if value is None:
        return None
    value = str(value).strip()
    if value in DOC_TYPES:
        return value
    if value in _LABEL_TO_CODE:
        return _LABEL_TO_CODE[value]
    for hint, code in _DECLARED_HINTS:
        if hint in value:
            return code
    return None


def looks_like_judgment(text: str) -> bool:
    """A court header (…法院 …判决书/裁定书/调解书) with a case number, or a case number and judgment phrases."""
    head = re.sub(r"[\s　]", "", text[:400])
    has_case_no = bool(CASE_NO_RE.search(head))
    if has_case_no and _JUDGMENT_DOC.search(head):
        return True
    return has_case_no and sum(m in text for m in _JUDGMENT_MARKERS) >= 3


def statute_like_type(title: str, text: str, *, category: str = "") -> str | None:
    """statute / interpretation / regulation / local_regulation / rule, or None when not statute-like."""
    declared = declared_type(category) if category else None
    if declared in LEGAL_TEXT_TYPES:
        return declared
    articles = sum(1 for line in lines_of(text) if ARTICLE_RE.match(line))
    if not _STATUTE_TITLE_END.search(title) or (articles < 2 and not _NEEDS_NO_ARTICLES.search(title)):
        return None
    if title.startswith(("最高人民法院", "最高人民检察院")):
        return "interpretation"
    preamble = text[:1500]
    if title.startswith("国务院") or (re.search(r"国务院(?:、[^令，。]{0,20})?令|国务院第.{1,6}次常务会议", preamble)
                                     and not _REGION_PREFIX.match(title)):
        return "regulation"
    if not title.startswith("中华人民共和国") and _REGION_PREFIX.match(title):
        return "local_regulation"
    if re.search(rf"[{CJK}]{{2,15}}(?:部|局|总局|委员会|署|行)令第\d+号", preamble) and "国务院令" not in preamble:
        return "rule"
    return "statute"


def disambiguate_ids(docs: Iterable[Document]) -> list[Document]:
    """Give documents that would share an id distinct ids (``…(2019-04-23)``), in input order.

    Two corpus files of one law and one year (a law amended twice in a year) would
    otherwise overwrite each other; the full date tells them apart.
    """
    docs = list(docs)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc.id] = counts.get(doc.id, 0) + 1
    out = []
    for doc in docs:
        if counts[doc.id] > 1 and doc.date and doc.version and doc.id.endswith(f"({doc.version})"):
            new_id = doc.id[: -len(f"({doc.version})")] + f"({doc.date})"
            doc = Document.from_dict({**doc.to_dict(), "id": new_id})
        out.append(doc)
    return out


def _first_line(text: str) -> str:
    lines = lines_of(text)
    return strip_heading(lines[0]) if lines else ""
