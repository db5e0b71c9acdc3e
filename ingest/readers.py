"""Readers: the only code in ipkb that touches input files.

``read_path``/``read_bytes`` turn one file into :class:`ingest.types.ReadResult`:
the good records as :class:`RawDoc` and one error per bad record. A file that is
unusable as a whole raises a :class:`kb.errors.InputError` subclass naming the
file and a specific reason, so that a batch can report it and go on.

Memory stays bounded: the size is checked with ``stat`` before anything is
read, no more than ``max_bytes`` is ever read, and JSON Lines files are read
line by line. Plain text, Markdown, JSON and HTML live here; PDF and Word have
their own modules (:mod:`ingest.pdf`, :mod:`ingest.docx_reader`).
"""
from __future__ import annotations

import datetime
import io
import json
import logging
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from kb.formats import SUPPORTED_SUFFIXES  # re-exported: the readers' public list
from kb.errors import (
    CorruptFileError,
    EmptyDocumentError,
    FileTooLargeError,
    InputError,
    UnsupportedFormatError,
)
from ingest.docx_reader import read_docx
from ingest.pdf import read_pdf
from ingest.textutil import decode_text, has_text, json_depth_exceeds, normalise_text
from ingest.types import RawDoc, ReadResult

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_JSON_DEPTH = 100


TEXT_FIELDS: tuple[str, ...] = (
    "text", "full_text", "content", "context", "evidence_text", "fact", "query", "body",
)
"""Fields tried, in order, for a JSON record's main text (the first non-empty string wins)."""

_NO_TEXT_FIELD = f"no text field ({', '.join(TEXT_FIELDS)})"
_JSON_TOO_DEEP = f"JSON nesting deeper than {MAX_JSON_DEPTH} levels"
_GREW_REASON = "file grew past the {:,}-byte limit while being read"


# --- finding files ------------------------------------------------------------------

FOLDER_NOTES = frozenset({"README.MD", "README.TXT", "PROVENANCE.MD", "LICENSE.MD", "LICENSE.TXT"})
"""Notes about a folder (corpus/README.md, corpus/PROVENANCE.md), not documents: skipped when
walking a directory, read when named explicitly."""


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files to ingest: named files as given, directories walked in sorted order.

    A directory yields its own files in name order (code-point order, the same
    on every machine), then each subdirectory's, depth first. Inside
    directories, hidden entries (name starting with ".") and files with
    unsupported suffixes are skipped, so are the folder notes in
    :data:`FOLDER_NOTES`, symbolic links to directories are not
    followed (no cycles), and an unreadable subdirectory is logged and skipped.
    A path named explicitly is always yielded, whatever its suffix and even if
    it does not exist, so that :func:`read_path` reports it.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(root: Path) -> Iterator[Path]:
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
        except OSError as exc:
            log.warning("cannot list %s: %s", directory, exc.strerror or exc)
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name.upper() in FOLDER_NOTES:
                continue
            if entry.is_dir():
                if not entry.is_symlink():
                    subdirs.append(entry)
            elif entry.suffix.lower() in SUPPORTED_SUFFIXES and entry.is_file():
                yield entry
        stack.extend(reversed(subdirs))


# --- entry points --------------------------------------------------------------------

