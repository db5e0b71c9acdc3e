"""Turn what a judge pastes or uploads into a query case for similar-case search.

An uploaded judgment goes through the same readers and parsers as the corpus, so
its facts, cause of action and cited articles are used. Pasted text that does not
look like a judgment is treated as a description of facts: the whole text is the
facts section, and its citations, IP categories and cause are still extracted.
"""
from __future__ import annotations

import re
from pathlib import Path

from kb.citations import extract_citations
from kb.errors import EmptyDocumentError, InputError
from kb.models import CASE_TYPES, Document, Passage, Section, content_hash
from kb.similar import QUERY_KINDS
from kb.taxonomy import classify_ip

from .chunking import chunk
from .parsers import parse
from .readers import DEFAULT_MAX_BYTES, read_bytes, read_path
from .types import RawDoc

QUERY_ID = "query"
_CAUSE = re.compile(r"([\u4e00-\u9fff、]{2,24}?(?:纠纷|罪))")


def query_from_text(text: str, *, name: str = "<粘贴的案情>") -> tuple[Document, list[Passage]]:
    text = (text or "").strip()
    if not text:
        raise EmptyDocumentError(name, "the case description is empty")
    return _as_query(RawDoc(text=text, path=name, fmt="txt"))


def query_from_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Document, list[Passage]]:
    return _first(read_path(path, max_bytes=max_bytes), str(path))


def query_from_bytes(data: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Document, list[Passage]]:
    return _first(read_bytes(data, name, max_bytes=max_bytes), name)


def _first(result, name: str) -> tuple[Document, list[Passage]]:
    if not result.docs:
        if result.errors:
            raise result.errors[0]
        raise EmptyDocumentError(name, "no document found in the file")
    return _as_query(result.docs[0])


def _as_query(raw: RawDoc) -> tuple[Document, list[Passage]]:
    try:
        doc = parse(raw)
    except InputError:
        doc = None
    if doc is None or doc.doc_type not in CASE_TYPES or not _mostly_described(doc):
        doc = facts_document(raw.text)
    return doc, chunk(doc)


def _mostly_described(doc: Document) -> bool:
    """Whether the parser found the describing parts (facts, claims, reasoning …) of most of
    the text. A bare fact description (被告人…驾驶…) has no court header, and the judgment
    parser would file most of it as a header, which is neither embedded nor searched."""
    described = sum(len(s.text) for s in doc.sections if s.kind in QUERY_KINDS)
    return 2 * described >= len(doc.text)


def facts_document(text: str) -> Document:
    """A query case made of a plain description of facts."""
    match = _CAUSE.search(text)
    cause = match.group(1) if match else None
    return Document(
        id=QUERY_ID, title="待检索案情", doc_type="judgment", text=text,
        sections=(Section(kind="facts", title="案情", text=text, anchor="facts"),),
        ip_categories=classify_ip("", text, hints=[cause] if cause else ()),
        citations=extract_citations(text), cause=cause,
        source="用户输入", extra={"query_hash": content_hash(text)})
