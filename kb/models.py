"""The data that flows through ipkb: documents, sections, citations, passages, hits.

Everything here is a frozen dataclass with a stable string id. Whoosh document
numbers and vector row numbers never leave the backends; callers only ever see
these ids.

Id conventions (stable across rebuilds because they come from the content):
- statute / interpretation / regulation: ``{law_name}({version})``, e.g. ``反不正当竞争法(2019)``;
  an article is addressed ``反不正当竞争法(2019)#9``.
- SPC guiding case: ``指导案例{n}号``.
- judgment with a case number: the case number, e.g. ``（2013）民申字第1643号``.
- records from a dataset keep the dataset's id (``cail2018-sihuajian-test-00000``).
- anything else: ``doc-{sha1(text)[:12]}``.
A passage is ``{doc_id}#{anchor}``; long sections are windowed as ``{doc_id}#{anchor}~{n}``.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

# --- vocabularies -----------------------------------------------------------

DOC_TYPES: dict[str, str] = {
    "statute": "法律",
    "regulation": "行政法规",
    "interpretation": "司法解释",
    "local_regulation": "地方性法规",
    "rule": "部门规章",
    "guiding_case": "指导性案例",
    "judgment": "裁判文书",
    "policy": "政策文件",
    "guideline": "指引",
}
"""Document type codes and their Chinese labels (labels are accepted as input too)."""

LEGAL_TEXT_TYPES = frozenset({"statute", "regulation", "interpretation", "local_regulation", "rule"})
CASE_TYPES = frozenset({"guiding_case", "judgment"})

IP_CATEGORIES: tuple[str, ...] = (
    "专利", "商标", "著作权", "商业秘密", "不正当竞争", "植物新品种",
    "集成电路布图设计", "垄断", "地理标志", "其他",
)

AUTHORITY_TIERS: dict[int, str] = {1: "指导性案例", 2: "公报/参考案例", 3: "其他裁判"}
"""Authority of a case, most binding first. Non-case documents have no tier."""

STATUSES: dict[str, str] = {"current": "现行有效", "superseded": "已被修订", "repealed": "已废止"}

SECTION_KINDS: dict[str, str] = {
    "header": "文书首部",
    "parties": "当事人",
    "keywords": "关键词",
    "gist": "裁判要点",
    "laws": "相关法条",
    "claims": "诉称",
    "defense": "辩称",
    "evidence": "证据",
    "facts": "查明事实",
    "reasoning": "本院认为",
    "result": "裁判结果",
    "tail": "文书尾部",
    "preamble": "序言",
    "article": "条",
    "item": "条目",
    "body": "正文",
}
"""Canonical section kinds. Parsers map 基本案情/经审理查明 to ``facts``, 裁判理由/本院认为 to ``reasoning``."""

MEANINGFUL_KINDS = frozenset({"gist", "facts", "claims", "defense", "evidence", "reasoning", "article", "item", "body", "preamble"})
"""Section kinds whose passages are embedded (they carry the meaning of a case or rule)."""


# --- citations ---------------------------------------------------------------

@dataclass(frozen=True)
class Citation:
    """A reference to an article of a law, normalised.

    ``law`` is the canonical short name (``反不正当竞争法``, ``专利法``, ``刑法``,
    ``商标法实施条例``; 《中华人民共和国…》 stripped). ``version`` is the year of the
    version when the text says so (``2019``), else ``None``. ``sub`` is N of an
    inserted article 第X条之N (刑法第二百一十九条之一 -> article 219, sub 1).
    """

    law: str
    article: int | None = None
    sub: int | None = None
    paragraph: int | None = None
    item: int | None = None
    version: str | None = None
    text: str = ""

    @property
    def key(self) -> str:
        """Article-level key used for overlap: ``反不正当竞争法#9`` (version-less)."""
        return f"{self.law}#{self.anchor}" if self.article else self.law

    @property
    def anchor(self) -> str:
        """The article's anchor inside the law's document: ``9``, or ``219-1`` for 第二百一十九条之一."""
        if not self.article:
            return ""
        return f"{self.article}-{self.sub}" if self.sub else str(self.article)

    @property
    def label(self) -> str:
        """Human label: ``反不正当竞争法第9条第1款``."""
        out = self.law
        if self.version:
            out += f"({self.version})"
        if self.article:
            out += f"第{self.article}条" + (f"之{self.sub}" if self.sub else "")
        if self.paragraph:
            out += f"第{self.paragraph}款"
        if self.item:
            out += f"第{self.item}项"
        return out


