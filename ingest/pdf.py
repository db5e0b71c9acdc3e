"""PDF reader: born-digital PDFs to clean text with pypdf.

pypdf gives every printed line followed by ``\\n``, repeats running headers and
"第 N 页" footers inside the page text, and sometimes turns the U+3000 after
``第X条`` into ASCII spaces (stack-facts). This module undoes that so that the
parsers see paragraphs: it strips lines repeated at the top or bottom of most
pages and page-number lines, joins lines broken inside a paragraph, and puts
the full-width space back after article numbers.

It refuses, with a specific reason, PDFs it cannot read honestly: encrypted,
damaged, without a text layer (scans: OCR is not done here) and PDFs whose
fonts lack a Unicode map (the text would be garbage).
"""
from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from kb.errors import CorruptFileError, EncryptedFileError, NoTextLayerError
from ingest.textutil import is_mojibake, normalise_text
from ingest.types import RawDoc

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)

NO_TEXT_LAYER_REASON = "PDF has no text layer (scanned image?); OCR is not supported"
ENCRYPTED_REASON = "encrypted PDF"
DAMAGED_REASON = "truncated or damaged PDF"
MOJIBAKE_REASON = "text extraction gives unreadable characters (font without Unicode map)"

MIN_CHARS_PER_PAGE = 20
"""Fewer visible characters per page on average means a scan with stray text."""

_EDGE_LINES = 3
"""How many lines at the top and at the bottom of a page may be running headers/footers."""

_EOF_WINDOW = 1024

_CN_DIGITS = "零〇一二三四五六七八九十百千万两"
_PAGE_NUMBER = re.compile(
    r"""^(?:
        第\s*[\d{cn}]+\s*页(?:\s*[,，/／、]?\s*共\s*[\d{cn}]+\s*页)?   # 第 3 页 / 第3页 共10页
      | 共\s*\d+\s*页\s*[,，]?\s*第\s*\d+\s*页                         # 共10页 第3页
      | [-－—–]\s*\d+\s*[-－—–]                                        # - 3 -
      | \d+\s*[/／]\s*\d+                                              # 3/10
      | (?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?                       # Page 3 of 10
      | \d{{1,4}}                                                       # 3
    )$""".format(cn=_CN_DIGITS),
    re.IGNORECASE | re.VERBOSE,
)

_ARTICLE_HEAD = re.compile(
    rf"^(第[\d{_CN_DIGITS}]+[编章节条](?:之[{_CN_DIGITS}]+)?) +(?=\S)"
)
"""``第X条`` (or 编/章/节) at the start of a line followed by ASCII spaces pypdf made of U+3000."""

_CJK_GAP = re.compile("(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]) +(?=[\u3400-\u9fff])")
"""ASCII spaces between two CJK characters: a gap pypdf reports for U+3000 (关键词　民事)."""

_BARE_ARTICLE = re.compile(rf"^第[\d{_CN_DIGITS}]+[编章节条](?:之[{_CN_DIGITS}]+)?$")

_NEW_PARAGRAPH = re.compile(
    rf"""^(?:
        第[\d{_CN_DIGITS}]+[编章节条款项]           # 第三条
      | [{_CN_DIGITS}]+[、．.]                      # 一、
      | [（(](?:[{_CN_DIGITS}]+|\d{{1,2}})[）)]       # （一） (1), not （2011）
      | \d{{1,2}}[、．.](?!\d)                       # 1、 1.
      | [①-⑳■●◆□▲•※【]                           # bullets and 【 】 labels
    )""",
    re.VERBOSE,
)
"""Line starts that open an article or list item (used where a sentence has just ended)."""

_SENTENCE_END = tuple("。；：！？.!?;:」』”\"…")
"""A line ending in one of these ends its paragraph."""

_CLOSING_PUNCT = tuple("。，、；：！？）》」』”’,.;:!?)")
"""Characters that never start a paragraph: a line starting with one continues the previous."""

_FULL_LINE_SLACK = 4
"""A line within this many columns of the full width is "full" (wrapped, not ended)."""


# --- opening ---------------------------------------------------------------------

