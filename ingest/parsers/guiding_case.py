"""SPC guiding cases (指导性案例): the most binding cases, with a fixed layout.

Every guiding case has the same parts — 关键词, 裁判要点, 相关法条, 基本案情, 裁判结果,
裁判理由 — so they are found by their heading lines. The gist (裁判要点) is the rule
the case stands for; the cited articles come from 相关法条 first because that is
what the SPC itself lists.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from kb.citations import extract_citations
from kb.models import Document, Section
from kb.taxonomy import authority_tier, classify_ip
from ingest.types import RawDoc

from .common import (
    CASE_NO_RE, CJK, as_list, court_case_numbers, fields, iso_date, lines_of, make_section, provenance,
    require_text, text_field, unique_anchors,
)
from .judgment import dedupe_citations, procedure_of

PARTS: tuple[tuple[str, str, str], ...] = (
    ("关键词", "keywords", "keywords"),
    ("裁判要点", "gist", "gist"),
    ("相关法条", "laws", "laws"),
    ("基本案情", "facts", "facts"),
    ("裁判结果", "result", "result"),
    ("裁判理由", "reasoning", "reasoning"),
)
"""(heading, kind, anchor) in the order a guiding case prints them."""

_HEADING_KIND = {heading: (kind, anchor) for heading, kind, anchor in PARTS}
_HEADING_RE = re.compile(r"^[【\[]?(关键词|裁判要点|相关法条|基本案情|裁判结果|裁判理由)[】\]]?(?:[\s　:：]+(?P<rest>.*))?$")
GUIDING_NO_RE = re.compile(r"指导(?:性)?案例\s*第?\s*(\d+)\s*号")
_IP_CHARGES = ("假冒注册商标", "销售假冒注册商标的商品", "非法制造、销售非法制造的注册商标标识", "假冒专利",
               "侵犯著作权", "销售侵权复制品", "侵犯商业秘密")
_PARTY_END = ("公司", "等", "局", "委员会", "中心", "旅行社", "研究所", "厂", "经营部", "店")
_CAUSE_START = re.compile(r"侵害|侵犯|确认|擅自|虚假|不正当|垄断|滥用|捆绑|商标|专利|著作权|计算机|财产|因|发明|"
                          r"实用新型|外观|技术|植物|集成|商业|执行|“")


def parse_guiding_case(raw: RawDoc) -> Document:
    """A guiding case (corpus JSON record or plain text) → Document with its six parts."""
    text = require_text(raw)
    info = fields(raw)
    number = _guiding_no(info, text)
    title = text_field(info.get("title")) or _title_from_text(text) or f"指导案例{number}号"
    sections = _sections_from_text(text) or _sections_from_record(info) \
        or (Section(kind="body", title="正文", text=text, anchor="body"),)
    by_kind = {s.kind: s for s in sections}
    keywords = tuple(as_list(info.get("keywords"))) or _keywords_from(by_kind.get("keywords"))
    cause = cause_from_title(title)
    result_text = by_kind["result"].text if "result" in by_kind else ""
    case_numbers = court_case_numbers(result_text)
    case_no, court = final_decision(result_text)
    laws_text = by_kind["laws"].text if "laws" in by_kind else ""
    citations = dedupe_citations(list(extract_citations(laws_text)) + list(extract_citations(text)))
    source = provenance(raw)
    url = text_field(info.get("official_url"))
    extra: dict[str, Any] = {"case_numbers": case_numbers}
    if url:
        extra["official_url"] = url
    for key in ("issued_line", "published_at", "source_label_ip_category"):
        if info.get(key):
            extra[key] = info[key]
    doc_id = f"指导案例{number}号" if number is not None else (text_field(info.get("id")) or title)
    return Document(
        id=doc_id, title=title, doc_type="guiding_case", text=text, sections=sections,
        ip_categories=classify_ip(title, text, hints=[*keywords, *([cause] if cause else [])]),
        citations=citations, authority=authority_tier("guiding_case", source=source, title=title),
        court=court, case_no=case_no, procedure=procedure_of(case_no) if case_no else None, cause=cause,
        issuer="最高人民法院", date=iso_date(info.get("date")) or _issued_date(info, text), keywords=keywords,
        guiding_no=number, source=f"{source} ({url})" if url else source, source_path=raw.path, extra=extra,
    )


def looks_like_guiding_case(text: str) -> bool:
    head = text[:600]
    return bool(GUIDING_NO_RE.search(head)) and "裁判要点" in text and "基本案情" in text


def cause_from_title(title: str) -> str | None:
    """侵害发明专利权纠纷 from ``…诉…侵害发明专利权纠纷案``; for a criminal case the charge(s)."""
    stem = re.sub(r"[\s　]", "", title).removesuffix("案")
    if "纠纷" not in stem:
        charges = [c for c in _IP_CHARGES if c in stem]
        charges = [c for c in charges if not any(c != o and c in o for o in charges)]
        if charges:
            return "、".join(charges)
    parts = re.split(r"诉|与", stem, maxsplit=1)
    rest = parts[1] if len(parts) > 1 else stem
    cut = max((rest.rfind(t) + len(t) for t in _PARTY_END if t in rest), default=0)
    tail = rest[cut:]
    if not tail or tail.startswith("、") or "第三人" in tail:
        match = _CAUSE_START.search(tail or rest)
        tail = (tail or rest)[match.start():] if match else tail
    tail = tail.lstrip("、")
    return tail or None


def final_decision(result_text: str) -> tuple[str | None, str | None]:
    """(case number, court) of the last decision the 裁判结果 says was made (…作出（…）…号…)."""
    made = list(re.finditer(rf"作出\s*({CASE_NO_RE.pattern})", result_text))
    if not made:
        return None, None
    last = made[-1]
    case_no = re.sub(r"\s", "", last.group(1))
    sentence_start = max(result_text.rfind(ch, 0, last.start()) for ch in "。；") + 1
    sentence = result_text[sentence_start:last.start()]
    return case_no, _court_in(sentence)


def _court_in(sentence: str) -> str | None:
    courts = re.findall(rf"(最高人民法院(?:知识产权法庭)?|[{CJK}]{{2,25}}?(?:人民法院|知识产权法院|互联网法院))", sentence)
    if not courts:
        return None
    court = re.split(r"[，,]", courts[-1])[-1]
    return re.sub(r"^(?:本案|经审查|经|由|后|遂|并|向|不服|宣判后|一审|二审|再审)+", "", court) or None


def _guiding_no(info: Mapping[str, Any], text: str) -> int | None:
    for key in ("guiding_case_no", "guiding_no"):
        value = info.get(key)
        if value is not None and str(value).strip().isdigit():
            return int(str(value).strip())
    match = GUIDING_NO_RE.search(text[:600]) or GUIDING_NO_RE.search(str(info.get("id") or ""))
    return int(match.group(1)) if match else None


def _title_from_text(text: str) -> str | None:
    first = lines_of(text)[0]
    match = re.match(r"^指导(?:性)?案例\s*第?\s*\d+\s*号[：:\s　]*(.+)$", first)
    return match.group(1).strip() if match else None


def _sections_from_text(text: str) -> tuple[Section, ...]:
    """Split at the six heading lines; keywords may share their heading's line."""
    groups: list[tuple[str, list[str]]] = []
    for line in lines_of(text):
        match = _HEADING_RE.match(line)
        if match:
            groups.append((match.group(1), [match.group("rest")] if match.group("rest") else []))
        elif groups:
            groups[-1][1].append(line)
    sections = []
    for heading, paragraphs in groups:
        kind, anchor = _HEADING_KIND[heading]
        sections.append(make_section(kind, heading, "\n".join(paragraphs), anchor))
    found = unique_anchors(sections)
    return found if any(s.kind == "gist" for s in found) else ()


def _sections_from_record(info: Mapping[str, Any]) -> tuple[Section, ...]:
    """``sections: [[裁判要点, [paragraphs]], …]`` when the text carries no headings."""
    raw_sections = info.get("sections") or ()
    pairs = raw_sections.items() if isinstance(raw_sections, Mapping) else raw_sections
    sections = []
    keywords = as_list(info.get("keywords"))
    if keywords:
        sections.append(make_section("keywords", "关键词", "　".join(keywords), "keywords"))
    for heading, paragraphs in pairs:
        if heading in _HEADING_KIND:
            kind, anchor = _HEADING_KIND[heading]
            sections.append(make_section(kind, heading, "\n".join(as_list(paragraphs)), anchor))
    return unique_anchors(sections)


def _keywords_from(section: Section | None) -> tuple[str, ...]:
    if section is None:
        return ()
    return tuple(w for w in re.split(r"[\s　,，、;；]+", section.text) if w and w != "关键词")


def _issued_date(info: Mapping[str, Any], text: str) -> str | None:
    line = text_field(info.get("issued_line"))
    if not line:
        match = re.search(r"[（(][^）)]*发布[）)]", text[:800])
        line = match.group(0) if match else None
    return iso_date(line) if line else None