# --- documents ---------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """A part of a document: a judgment section, a guiding-case part, an article, a policy item.

    ``anchor`` is unique within the document and stable (``facts``, ``9`` for 第九条,
    ``219-1`` for 第二百一十九条之一, ``2.1.3`` for a policy item). ``path`` holds the
    enclosing headings (编/章/节). Articles keep their 款 as lines of ``text``.
    """

    kind: str
    title: str
    text: str
    anchor: str
    path: tuple[str, ...] = ()
    number: int | None = None


@dataclass(frozen=True)
class Document:
    """A parsed document, the unit of storage and of search results."""

    id: str
    title: str
    doc_type: str
    text: str
    sections: tuple[Section, ...] = ()
    ip_categories: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    authority: int | None = None
    status: str = "current"
    court: str | None = None
    case_no: str | None = None
    procedure: str | None = None
    cause: str | None = None
    parties: tuple[str, ...] = ()
    issuer: str | None = None
    date: str | None = None
    law_name: str | None = None
    version: str | None = None
    keywords: tuple[str, ...] = ()
    guiding_no: int | None = None
    source: str = ""
    source_path: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def year(self) -> int | None:
        if self.date and self.date[:4].isdigit():
            return int(self.date[:4])
        return None

    @property
    def ip_category(self) -> str:
        """The primary IP category (the first one)."""
        return self.ip_categories[0] if self.ip_categories else "其他"

    @property
    def doc_type_label(self) -> str:
        return DOC_TYPES.get(self.doc_type, self.doc_type)

    @property
    def content_hash(self) -> str:
        """Hash of the text and title: equal content under another name is a duplicate."""
        return content_hash(self.title + "\n" + self.text)

    def section(self, anchor: str) -> Section | None:
        for sec in self.sections:
            if sec.anchor == anchor:
                return sec
        return None

    def sections_of(self, *kinds: str) -> list[Section]:
        return [s for s in self.sections if s.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Document":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["sections"] = tuple(
            Section(**{**s, "path": tuple(s.get("path", ()))}) for s in data.get("sections", ())
        )
        kw["citations"] = tuple(Citation(**c) for c in data.get("citations", ()))
        for name in ("ip_categories", "parties", "keywords"):
            kw[name] = tuple(data.get(name, ()))
        kw["extra"] = dict(data.get("extra", {}))
        return cls(**kw)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to embed and to show side by side."""

    id: str
    doc_id: str
    anchor: str
    kind: str
    title: str
    text: str
    ordinal: int
    embed: bool = True


# --- queries and results --------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """Restrictions applied identically to the lexical and the vector side.

    Empty tuples mean "no restriction". Superseded and repealed texts are
    excluded unless ``include_superseded`` is set, so that the current version of
    a law is what a user finds by default.
    """

    doc_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    courts: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    authorities: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    include_superseded: bool = False

    def is_empty(self) -> bool:
        return not (self.doc_types or self.categories or self.courts or self.years
                    or self.authorities or self.statuses) and self.include_superseded


@dataclass(frozen=True)
class Highlight:
    """A passage of a hit with the query terms marked (``terms`` lists which)."""

    anchor: str
    title: str
    text: str
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One search result, at document level."""

    id: str
    title: str
    doc_type: str
    ip_categories: tuple[str, ...]
    score: float
    snippet: str = ""
    highlights: tuple[Highlight, ...] = ()
    authority: int | None = None
    status: str = "current"
    court: str | None = None
    year: int | None = None
    scores: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)

    @property
    def ip_category(self) -> str:
        return self.ip_categories[0] if self.ip_categories else "其他"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ip_category"] = self.ip_category
        out["doc_type_label"] = DOC_TYPES.get(self.doc_type, self.doc_type)
        out["scores"] = dict(self.scores)
        return out


@dataclass(frozen=True)
class SearchResult:
    """A page of hits plus the facet counts over all matching documents."""

    hits: tuple[Hit, ...]
    total: int
    facets: Mapping[str, Mapping[str, int]] = field(default_factory=dict, hash=False, compare=False)
    notes: tuple[str, ...] = ()


# --- similar-case results ------------------------------------------------------

@dataclass(frozen=True)
class PassagePair:
    """A passage of the query beside the passage of a case it matches best."""

    query_text: str
    doc_anchor: str
    doc_title: str
    doc_text: str
    shared_terms: tuple[str, ...]
    similarity: float


@dataclass(frozen=True)
class Reasons:
    """Why a case is similar, in the terms a lawyer checks.

    The four score parts are each in [0, 1]; ``SimilarHit.score`` is their
    weighted sum. ``shared_articles`` are citation labels cited by both the query
    and the case; ``superseded_articles`` those of them whose law version the case
    cites is no longer in force.
    """

    keyword: float = 0.0
    semantic: float = 0.0
    statute_overlap: float = 0.0
    authority: float = 0.0
    shared_articles: tuple[str, ...] = ()
    superseded_articles: tuple[str, ...] = ()
    shared_categories: tuple[str, ...] = ()
    shared_cause: str | None = None
    passage_pairs: tuple[PassagePair, ...] = ()


@dataclass(frozen=True)
class SimilarHit:
    """A document similar to a query case, with its reasons."""

    id: str
    title: str
    doc_type: str
    score: float
    reasons: Reasons
    ip_categories: tuple[str, ...] = ()
    authority: int | None = None
    cause: str | None = None
    court: str | None = None
    year: int | None = None
    status: str = "current"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["doc_type_label"] = DOC_TYPES.get(self.doc_type, self.doc_type)
        out["authority_label"] = AUTHORITY_TIERS.get(self.authority) if self.authority else None
        return out