def _open(data: bytes, path: str) -> PdfReader:
    """A decrypted ``PdfReader`` or the specific error that says why not."""
    from pypdf import PdfReader  # deferred: pypdf is only needed when a PDF arrives
    from pypdf.errors import DependencyError

    if b"%PDF-" not in data[:1024]:
        raise CorruptFileError(path, "not a PDF (no %PDF header)")
    tail = data.rstrip(b"\x00 \t\r\n\f")[-_EOF_WINDOW:]
    if b"%%EOF" not in tail:
        raise CorruptFileError(path, f"{DAMAGED_REASON} (no %%EOF marker)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise EncryptedFileError(
                    path, f"{ENCRYPTED_REASON} (AES; opening it needs the 'cryptography' package)"
                ) from None
            if not opened:
                raise EncryptedFileError(path, f"{ENCRYPTED_REASON} (password required)")
        page_count = len(reader.pages)
    except (EncryptedFileError, MemoryError):
        raise
    except Exception as exc:  # pypdf raises many types on damaged input
        raise CorruptFileError(path, f"{DAMAGED_REASON} ({_short(exc)})") from exc
    if page_count == 0:
        raise CorruptFileError(path, f"{DAMAGED_REASON} (no pages)")
    return reader


def _short(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:120]


def _extract_pages(reader: PdfReader, path: str) -> list[str]:
    pages = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(page.extract_text(extraction_mode="plain") or "")
        except MemoryError:
            raise
        except Exception as exc:
            raise CorruptFileError(path, f"{DAMAGED_REASON} (page {number}: {_short(exc)})") from exc
    return pages


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a damaged Info dictionary must not sink a readable PDF
        log.debug("unreadable PDF metadata", exc_info=True)
        return None
    title = str(title).strip() if title else ""
    return title or None


# --- cleaning ---------------------------------------------------------------------

_PAGE_NUMBER_MAX_CHARS = 40
"""Page-number lines are short; longer lines are not matched (the pattern's nested
``\\s*`` would backtrack badly on a long run of spaces)."""


def is_page_number_line(line: str) -> bool:
    """True for lines that only carry a page number ("第 3 页", "- 3 -", "3/10", "Page 3 of 10", "3")."""
    line = line.strip()
    return len(line) <= _PAGE_NUMBER_MAX_CHARS and bool(_PAGE_NUMBER.match(line))


def _edge_key(line: str) -> str:
    """A line's identity for running-header detection: digits and spaces do not count."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _edge_indexes(lines: Sequence[str]) -> list[int]:
    """Indexes of the first and last few non-blank lines of a page."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def strip_running_lines(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """Remove running headers/footers and page-number lines from each page's lines.

    A running line is one whose key (spaces removed, digits generalised) occurs
    among the top or bottom lines of more than half of the pages (and of at
    least two). Page-number lines are removed at the edges of any page.
    """
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_edge_key(lines[i]) for i in _edge_indexes(lines)})
    needed = max(2, len(pages) // 2 + 1)
    running = {key for key, n in counts.items() if key and n >= needed}
    cleaned = []
    for lines in pages:
        drop = {
            i for i in _edge_indexes(lines)
            if is_page_number_line(lines[i]) or _edge_key(lines[i]) in running
        }
        cleaned.append([line for i, line in enumerate(lines) if i not in drop])
    return cleaned


def display_width(text: str) -> int:
    """Columns ``text`` takes in print: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _full_line_width(lines: Sequence[str]) -> int:
    """The width of a full (wrapped) line: the 90th percentile of line widths."""
    widths = sorted(display_width(line.rstrip()) for line in lines if line.strip())
    if not widths:
        return 0
    return widths[min(len(widths) - 1, int(len(widths) * 0.9))]


def _is_full(line: str, full_width: int) -> bool:
    """``line`` (indentation included: it takes room on the page) fills the line width."""
    return display_width(line.rstrip()) >= full_width - max(_FULL_LINE_SLACK, 0.06 * full_width)


def _starts_paragraph(raw: str | None) -> bool:
    """True for a line that certainly opens a paragraph: indented, a marker, blank, or no line."""
    if raw is None or not raw.strip():
        return True
    return raw[:1].isspace() or bool(_NEW_PARAGRAPH.match(raw.strip()))


def _is_standalone(raw: str, following: str | None, full_width: int) -> bool:
    """A short line without final punctuation before a new paragraph: a heading or label."""
    line = raw.strip()
    return (
        not _is_full(raw, full_width)
        and not line.endswith(_SENTENCE_END)
        and _starts_paragraph(following)
    )


@dataclass(frozen=True)
class _Layout:
    """What the joiner knows about a document's print: line width, paragraph indentation."""

    full_width: int
    indented: bool
    """Paragraphs start indented (U+3000 or spaces), so an unindented line continues one."""


def _layout(lines: Sequence[str]) -> _Layout:
    filled = [line for line in lines if line.strip()]
    indented = sum(1 for line in filled if line[:1].isspace())
    return _Layout(_full_line_width(filled), indented >= 2 and indented >= 0.05 * len(filled))


