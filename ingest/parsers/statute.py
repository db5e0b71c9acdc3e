"""Statute-like texts: laws, regulations, judicial interpretations, local regulations, rules.

The body is a run of articles (第X条) grouped under 编/分编/章/节 headings. Each
article becomes one ``article`` Section addressed by its number (``9``,
``219-1`` for 第二百一十九条之一) so that a citation such as 反不正当竞争法第九条 lands
on exactly that text. Promulgation and amendment lines before the body become the
``preamble``. A text without articles (an amending decision, a 批复) is split into
its numbered items (一、二、…) instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from kb.citations import extract_citations, normalize_law_name
from kb.models import Document, Section
from kb.numerals import NUMERAL_CHARS
from kb.taxonomy import classify_ip
from ingest.types import RawDoc

from .common import (
    ARTICLE_RE, CJK, date_in_file_name, front_matter, plain_markdown, is_markdown_heading, iso_date, lines_of,
    make_section, number_of, provenance, require_text, strip_heading, text_field, unique_anchors,
)

_DIVISION_RE = re.compile(rf"^第[{NUMERAL_CHARS}0-9]+(?P<kind>分编|编|章|节)(?:[\s　]+(?P<name>.*))?$")
_DIVISION_RANK = {"编": 2, "分编": 3, "章": 4, "节": 5}
_ITEM_RE = re.compile(rf"^(?P<num>[{NUMERAL_CHARS}]+)、")
_TOC_RE = re.compile(r"^目[\s　]*录$")
_YEAR_LINE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_ENACTING = re.compile(r"通过|修正|修订|公布|修改|批准|发布")
_DOC_NUMBER = re.compile(rf"[{CJK}]{{1,8}}〔\d{{4}}〕\d+号|[{CJK}]{{0,12}}令第\d+号")
_STATUS_WORDS = {
    "current": "current", "现行有效": "current", "有效": "current",
    "superseded": "superseded", "已被修订": "superseded", "已修改": "superseded", "已被修改": "superseded",
    "repealed": "repealed", "已废止": "repealed", "失效": "repealed", "已失效": "repealed",
}


@dataclass
class _Body:
    """What one pass over the lines finds."""

    title_lines: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)


def parse_statute(raw: RawDoc, doc_type: str) -> Document:
    """A statute-like RawDoc → Document with a preamble and one section per article."""
    text = require_text(raw)
    fm = front_matter(raw)
    body = _scan(lines_of(text))
    title = normalize_title(text_field(fm.get("title")) or (body.title_lines[0] if body.title_lines else "")
                            or _first_line(text))
    book = text_field(fm.get("part")) or _book_of(body.title_lines, title)
    if book:
        for art in body.articles:
            if book not in art["path"][:1]:
                art["path"] = (book,) + art["path"]
    law_name = statute_law_name(title, doc_type)

    enacting = [line for line in body.preamble if _ENACTING.search(line) and _YEAR_LINE.search(line)]
    version = text_field(fm.get("version")) or _latest_year(enacting) or _year(date_in_file_name(raw)) \
        or _year(iso_date(fm.get("date") or fm.get("publish_date")))
    date = iso_date(fm.get("date") or fm.get("publish_date")) or _latest_date(enacting) or date_in_file_name(raw)
    doc_id = f"{law_name}{'·' + book if book else ''}" + (f"({version})" if version else "")

    parts = [_article_section(a) for a in body.articles] if body.articles else _item_sections(body)
    sections = [make_section("preamble", "序言", "\n".join(body.preamble), "preamble"), *parts]
    if not any(s is not None and s.kind != "preamble" for s in sections):
        sections = _preamble_and_body(body.preamble, text)
    sections_t = unique_anchors(sections)

    extra = _extra(fm, body.preamble)
    if book:
        extra["book"] = book
        title = title if title.endswith(book) else f"{title}·{book}"
    cites = tuple(c for c in extract_citations(text, self_law=law_name) if c.law != law_name)
    return Document(
        id=doc_id, title=title, doc_type=doc_type, text=plain_markdown(text), sections=sections_t,
        ip_categories=classify_ip(title, text, hints=(law_name,)), citations=cites,
        status=_status(fm.get("status")), issuer=text_field(fm.get("issuer") or fm.get("issuing_authority"))
        or _issuer(enacting or body.preamble, doc_type),
        date=date, law_name=law_name, version=version, source=provenance(raw), source_path=raw.path,
        extra=extra,
    )


def statute_law_name(title: str, doc_type: str) -> str:
    """反不正当竞争法 for a law; an interpretation keeps its full title (no 《》, no date)."""
    if doc_type == "interpretation":
        name = re.sub(r"[《》]", "", title)
        return re.sub(r"[（(]\d{4}(?:-\d{2}-\d{2})?[）)]$", "", name).strip()
    return normalize_law_name(title)


def normalize_title(title: str) -> str:
    """Join a title that a source wrapped over lines; drop the spacing inside it.

    china-law-db writes ``最高人民法院　最高人民检察院\\n关于办理…`` — two issuers separated
    by a space become ``最高人民法院、最高人民检察院``.
    """
    title = strip_heading(title.strip())
    title = re.sub(r"(院|部|局|署)[\s　]+(?=最高|国家|中华|国务院)", r"\1、", title)
    return re.sub(r"[\s　]+", "", title)


def _scan(lines: list[str]) -> _Body:
    """One pass: title lines, preamble, articles with their division path.

    Lines under a heading that precede any article there (an 附件 of 刑法) form a
    ``body`` part of their own rather than running on into the article before the
    heading, so every part stays one contiguous stretch of the text.
    """
    body = _Body()
    path: list[tuple[float, str]] = []
    seen_body = False
    current: dict[str, Any] | None = None
    for line in lines:
        if line.startswith("<!--") or _TOC_RE.match(line):
            continue
        if line.startswith("# ") or line == "#":
            if not seen_body:
                body.title_lines.append(strip_heading(line))
            continue
        heading = _division(line)
        if heading is not None:
            rank, label = heading
            path = [p for p in path if p[0] < rank] + [(rank, label)]
            seen_body = True
            current = None
            continue
        match = ARTICLE_RE.match(line)
        if match and number_of(match.group("num")) is not None:
            seen_body = True
            current = {
                "kind": "article", "label": match.group(0).strip(), "number": number_of(match.group("num")),
                "sub": number_of(match.group("sub")) if match.group("sub") else None,
                "lines": [line], "path": tuple(p[1] for p in path),
            }
            body.articles.append(current)
        elif current is not None:
            current["lines"].append(line)
        elif not seen_body:
            body.preamble.append(line)
        else:
            current = {"kind": "body", "label": path[-1][1] if path else "正文", "number": None, "sub": None,
                       "lines": [line], "path": tuple(p[1] for p in path[:-1])}
            body.articles.append(current)
    if not any(part["kind"] == "article" for part in body.articles):
        body.preamble += [line for part in body.articles for line in part["lines"]]
        body.articles = []
    return body


def _division(line: str) -> tuple[float, str] | None:
    """(rank, label) for a 编/分编/章/节 heading line, Markdown or plain."""
    plain = strip_heading(line)
    match = _DIVISION_RE.match(plain)
    if match and len(plain) <= 40 and "。" not in plain:
        number = plain[: match.start("name")].strip() if match.group("name") else plain
        name = re.sub(r"[\s　]+", "", match.group("name") or "")
        label = f"{number} {name}".strip()
        if is_markdown_heading(line):
            return float(len(line) - len(line.lstrip("#"))), label
        return float(_DIVISION_RANK[match.group("kind")]), label
    if is_markdown_heading(line) and not line.startswith("# "):
        return float(len(line) - len(line.lstrip("#"))), re.sub(r"[\s　]+", "", plain)
    return None


def _article_section(art: Mapping[str, Any]) -> Section:
    if art["kind"] == "body":
        return Section(kind="body", title=art["label"], text="\n".join(art["lines"]), anchor=art["label"],
                       path=art["path"])
    anchor = f"{art['number']}-{art['sub']}" if art["sub"] else str(art["number"])
    return Section(kind="article", title=art["label"], text="\n".join(art["lines"]), anchor=anchor,
                   path=art["path"], number=art["number"])


def _item_sections(body: _Body) -> list[Section | None]:
    """Numbered items 一、二、… of a text without articles; the lines before stay preamble."""
    items: list[tuple[int, list[str]]] = []
    rest: list[str] = []
    for line in body.preamble:
        match = _ITEM_RE.match(line)
        number = number_of(match.group("num")) if match else None
        if number is not None and (not items or number == items[-1][0] + 1):
            items.append((number, [line]))
        elif items:
            items[-1][1].append(line)
        else:
            rest.append(line)
    if not items:
        return []
    body.preamble[:] = rest
    return [Section(kind="item", title=_item_title(lines[0]), text="\n".join(lines), anchor=str(n), number=n)
            for n, lines in items]


def _preamble_and_body(lines: list[str], text: str) -> list[Section | None]:
    """A text with neither articles nor items (a 批复): promulgation lines, then the body."""
    split = 0
    while split < len(lines) and (_DOC_NUMBER.fullmatch(lines[split]) or _is_promulgation(lines[split])):
        split += 1
    rest = "\n".join(lines[split:])
    return [make_section("preamble", "序言", "\n".join(lines[:split]), "preamble"),
            make_section("body", "正文", rest or text, "body")]


def _is_promulgation(line: str) -> bool:
    return len(line) <= 200 and bool(_YEAR_LINE.match(line.lstrip("（(")) and re.search(r"通过|施行|公布|修正|修订|发布", line))


def _item_title(line: str) -> str:
    head = re.split(r"[。：:；，]", line, maxsplit=1)[0]
    return head if len(head) <= 40 else head[:40] + "…"


def _first_line(text: str) -> str:
    return strip_heading(text.split("\n", 1)[0])


def _book_of(title_lines: list[str], title: str) -> str | None:
    """The part of a code shipped as its own file (民法典 总则 / 合同编 / 侵权责任编)."""
    second = re.sub(r"[\s　]+", "", title_lines[1]) if len(title_lines) > 1 else ""
    if second == "总则" or (second.endswith("编") and len(second) <= 8):
        return second
    match = re.match(r"^中华人民共和国民法典[\s　·]*(.{1,8}编|总则)$", title)
    return match.group(1) if match else None


def _latest_year(lines: list[str]) -> str | None:
    years = [m.group("y") for line in lines for m in _YEAR_LINE.finditer(line)]
    return max(years) if years else None


def _latest_date(lines: list[str]) -> str | None:
    dates = [iso_date(m.group(0)) for line in lines for m in _YEAR_LINE.finditer(line)]
    dates = [d for d in dates if d]
    return max(dates) if dates else None


def _year(date: str | None) -> str | None:
    return date[:4] if date else None


def _status(value: Any) -> str:
    word = text_field(value)
    return _STATUS_WORDS.get(word, "current") if word else "current"


def _issuer(lines: list[str], doc_type: str) -> str | None:
    """The enacting body named in the first promulgation line, when it says."""
    joined = lines[0] if lines else ""
    if doc_type == "interpretation":
        found = [name for name in ("最高人民法院", "最高人民检察院") if name in "".join(lines)]
        return "、".join(found) or None
    patterns = (
        (r"第[^届]{1,4}届(全国人民代表大会(?:常务委员会)?)", None),
        (rf"([{CJK}]{{2,12}}?(?:省|市|自治区))第[^届]{{1,4}}届人民代表大会常务委员会", "{}人民代表大会常务委员会"),
        (r"国务院令", "国务院"),
        (rf"([{CJK}]{{2,15}}?)令第\d+号", None),
    )
    for pattern, template in patterns:
        match = re.search(pattern, joined)
        if match:
            name = match.group(1) if match.groups() else None
            if template:
                return template.format(name) if name else template
            return name or ("国务院" if "国务院" in pattern else None)
    return None


def _extra(fm: Mapping[str, Any], preamble: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    number = text_field(fm.get("document_number"))
    if not number:
        found = [m.group(0) for line in preamble for m in _DOC_NUMBER.finditer(line)]
        number = found[-1] if found else None
    if number:
        extra["document_number"] = number
    for key in ("superseded_by", "status_note", "implement_date", "category", "licence"):
        value = text_field(fm.get(key))
        if value:
            extra[key] = value
    return extra
