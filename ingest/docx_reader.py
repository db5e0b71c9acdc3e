"""Word (.docx) reader: paragraphs and tables in document order, headings as ``#`` lines.

A .docx file is a ZIP archive, and ZIP archives can be built to unpack to
gigabytes ("zip bombs") or to hold hundreds of thousands of members. The
archive's directory is checked before python-docx opens anything; the sizes it
declares bound what :mod:`zipfile` will inflate, so the checks hold.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING, Iterator, Union

from kb.errors import CorruptFileError, EmptyDocumentError, EncryptedFileError
from ingest.textutil import normalise_text
from ingest.types import RawDoc

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_CHECK_MIN_BYTES = 64 * 1024
"""Members smaller than this are not ratio-checked: tiny XML parts compress very well."""

ZIP_BOMB_REASON = "archive too large when unpacked (zip bomb?)"
NOT_WORD_REASON = "not a Word document"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def heading_level(style_name: str | None) -> int | None:
    """1–9 for heading styles ("Heading 2", "heading 2", "标题 2"; "Title" is 1), else None."""
    if not style_name:
        return None
    name = style_name.strip()
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    return 1 if name.lower() in _TITLE_STYLES else None


def check_archive(data: bytes, path: str) -> None:
    """Refuse anything that is not a safe-to-open Word archive, with the specific reason."""
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise EncryptedFileError(path, "encrypted Word document (password required)")
        raise CorruptFileError(path, "legacy Word 97-2003 (.doc) file; save it as .docx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CorruptFileError(path, f"{NOT_WORD_REASON} (not a ZIP archive)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise CorruptFileError(path, ZIP_BOMB_REASON)
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise CorruptFileError(path, ZIP_BOMB_REASON)
        for member in members:
            if member.file_size >= RATIO_CHECK_MIN_BYTES and (
                member.file_size > MAX_RATIO * max(member.compress_size, 1)
            ):
                raise CorruptFileError(path, ZIP_BOMB_REASON)
        if "word/document.xml" not in archive.namelist():
            raise CorruptFileError(path, f"{NOT_WORD_REASON} (no word/document.xml)")


def _iter_blocks(parent_element, parent) -> Iterator[Union["Paragraph", "Table"]]:
    """Paragraphs and tables in document order, looking inside content controls (w:sdt)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in parent_element.iterchildren():
        if child.tag == f"{_W}p":
            yield Paragraph(child, parent)
        elif child.tag == f"{_W}tbl":
            yield Table(child, parent)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _iter_blocks(content, parent)


def _paragraph_line(paragraph: Paragraph) -> str:
    text = paragraph.text.strip()
    if not text:
        return ""
    try:
        style_name = paragraph.style.name if paragraph.style is not None else None
    except (KeyError, ValueError):  # a style id missing from styles.xml
        style_name = None
    level = heading_level(style_name)
    return f"{'#' * level} {text}" if level else text


def table_lines(table: Table) -> list[str]:
    """One line per row, cells separated by tabs; merged cells appear once per row."""
    lines = []
    for row in table.rows:
        cells, seen = [], None
        for cell in row.cells:
            if cell._tc is seen:  # a horizontally merged cell repeats in row.cells
                continue
            seen = cell._tc
            cells.append(" ".join(cell.text.split("\n")).strip())
        if any(cells):
            lines.append("\t".join(cells))
    return lines


def _document_lines(document: Document) -> list[str]:
    from docx.table import Table

    lines: list[str] = []
    for block in _iter_blocks(document.element.body, document._body):
        if isinstance(block, Table):
            lines.extend(table_lines(block))
        else:
            line = _paragraph_line(block)
            if line:
                lines.append(line)
    return lines


def read_docx(data: bytes, path: str) -> RawDoc:
    """Read a .docx file held in memory; ``path`` is only used in messages and in the RawDoc."""
    check_archive(data, path)
    import docx  # deferred: python-docx (and lxml) only when a .docx arrives

    try:
        document = docx.Document(io.BytesIO(data))
        lines = _document_lines(document)
        title = (document.core_properties.title or "").strip()
    except MemoryError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on damaged parts
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise CorruptFileError(path, f"damaged Word document ({detail})") from exc
    text = normalise_text("\n".join(lines))
    if not text.strip():
        raise EmptyDocumentError(path, "Word document has no text")
    meta = {"title": title} if title else {}
    return RawDoc(text=text, path=path, fmt="docx", meta=meta)
