"""Court judgments and rulings: full texts and the dataset excerpts.

A full judgment is cut into the parts a lawyer reads separately (header,
parties, 诉讼记录, claims, defense, evidence, facts, 本院认为, result, tail) by
the phrases that open them (诉称, 辩称, 经审理查明, 本院认为, 判决如下 …). Records
that already carry sections (裁判文书网) keep them; dataset excerpts that are only
the facts or only the evidence become one section of that kind.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from kb.citations import extract_citations
from kb.models import Citation, Document, Section
from kb.numerals import chinese_date_to_iso
from kb.taxonomy import authority_tier, classify_ip
from ingest.types import RawDoc

from .common import (
    CASE_NO_RE, CJK, as_list, court_case_numbers, dedupe, fields, iso_date, lines_of, make_section,
    provenance, require_text, text_field, text_hash_id, unique_anchors,
)

SECTION_TITLES = {
    "header": "文书首部", "parties": "当事人", "record": "诉讼记录", "claims": "诉称", "defense": "辩称",
    "evidence": "证据", "facts": "查明事实", "reasoning": "本院认为", "result": "裁判结果", "tail": "文书尾部",
}
"""Human titles by anchor (``record`` is a header-kind section of its own)."""

_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("result", re.compile(r"(?:判决|裁定|决定|调解协议)如下|达成(?:如下|以下)(?:调解)?协议")),
    ("reasoning", re.compile(r"本院认为")),
    ("facts", re.compile(r"(?:经审理|本院|经审查|本院审查|二审|一审法院|原审法院|原审|一审|再审)查明|"
                         r"经审理认定|另查明|再查明|查明事实|审理查明")),
    ("defense", re.compile(r"(?:答辩|辩|提交意见|陈述意见)称|答辩意见|辩护意见|辩护人提出")),
    ("claims", re.compile(r"(?:诉|起诉|上诉|申请再审|再审申请人|请求)称|诉讼请求[：:]|上诉请求[：:]|"
                          r"起诉书指控|(?:公诉机关|检察院)指控")),
    ("evidence", re.compile(r"(?:提交|提供|出示)(?:了)?(?:如下|以下|下列)(?:证据)|举证如下|证据如下")),
)
_PARTY_RE = re.compile(
    r"^(?P<role>原审原告|原审被告|原审第三人|再审申请人|申请再审人|被申请人|申请执行人|被执行人|被上诉人|上诉人|"
    r"反诉原告|反诉被告|公诉机关|被告人|申请人|第三人|原告|被告)"
    r"(?:[（(][^）)]{0,40}[）)])?[：:\s]*(?P<name>[^，。,;；：:\s]{1,80})"
)
_AGENT_RE = re.compile(r"^(?:法定代表人|委托(?:诉讼)?代理人|诉讼代理人|指定代理人|辩护人|负责人|经营者|住所地|主要负责人)")
_TAIL_RE = re.compile(r"^(?:审\s*判\s*长|审\s*判\s*员|代理审判员|人民陪审员|书\s*记\s*员|法官助理|速\s*录\s*员|"
                      r"本件与原本核对无异)")
_CN_DATE_LINE = re.compile(r"^[〇零○一二三四五六七八九0-9]{4}年[一二三四五六七八九十0-9]{1,3}月[一二三四五六七八九十0-9]{1,3}日$")
_DOC_KIND_RE = re.compile(r"(民事|刑事|行政|执行|国家赔偿)?(判决书|裁定书|调解书|决定书)")
_COURT_RE = re.compile(rf"(最高人民法院(?:知识产权法庭)?|[{CJK}]{{2,30}}?(?:人民法院|知识产权法院|互联网法院|知识产权法庭))")
_RECORD_HEADINGS = {
    "文本首部": "header", "文书首部": "header", "首部": "header", "当事人信息": "parties", "当事人": "parties",
    "诉讼记录": "record", "审理经过": "record", "案件基本情况": "facts", "裁判理由": "reasoning", "本院认为": "reasoning",
    "裁判结果": "result", "判决结果": "result", "文本尾部": "tail", "文书尾部": "tail", "尾部": "tail",
    "诉称": "claims", "辩称": "defense", "证据": "evidence", "查明事实": "facts", "经审理查明": "facts",
}


def parse_judgment(raw: RawDoc) -> Document:
    """A judgment RawDoc (full text, record with sections, or dataset excerpt) → Document."""
    text = require_text(raw)
    info = fields(raw)
    excerpt = text_field(info.get("excerpt"))
    full = excerpt in (None, "full")  # excerpts mention other cases' numbers and causes: guess nothing from them
    case_no = text_field(info.get("case_no")) or (_case_no_in_header(text) if full else None)
    charges, cause = _charges_and_cause(info, text if full else "")
    sections = _sections(text, info)
    header_text = "\n".join(s.text for s in sections if s.kind == "header") or (text[:300] if full else "")
    title = text_field(info.get("title"))
    kind = document_kind(header_text) or document_kind(title or "")
    court = text_field(info.get("court")) or court_in_header(header_text)
    if not title:
        title = f"{court}{kind or ''}{case_no}" if court and case_no else _title_from_text(text) or case_no or text[:40]
    parties = tuple(as_list(info.get("parties"))) or parties_from_text(
        "\n".join(s.text for s in sections if s.kind == "parties"))
    source = provenance(raw)
    return Document(
        id=text_field(info.get("id")) or case_no or text_hash_id(text),
        title=title, doc_type="judgment", text=text, sections=sections,
        ip_categories=classify_ip(title, text, hints=[h for h in [cause, *charges] if h]),
        citations=_citations(text, info), authority=authority_tier("judgment", source=source, title=title),
        court=court, case_no=case_no,
        procedure=procedure_of(case_no, title, text, info.get("procedure") or info.get("trial_procedure")),
        cause=cause, parties=parties,
        date=iso_date(info.get("date") or info.get("decision_date")) or judgment_date(text),
        source=source, source_path=raw.path, extra=_extra(info, kind, excerpt, charges),
    )


def _charges_and_cause(info: Mapping[str, Any], text: str) -> tuple[list[str], str | None]:
    """Charges (without 罪) and the 案由; for a criminal case the 案由 is its charges."""
    charges = [c.removesuffix("罪") for c in as_list(info.get("charges") or info.get("accusation"))]
    cause = ("、".join(charges) if charges else None) \
        or text_field(info.get("cause") or info.get("cause_of_action") or info.get("casename")) \
        or (cause_from_text(text) if text else None)
    if not charges and cause and cause.endswith("罪"):
        charges = [c.removesuffix("罪") for c in cause.split("、")]
        cause = "、".join(charges)
    return charges, cause


def _extra(info: Mapping[str, Any], kind: str | None, excerpt: str | None, charges: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if kind:
        extra["document_kind"] = kind
    if excerpt:
        extra["excerpt"] = excerpt
    if charges:
        extra["charges"] = charges
    for key in ("published_date", "wenshu_doc_id", "lower_court_decisions"):
        if info.get(key):
            extra[key] = info[key]
    return extra


# --- sections -------------------------------------------------------------------

def _sections(text: str, info: Mapping[str, Any]) -> tuple[Section, ...]:
    record_sections = info.get("sections")
    if record_sections:
        return unique_anchors(_from_record_sections(record_sections))
    excerpt = text_field(info.get("excerpt"))
    if excerpt in ("facts", "evidence"):
        return unique_anchors([make_section(excerpt, SECTION_TITLES[excerpt], text, excerpt)])
    return unique_anchors(segment_judgment(text))


def _from_record_sections(raw_sections: Any) -> list[Section | None]:
    """``[[heading, [paragraphs]], …]`` or ``{heading: [paragraphs]}`` → Sections."""
    pairs = raw_sections.items() if isinstance(raw_sections, Mapping) else raw_sections
    out: list[Section | None] = []
    for heading, paragraphs in pairs:
        anchor = _RECORD_HEADINGS.get(str(heading).strip())
        paras = as_list(paragraphs)
        if anchor in (None, "facts"):
            out += _classify_units(paras, start=anchor or "facts", allow_header=False)
        else:
            out.append(_section(anchor, paras))
    return out


def segment_judgment(text: str) -> list[Section | None]:
    """Cut a full judgment text into its parts by the phrases that open them."""
    return _classify_units(_units(text), start="header", allow_header=True)


def _units(text: str) -> list[str]:
    """Paragraphs, further split where a section marker opens mid-line (one-line texts)."""
    units: list[str] = []
    for index, line in enumerate(lines_of(text)):
        if index == 0:
            match = CASE_NO_RE.search(line[:160])
            if match and len(line) > match.end() + 20:
                cut = match.end() + (1 if line[match.end():match.end() + 1] in "：:" else 0)
                units.append(line[:cut])
                line = line[cut:]
        units += _split_at_markers(line)
    return units


def _split_at_markers(line: str) -> list[str]:
    if len(line) < 200:
        return [line]
    cuts = set()
    for kind, pattern in _MARKERS:
        for match in pattern.finditer(line):
            if kind == "claims" and not re.match(r"[：:，,]", line[match.end():match.end() + 1]):
                continue
            start = max(line.rfind(ch, 0, match.start()) for ch in "。；！？") + 1
            if 0 < start:
                cuts.add(start)
    pieces, last = [], 0
    for cut in sorted(cuts):
        if cut - last >= 20:
            pieces.append(line[last:cut])
            last = cut
    pieces.append(line[last:])
    return [p for p in pieces if p.strip()]


def _classify_units(units: Sequence[str], *, start: str, allow_header: bool) -> list[Section | None]:
    """A small state machine over paragraphs: each opening phrase switches the part."""
    state = start
    groups: list[tuple[str, list[str]]] = []
    for unit in units:
        new = _next_state(state, unit, allow_header)
        if not groups or new != groups[-1][0]:
            groups.append((new, []))
        groups[-1][1].append(unit)
        state = new
    return [_section(anchor, paras) for anchor, paras in groups]


_RANK = {"header": 0, "parties": 0, "record": 0, "claims": 1, "defense": 1, "evidence": 1, "facts": 1,
         "reasoning": 2, "result": 3, "tail": 4}
"""Parts only move forward: once 本院认为 starts, a later 查明 is a quotation, not new facts."""


def _next_state(state: str, unit: str, allow_header: bool) -> str:
    if state == "tail" or _TAIL_RE.match(unit) or (_CN_DATE_LINE.match(unit) and state in ("result", "tail")):
        return "tail"
    opening = _opening(unit)
    if allow_header and state in ("header", "parties"):
        if _is_party_line(unit) or (state == "parties" and _AGENT_RE.match(unit)):
            return "parties"
        if state == "header" and not opening and (len(unit) < 60 or (CASE_NO_RE.search(unit) and len(unit) < 160)):
            return "header"
        if not opening:
            return "record"
    if opening and _RANK[opening] >= _RANK[state]:
        return opening
    return state


def _is_party_line(unit: str) -> bool:
    return bool(_PARTY_RE.match(unit)) and not re.search(r"一案|本院|提起公诉|提起诉讼|起诉书", unit)


def _opening(unit: str) -> str | None:
    """The part a paragraph opens, judged from its first sentence (a result from the whole of it)."""
    sentence = re.split(r"[。]", unit, maxsplit=1)[0]
    found = []
    for kind, pattern in _MARKERS:
        match = pattern.search(sentence if kind == "result" else sentence[:120])
        if match and kind == "result" and re.search(r"(?:一审|二审|原审|原)(?:法院)?(?:判决|裁定)|法院(?:于.{0,20})?(?:判决|裁定)",
                                               sentence[max(0, match.start() - 25):match.start()]):
            continue  # the lower court's result quoted in the facts
        if match:
            found.append((match.start(), kind))
    return min(found)[1] if found else None


def _section(anchor: str, paragraphs: Iterable[str]) -> Section | None:
    kind = "header" if anchor == "record" else anchor
    return make_section(kind, SECTION_TITLES[anchor], "\n".join(paragraphs), anchor)


# --- fields -------------------------------------------------------------------------

def procedure_of(case_no: str | None, title: str = "", text: str = "", given: Any = None) -> str | None:
    """一审/二审/再审/再审审查 from the case number (初/终/申/再), else the title, text or record."""
    if case_no:
        body = re.sub(r"^[（(]\d{4}[）)]", "", case_no)
        for chars, name in (("申", "再审审查"), ("再提", "再审"), ("终", "二审"), ("初", "一审")):
            if any(c in body for c in chars):
                return name
    for words, name in (("再审审查", "再审审查"), ("再审", "再审"), ("二审", "二审"), ("一审", "一审")):
        if words in title:
            return name
    given = text_field(given)
    if given:
        return given
    head = text[:400]
    if "申请再审" in head:
        return "再审审查"
    if "上诉人" in head:
        return "二审"
    return None


def document_kind(header: str) -> str | None:
    match = _DOC_KIND_RE.search(re.sub(r"[\s　]", "", header))
    return match.group(0) if match else None


def court_in_header(header: str) -> str | None:
    """The court named at the top (``中华人民共和国最高人民法院`` → 最高人民法院)."""
    for line in header.split("\n")[:4]:
        line = re.sub(r"[\s　]", "", line).removeprefix("中华人民共和国")
        match = _COURT_RE.search(line)
        if match:
            return re.sub(r"^.*[书号：:]", "", match.group(1))
    return None


def judgment_date(text: str) -> str | None:
    """The 裁判日期: the Chinese date line near the end (二〇一三年十二月二十日)."""
    for line in reversed(lines_of(text)[-15:]):
        if _CN_DATE_LINE.match(re.sub(r"[\s　]", "", line)):
            return chinese_date_to_iso(line)
    return None


def parties_from_text(parties_text: str) -> tuple[str, ...]:
    """``name（role）`` for each party line (agents and lawyers are not parties)."""
    out = []
    for line in parties_text.split("\n"):
        match = _PARTY_RE.match(line.strip())
        if match:
            name = re.sub(r"[（(](?:以下)?简称[^）)]*[）)]", "", match.group("name")).strip("：:")
            out.append(f"{name}（{match.group('role')}）")
    return dedupe(out)


def cause_from_text(text: str) -> str | None:
    """案由 from ``…纠纷一案`` or, for criminal cases, the charges (``犯假冒注册商标罪``)."""
    match = re.search(rf"([{CJK}、“”]{{2,60}}?纠纷)(?:一案|案)", text[:3000])
    if match:
        phrase = match.group(1)
        cut = max((phrase.rfind(t) + len(t) for t in ("公司", "等", "厂", "店", "中心", "局", "委员会", "与")
                   if t in phrase), default=0)
        return (phrase[cut:] if 0 < cut < len(phrase) - 2 else phrase).lstrip("因、")
    charges = charges_in_text(text[:3000])
    return "、".join(charges) if charges else None


def charges_in_text(text: str) -> list[str]:
    """Charges named after 犯 (``犯假冒注册商标罪、销售假药罪``), without 罪."""
    out: list[str] = []
    for match in re.finditer(rf"犯([{CJK}、]{{2,40}}?罪(?:、[{CJK}]{{2,30}}?罪)*)", text):
        for charge in match.group(1).split("罪"):
            charge = charge.strip("、")
            if charge and charge not in out:
                out.append(charge)
    return out


def _case_no_in_header(text: str) -> str | None:
    found = court_case_numbers("\n".join(lines_of(text[:400])[:4]))
    return found[0] if found else None


def _title_from_text(text: str) -> str | None:
    first = lines_of(text)[0] if text else ""
    return first if len(first) <= 80 else None


def _citations(text: str, info: Mapping[str, Any]) -> tuple[Citation, ...]:
    """Citations in the text, plus the dataset's article labels (CAIL: 刑法 numbers; LexEval labels)."""
    found = list(extract_citations(text))
    for number in info.get("relevant_articles") or ():
        try:
            found.append(Citation("刑法", int(number)))
        except (TypeError, ValueError):
            continue
    for label in as_list(info.get("law_article_labels")):
        found += [c for c in extract_citations(label) if c.article]
    return dedupe_citations(found)


def dedupe_citations(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    """First occurrence of each (law, version, article, sub, paragraph, item).

    An unversioned citation of an article that is also cited with its version
    (专利法第十一条 beside 《专利法》（2008年修正）第十一条) says nothing more and is dropped.
    """
    citations = list(citations)
    versioned = {(c.law, c.article, c.sub, c.paragraph, c.item) for c in citations if c.version}
    seen: set[tuple] = set()
    out: list[Citation] = []
    for c in citations:
        key = (c.law, c.version, c.article, c.sub, c.paragraph, c.item)
        if key in seen or (not c.version and key[:1] + key[2:] in versioned):
            continue
        seen.add(key)
        out.append(c)
    return tuple(out)
