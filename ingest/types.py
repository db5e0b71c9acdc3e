"""What readers hand to parsers.

Readers are the only code that touches files; they return :class:`RawDoc`
records (text plus, for JSON inputs, the parsed record). Parsers are pure
functions from a ``RawDoc`` to a :class:`kb.models.Document`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kb.errors import InputError


@dataclass(frozen=True)
class RawDoc:
    """One document's raw content as read from a file.

    ``path`` is the file as the user named it; ``locator`` tells records of one
    file apart (``line 12`` of a JSONL file, ``[3]`` of a JSON list), empty for a
    single-document file. ``fmt`` is the reader that produced it (txt, md, json,
    jsonl, pdf, docx, html). ``record`` holds the JSON object for JSON inputs so
    that parsers can use structured fields; ``meta`` holds reader facts such as a
    Markdown file's YAML front matter or a PDF's page count.
    """

    text: str
    path: str
    fmt: str
    locator: str = ""
    record: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.path} {self.locator}".strip()


@dataclass(frozen=True)
class ReadResult:
    """Everything one file yielded: the good records and one error per bad record."""

    docs: tuple[RawDoc, ...]
    errors: tuple[InputError, ...] = ()
