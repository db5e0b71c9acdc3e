"""From what a user types or a case cites to the statute text in the knowledge base.

A citation names a law and, sometimes, a version. The version in force matters:
反不正当竞争法 第九条 (2019) is the trade-secret article, but the 1993 text had it
as 第十条 and the 2025 revision renumbered again. So a citation resolves to the
version it names, else the version in force on the citing case's date, else the
current one, and says when what it found is not what was cited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DocumentNotFoundError
from .models import Citation, Document, Section

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase


@dataclass(frozen=True)
class ResolvedCitation:
    """Where a citation's text lives: document id and article anchor, with caveats."""

    citation: Citation
    doc_id: str | None
    anchor: str | None
    status: str | None
    note: str = ""

    @property
    def address(self) -> str | None:
        if not self.doc_id:
            return None
        return f"{self.doc_id}#{self.anchor}" if self.anchor else self.doc_id

    @property
    def superseded(self) -> bool:
        return self.status in ("superseded", "repealed")


def resolve_citation(kb: "KnowledgeBase", citation: Citation, *, at_date: str | None = None) -> ResolvedCitation:
    """Pick the version of the cited law that the citation means (see module doc)."""
    versions = kb.store.statutes(citation.law)  # (id, version, status, date), oldest first
    if not versions:
        return ResolvedCitation(citation, None, None, None, "该法律文本未收录")
    if citation.anchor:
        # a law split over several documents (民法典's books) shares a version: keep the
        # documents that hold the article, when any does
        holding = [v for v in versions if kb.store.get(v[0]).section(citation.anchor) is not None]
        versions = holding or versions
    chosen, note = None, ""
    if citation.version:
        chosen = next((v for v in versions if v[1] == citation.version), None)
        if chosen is None:
            note = f"所引{citation.version}年版本未收录，显示现行版本"
    if chosen is None and at_date:
        in_force = [v for v in versions if v[3] and v[3] <= at_date]
        if in_force:
            chosen = in_force[-1]
    if chosen is None:
        current = [v for v in versions if v[2] == "current"]
        chosen = (current or versions)[-1]
    doc_id, _, status, _ = chosen
    anchor = citation.anchor or None
    if anchor:
        doc = kb.store.get(doc_id)
        if doc.section(anchor) is None:
            note = (note + "；" if note else "") + f"该版本无第{citation.article}条"
            anchor = None
    if status != "current":
        note = (note + "；" if note else "") + "所引版本已被修订或废止"
    return ResolvedCitation(citation, doc_id, anchor, status, note)


def resolve_address(kb: "KnowledgeBase", address: str) -> tuple[Document, Section | None]:
    """``ID``, ``ID#anchor``, ``法名#9`` (current version) or ``专利法第十一条``."""
    address = address.strip()
    doc_id, _, anchor = address.partition("#")
    state = kb.store.state_of(doc_id)
    if state == 1:
        doc = kb.store.get(doc_id)
        return doc, _section(doc, anchor, address)
    from .citations import parse_citation_label
    citation = parse_citation_label(address)
    if citation is not None:
        found = resolve_citation(kb, citation)
        if found.doc_id:
            doc = kb.store.get(found.doc_id)
            return doc, _section(doc, citation.anchor, address) if citation.article else None
    raise DocumentNotFoundError(f"no document or article {address!r}")


def _section(doc: Document, anchor: str, address: str) -> Section | None:
    if not anchor:
        return None
    section = doc.section(anchor)
    if section is None:
        raise DocumentNotFoundError(f"{doc.id} has no section {anchor!r} ({address})")
    return section
