"""Small pure helpers the per-type parsers share.

Text cleaning, access to a RawDoc's front matter / record, provenance strings,
dates and the case-number pattern live here so that every parser reads them the
same way.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import PurePath
from typing import Any, Iterable, Mapping

from kb.errors import EmptyDocumentError
from kb.models import Section
from kb.numerals import NUMERAL_CHARS, chinese_date_to_iso, chinese_to_int
from ingest.types import RawDoc

CJK = r"\u3400-\u9fff"

ARTICLE_RE = re.compile(
    rf"^第(?P<num>[{NUMERAL_CHARS}0-9０-９]+)条(?:之(?P<sub>[{NUMERAL_CHARS}0-9]+))?(?=[\s　]|$)"
)
"""A line that opens an article: 第九条　…, 第二百一十九条之一 …."""

CASE_NO_RE = re.compile(
    r"[（(](?:19|20)\d{2}[）)]"
    rf"(?:[{CJK}0-9A-Za-z]|[（(][{CJK}]{{1,2}}[）)]){{1,24}}?"
    r"\d+\s?号"
)
"""A Chinese case number: （2013）民申字第1643号, (2019)最高法知民终1号, (2014)一中行(知)初字第9163号."""

_HEADING_MARK = re.compile(r"^#{1,6}\s*")
_BLANK_RUN = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")


def clean_text(text: str) -> str:
    """Normalise line endings and entities; keep the legal wording untouched.

    Dataset texts still carry HTML entities (``&ldquo;``) and ``\\r\\n``; both would
    otherwise leak into snippets and break phrase matching.
    """
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_RUN.sub("\n\n", text)
    return text.strip()


def plain_markdown(text: str) -> str:
    """The text a reader sees: Markdown heading marks and HTML comments (``<!-- INFO END -->``) removed.

    Parsers read structure from the marks first; the stored text drops them so that
    snippets and highlights show 第一章 总则, not ``## 第一章 总则``.
    """
    text = re.sub(r"^[ \t]*<!--.*?-->[ \t]*$\n?", "", text, flags=re.M)
    text = re.sub(r"^#{1,6}[ \t]+", "", text, flags=re.M)
    return _BLANK_RUN.sub("\n\n", text).strip()


def lines_of(text: str) -> list[str]:
    """Non-empty stripped lines (one paragraph per line in every format we read)."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def strip_heading(line: str) -> str:
    """``## 第一章 总则`` → ``第一章 总则``."""
    return _HEADING_MARK.sub("", line).strip()


def is_markdown_heading(line: str) -> bool:
    return bool(_HEADING_MARK.match(line))


def front_matter(raw: RawDoc) -> Mapping[str, Any]:
    fm = raw.meta.get("front_matter") if raw.meta else None
    return fm if isinstance(fm, Mapping) else {}


def record(raw: RawDoc) -> Mapping[str, Any]:
    return raw.record if isinstance(raw.record, Mapping) else {}


def fields(raw: RawDoc) -> Mapping[str, Any]:
    """Front matter and record merged (record wins): the structured facts a file gives."""
    return {**front_matter(raw), **record(raw)}


def text_field(value: Any) -> str | None:
    """A non-empty string, or None (YAML may give dates or numbers)."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def require_text(raw: RawDoc) -> str:
    """The cleaned text, or EmptyDocumentError when nothing usable is left."""
    text = clean_text(raw.text or "")
    if not re.search(rf"[{CJK}A-Za-z0-9]", text):
        raise EmptyDocumentError(raw.name, "no text to parse")
    return text


def text_hash_id(text: str) -> str:
    return "doc-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def provenance(raw: RawDoc) -> str:
    """One line saying where a document came from: ``repo@commit:path`` or the file path."""
    info = fields(raw)
    src = info.get("source")
    repo = info.get("source_repository")
    commit = info.get("source_commit")
    path = info.get("source_path")
    if isinstance(src, Mapping):
        repo = repo or src.get("repository") or src.get("dataset")
        commit = commit or src.get("commit")
        path = path or src.get("path") or _first_item_path(src.get("items"))
    if repo:
        out = str(repo)
        if commit:
            out += f"@{commit}"
        if path:
            out += f":{path}"
        return out
    if isinstance(src, str) and src.strip():
        return src.strip()
    return raw.path + (f" {raw.locator}" if raw.locator else "")


def _first_item_path(items: Any) -> str | None:
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0].get("path")
    return None


def file_stem(raw: RawDoc) -> str:
    return PurePath(raw.path).stem if raw.path else ""


def iso_date(value: Any) -> str | None:
    """``2019-04-23`` / ``2013年11月8日`` / ``二〇一三年十二月二十日`` → ISO date."""
    if value is None:
        return None
    return chinese_date_to_iso(str(value))


def date_in_file_name(raw: RawDoc) -> str | None:
    match = re.search(r"[（(](\d{4}-\d{2}-\d{2})[）)]", file_stem(raw))
    return match.group(1) if match else None


def number_of(numeral: str) -> int | None:
    try:
        return chinese_to_int(numeral)
    except ValueError:
        return None


def as_list(value: Any) -> list[str]:
    """A record field that should be a list of strings (tolerates one string or None)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def make_section(kind: str, title: str, text: str, anchor: str, **kw: Any) -> Section | None:
    """A Section, or None when its text is empty (empty sections are dropped)."""
    text = text.strip()
    if not text:
        return None
    return Section(kind=kind, title=title, text=text, anchor=anchor, **kw)


def unique_anchors(sections: Iterable[Section | None]) -> tuple[Section, ...]:
    """Drop Nones and make anchors unique (``facts``, ``facts-2``) in document order."""
    seen: dict[str, int] = {}
    out: list[Section] = []
    for sec in sections:
        if sec is None:
            continue
        count = seen.get(sec.anchor, 0) + 1
        seen[sec.anchor] = count
        if count > 1:
            sec = Section(kind=sec.kind, title=sec.title, text=sec.text, anchor=f"{sec.anchor}-{count}",
                          path=sec.path, number=sec.number)
        out.append(sec)
    return tuple(out)


def court_case_numbers(text: str) -> list[str]:
    """Every case number in order of appearance, spaces removed, de-duplicated."""
    out: list[str] = []
    for match in CASE_NO_RE.finditer(text):
        number = re.sub(r"\s", "", match.group(0))
        if number not in out:
            out.append(number)
    return out


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return tuple(out)