def _continues(paragraph: str, last_line: str, raw_next: str, following: str | None,
               layout: _Layout) -> bool:
    """Whether ``raw_next`` continues ``paragraph``, whose last printed line was ``last_line`` (raw)."""
    nxt = raw_next.strip()
    if not paragraph or not nxt or raw_next[:1].isspace():  # indented: a new paragraph
        return False
    if _BARE_ARTICLE.match(paragraph) and not _NEW_PARAGRAPH.match(nxt):
        return True  # 第十一条 / 发明和实用新型…: the number printed apart from its text
    if nxt.startswith(_CLOSING_PUNCT):  # 。 or ） cannot open a paragraph
        return True
    if not _is_full(last_line, layout.full_width) or _is_standalone(raw_next, following, layout.full_width):
        return False
    if paragraph.endswith(_SENTENCE_END):
        # A sentence may end exactly at the line's end; only indentation tells, where the
        # document indents its paragraphs and the next line is not a new article or item.
        return layout.indented and not _NEW_PARAGRAPH.match(nxt)
    first = nxt[0]
    return unicodedata.category(first)[0] in "LN" or first in "“‘《（(「"


def _is_wordish(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _glue(paragraph: str, line: str) -> str:
    if _BARE_ARTICLE.match(paragraph):
        return "\u3000"
    before, after = paragraph[-1], line[0]
    if _is_wordish(before) and _is_wordish(after) and not (before.isdigit() and after.isdigit()):
        return " "  # two Latin words; a number broken across lines joins without a space
    return ""


def join_broken_lines(lines: Sequence[str]) -> list[str]:
    """Join lines that pypdf broke inside a paragraph; return one string per paragraph.

    A line continues the previous one when the previous line is full width and
    does not end a sentence (。；：！？」” …), and the line is neither indented
    nor a short unpunctuated line standing before a new paragraph (a heading
    such as 裁判要点). Where the document indents its paragraphs, a line after
    a full line ending a sentence continues too, unless it opens an article or
    list item (第三条, 一、, （一）). A line starting with closing punctuation
    always continues. CJK joins without a space, two Latin words with one. A
    bare ``第X条`` line is joined to its text with the full-width space it had
    in print. Leading indentation, which only marks a paragraph start, is
    dropped.
    """
    layout = _layout(lines)
    paragraphs: list[str] = []
    last_line = ""
    for index, raw in enumerate(lines):
        line = raw.strip()
        following = lines[index + 1] if index + 1 < len(lines) else None
        if paragraphs and _continues(paragraphs[-1], last_line, raw, following, layout):
            paragraphs[-1] += _glue(paragraphs[-1], line) + line
        elif line:
            paragraphs.append(line)
        elif paragraphs and paragraphs[-1]:
            paragraphs.append("")  # a blank line ends the paragraph
        last_line = raw
    return [p for p in paragraphs if p]


def restore_article_space(line: str) -> str:
    """Put back the U+3000 that pypdf reported as ASCII spaces.

    ``第十一条  发明…`` → ``第十一条　发明…`` at the start of a line, whatever
    follows; elsewhere a run of spaces between two CJK characters
    (``关键词 民事 知识产权``) becomes one U+3000.
    """
    return _CJK_GAP.sub("\u3000", _ARTICLE_HEAD.sub("\\1\u3000", line))


def clean_pages(pages: Sequence[str]) -> str:
    """Raw page texts from pypdf → clean paragraphs separated by newlines."""
    page_lines = [normalise_text(page).split("\n") for page in pages]
    lines = [line for page in strip_running_lines(page_lines) for line in page]
    return "\n".join(restore_article_space(p) for p in join_broken_lines(lines))


# --- entry point -------------------------------------------------------------------

def read_pdf(data: bytes, path: str) -> RawDoc:
    """Read a PDF held in memory; ``path`` is only used in messages and in the RawDoc."""
    reader = _open(data, path)
    pages = _extract_pages(reader, path)
    visible = sum(len("".join(page.split())) for page in pages)
    if visible < MIN_CHARS_PER_PAGE * len(pages):
        raise NoTextLayerError(path, NO_TEXT_LAYER_REASON)
    if is_mojibake("".join(pages)):
        raise CorruptFileError(path, MOJIBAKE_REASON)
    text = clean_pages(pages)
    meta: dict[str, object] = {"pages": len(pages)}
    title = _metadata_title(reader)
    if title:
        meta["title"] = title
    if reader.is_encrypted:
        meta["encrypted"] = True  # opened with the empty user password
    return RawDoc(text=text, path=path, fmt="pdf", meta=meta)