def read_path(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Read one file. Raises an ``InputError`` subclass when the file as a whole is unusable.

    The size limit is checked with ``stat`` before reading; the file is then read
    with a cap of ``max_bytes`` (it may have grown since). Not-found, permission
    and not-a-regular-file problems raise :class:`InputError` itself.
    """
    name = str(path)
    suffix = _check_suffix(name)
    size = _regular_file_size(name)
    _check_size(name, size, max_bytes)
    try:
        with open(name, "rb") as handle:
            if suffix == ".jsonl":
                return _read_jsonl(_capped_lines(handle, name, max_bytes), name)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(name, f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise FileTooLargeError(name, _GREW_REASON.format(max_bytes))
    return _dispatch(data, name, suffix)


def read_bytes(data: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Read a file held in memory (an upload); ``name`` picks the format and appears in messages."""
    suffix = _check_suffix(name)
    _check_size(name, len(data), max_bytes)
    return _dispatch(data, name, suffix)


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        what = f"unsupported file type '{suffix}'" if suffix else "no file extension"
        raise UnsupportedFormatError(name, f"{what}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return suffix


def _regular_file_size(name: str) -> int:
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except PermissionError:
        raise InputError(name, "permission denied") from None
    except OSError as exc:
        raise InputError(name, f"cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(name, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(name, "not a regular file")
    return info.st_size


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise FileTooLargeError(name, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
    if size == 0:
        raise EmptyDocumentError(name, "empty file")


def _capped_lines(handle: io.BufferedReader, name: str, max_bytes: int) -> Iterator[bytes]:
    """The file's lines, raising FileTooLargeError if together they pass ``max_bytes``."""
    total = 0
    while True:
        line = handle.readline(max_bytes + 1 - total)
        if not line:
            return
        total += len(line)
        if total > max_bytes:
            raise FileTooLargeError(name, _GREW_REASON.format(max_bytes))
        yield line


def _dispatch(data: bytes, name: str, suffix: str) -> ReadResult:
    if suffix == ".json":
        return _read_json(data, name)
    if suffix == ".jsonl":
        return _read_jsonl(iter(io.BytesIO(data)), name)
    return ReadResult(docs=(_SINGLE_DOC_READERS[suffix](data, name),))


# --- plain text and Markdown -----------------------------------------------------------

def _read_txt(data: bytes, name: str) -> RawDoc:
    text, encoding = decode_text(data, name)
    text = normalise_text(text)
    if not has_text(text):
        raise EmptyDocumentError(name, "no text (only whitespace)")
    return RawDoc(text=text, path=name, fmt="txt", meta={"encoding": encoding})


_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?:(.*?)\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any] | None, str]:
    """Split YAML front matter (``---`` … ``---`` at the very start) from Markdown text.

    Returns ``(front_matter or None, body)``. Raises ``CorruptFileError`` when the
    front matter is unterminated, does not parse, uses aliases (``&a``/``*a``,
    refused so that a small header cannot expand into a huge structure), or is
    not a mapping.
    """
    if not _FRONT_MATTER_OPEN.match(text):
        return None, text
    match = _FRONT_MATTER.match(text)
    if not match:
        raise CorruptFileError(name, "YAML front matter has no closing '---' line")
    return _parse_front_matter(match.group(1) or "", name), text[match.end():]


def _parse_front_matter(source: str, name: str) -> dict[str, Any]:
    import yaml  # deferred: only Markdown with front matter needs it

    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(source, Loader=yaml.SafeLoader)):
            raise CorruptFileError(name, "YAML front matter uses aliases (*name), which are not allowed")
        value = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise CorruptFileError(name, f"YAML front matter does not parse ({_yaml_problem(exc)})") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CorruptFileError(name, f"YAML front matter is not a mapping (got {type(value).__name__})")
    return _json_safe(value)


def _json_safe(value: Any) -> Any:
    """YAML dates and times become ISO strings and keys strings, so meta stays JSON-serialisable."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):  # !!binary
        return value.decode("utf-8", "replace")
    return value


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} at line {mark.line + 2}"  # +1 for 0-based, +1 for the opening ---
    return problem


def _read_markdown(data: bytes, name: str) -> RawDoc:
    text, encoding = decode_text(data, name)
    text = normalise_text(text)
    front_matter, body = split_front_matter(text, name)
    body = body.strip("\n")
    if not has_text(body):
        what = "only YAML front matter" if front_matter is not None else "only whitespace"
        raise EmptyDocumentError(name, f"no text ({what})")
    meta: dict[str, Any] = {"encoding": encoding}
    if front_matter is not None:
        meta["front_matter"] = front_matter
    return RawDoc(text=body, path=name, fmt="md", meta=meta)


# --- JSON and JSON Lines ---------------------------------------------------------------

def record_text(record: Mapping[str, Any]) -> str | None:
    """A record's main text: the first non-empty string among :data:`TEXT_FIELDS`, normalised."""
    for key in TEXT_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and has_text(value):
            return normalise_text(value)
    return None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _record(value: Any, name: str, locator: str, fmt: str) -> RawDoc | InputError:
    """A RawDoc for one JSON value, or the error that says why that record is unusable."""
    label = f"record {locator}" if fmt == "json" else locator
    if not isinstance(value, dict):
        return CorruptFileError(name, f"{label}: not a JSON object (got {_json_type(value)})")
    text = record_text(value)
    if text is None:
        return EmptyDocumentError(name, f"{label}: {_NO_TEXT_FIELD}")
    return RawDoc(text=text, path=name, fmt=fmt, locator=locator, record=value)


def _json_error(exc: ValueError) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).splitlines()[0]


def _read_json(data: bytes, name: str) -> ReadResult:
    text, _ = decode_text(data, name)
    if not has_text(text):
        raise EmptyDocumentError(name, "no text (only whitespace)")
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise CorruptFileError(name, _JSON_TOO_DEEP)
    try:
        value = json.loads(text)
    except RecursionError:
        raise CorruptFileError(name, _JSON_TOO_DEEP) from None
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        hint = "; one record per line is JSON Lines: name the file .jsonl" if _json_error(exc) == "Extra data" else ""
        raise CorruptFileError(name, f"invalid JSON ({_json_error(exc)}{where}){hint}") from None
    if isinstance(value, dict):  # one record: without text the whole file is unusable
        text = record_text(value)
        if text is None:
            raise EmptyDocumentError(name, _NO_TEXT_FIELD)
        return ReadResult(docs=(RawDoc(text=text, path=name, fmt="json", record=value),))
    if not isinstance(value, list):
        raise CorruptFileError(name, f"JSON top level is a {_json_type(value)}, not an object or a list")
    if not value:
        raise EmptyDocumentError(name, "JSON list holds no records")
    return _collect(_record(element, name, f"[{i}]", "json") for i, element in enumerate(value))


def _read_jsonl(lines: Iterator[bytes], name: str) -> ReadResult:
    def records() -> Iterator[RawDoc | InputError]:
        for number, raw in enumerate(lines, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            yield _jsonl_record(raw, name, number)

    result = _collect(records())
    if not result.docs and not result.errors:
        raise EmptyDocumentError(name, "no records (only blank lines)")
    return result


def _jsonl_record(raw: bytes, name: str, number: int) -> RawDoc | InputError:
    where = f"line {number}"
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return CorruptFileError(name, f"{where}: not valid UTF-8")
    if json_depth_exceeds(line, MAX_JSON_DEPTH):
        return CorruptFileError(name, f"{where}: {_JSON_TOO_DEEP}")
    try:
        value = json.loads(line)
    except RecursionError:
        return CorruptFileError(name, f"{where}: {_JSON_TOO_DEEP}")
    except ValueError as exc:
        return CorruptFileError(name, f"{where}: invalid JSON ({_json_error(exc)})")
    return _record(value, name, where, "jsonl")


def _collect(results: Iterable[RawDoc | InputError]) -> ReadResult:
    docs, errors = [], []
    for item in results:
        (errors if isinstance(item, InputError) else docs).append(item)
    return ReadResult(docs=tuple(docs), errors=tuple(errors))


# --- HTML ---------------------------------------------------------------------------------

_DROPPED_TAGS = frozenset({"script", "style", "nav", "noscript", "template", "svg"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "table", "tbody",
    "thead", "tfoot", "tr", "ul",
})
_CELL_TAGS = frozenset({"td", "th"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_HTML_SPACE = re.compile(r"[ \t\n\r\f\xa0]+")


class _TextExtractor(HTMLParser):
    """Collects visible text: blocks become lines, cells tabs, headings ``#`` lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._dropped = 0
        self._in_title = False
        self._pre = 0
        self._cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag in _HEADINGS:
                self.parts.append("#" * _HEADINGS[tag] + " ")
            if tag == "pre":
                self._pre += 1
            if tag == "tr":
                self._cells_in_row = 0
        elif tag in _CELL_TAGS:
            if self._cells_in_row:
                self.parts.append("\t")
            self._cells_in_row += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:  # <br/>, <hr/>
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self._dropped = max(0, self._dropped - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        if self._in_title:
            self.title_parts.append(data)
        elif self._pre:
            self.parts.append(data)
        else:
            self.parts.append(_HTML_SPACE.sub(" ", data))

    def text(self) -> str:
        lines = "".join(self.parts).split("\n")
        kept = [re.sub(r" *\t *", "\t", line.strip(" ")) for line in lines]
        return "\n".join(line for line in kept if line.strip() and line.strip("# "))

    def title(self) -> str:
        return _HTML_SPACE.sub(" ", "".join(self.title_parts)).strip()


def _escape_unclosed_tail(html: str) -> str:
    """Escape every ``<`` after the last ``>``: no tag can close there.

    CPython's html.parser before 3.11.13 (CVE-2025-6069) rescans to the end of the
    input for each such ``<``, which makes ``"</" * n`` take quadratic time.
    """
    last = html.rfind(">")
    return html[: last + 1] + html[last + 1:].replace("<", "&lt;")


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML document (scripts, styles and navigation dropped)."""
    extractor = _TextExtractor()
    extractor.feed(_escape_unclosed_tail(html))
    extractor.close()
    return extractor.text(), extractor.title()


def _read_html(data: bytes, name: str) -> RawDoc:
    declared = _META_CHARSET.search(data[:4096])
    charset = declared.group(1).decode("ascii") if declared else None
    html, encoding = decode_text(data, name, declared=charset)
    try:
        text, title = html_to_text(html)
    except (AssertionError, ValueError) as exc:  # html.parser gives up on some broken markup
        detail = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise CorruptFileError(name, f"malformed HTML ({detail})") from None
    text = normalise_text(text)
    if not has_text(text):
        raise EmptyDocumentError(name, "no visible text in HTML")
    meta: dict[str, Any] = {"encoding": encoding}
    if title:
        meta["title"] = title
    return RawDoc(text=text, path=name, fmt="html", meta=meta)


# --- dispatch -------------------------------------------------------------------------------

_SINGLE_DOC_READERS: dict[str, Callable[[bytes, str], RawDoc]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
