"""The query language, parsed into a small tree. Pure: no Whoosh, no jieba.

What users type::

    商业秘密 合理保密措施                 plain words (the backend ANDs them)
    "商标侵权" “在先使用”               phrases (ASCII or full-width quotes)
    title:乔丹  标题:乔丹                 a field (English or Chinese name)
    type:司法解释  法条:反不正当竞争法#9  statute:专利法第11条   year:2019-2021
    商标 OR 专利   商标 或 专利            boolean operators AND/OR/NOT and 且/或/非
    -刑事  NOT 刑事                        exclusion
    (商标 OR 专利) AND 赔偿               grouping, with ASCII or full-width parentheses

Operators are recognised only as separate words (或 inside 或者 is text). Unknown
fields (``foo:bar``), unbalanced quotes or parentheses and dangling operators fall
back to plain text: parsing never raises on user input. A long text without
operators or fields (a pasted case description) is flagged ``is_long`` so that the
backend searches its discriminative terms instead of an OR of every word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Union

from .models import AUTHORITY_TIERS, DOC_TYPES, IP_CATEGORIES, STATUSES

LONG_QUERY_CHARS = 60
"""A query longer than this (non-space characters) with no operators or fields is long."""

MAX_DEPTH = 16
"""Parentheses nested deeper than this are read as plain text (no recursion blow-up)."""

TEXT_FIELDS = frozenset({"title", "cause"})
"""Fields whose values are analysed text; the others are exact values."""

DEFAULT_FIELDS: Mapping[str, str] = {
    "title": "title", "标题": "title",
    "type": "doc_type", "doc_type": "doc_type", "类型": "doc_type",
    "category": "ip_category", "ip_category": "ip_category", "类别": "ip_category", "分类": "ip_category",
    "court": "court", "法院": "court",
    "year": "year", "年份": "year", "年": "year",
    "cause": "cause", "案由": "cause",
    "statute": "statutes", "statutes": "statutes", "法条": "statutes",
    "status": "status", "状态": "status", "效力": "status",
    "authority": "authority", "权威": "authority", "层级": "authority",
    "case_no": "case_no", "案号": "case_no",
    "id": "id",
}
"""Field names users may type (lower-cased) -> canonical index field."""


# --- the tree ------------------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    """Plain text to analyse into terms; ``field`` None means every text field."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    """Quoted text whose words must be adjacent, in order."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class FieldValue:
    """An exact value of a non-text field (``doc_type``, ``year``, ``statutes`` …), as typed."""

    field: str
    value: str


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


Node = Union[Words, Phrase, FieldValue, And, Or, Not]


@dataclass(frozen=True)
class ParsedQuery:
    """The parse of one query string.

    ``root`` is None for an empty query. ``is_long`` asks the backend to search the
    text's discriminative terms, AND the exact-value ``restrictions`` found in it.
    ``explicit`` says operators or fields were used (the backend then does not relax
    AND to OR). ``notes`` explain fallbacks.
    """

    text: str
    root: Node | None
    is_long: bool = False
    explicit: bool = False
    restrictions: tuple[FieldValue, ...] = ()
    notes: tuple[str, ...] = field(default=())


# --- lexing ----------------------------------------------------------------------------

_OPEN_QUOTES = {'"': '"', "“": "”", "＂": "＂", "「": "」", "『": "』"}
_OPERATORS = {"AND": "AND", "&&": "AND", "且": "AND", "OR": "OR", "||": "OR", "或": "OR",
              "NOT": "NOT", "非": "NOT"}
_SPACE = re.compile(r"\s+")
_FIELD = re.compile(r"([A-Za-z_\u4e00-\u9fff]+)[:：](.*)\Z", re.S)


@dataclass(frozen=True)
class _Lex:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT MINUS
    text: str = ""
    field: str = ""


def _read_quoted(text: str, i: int) -> tuple[str | None, int]:
    """The phrase starting at the quote ``text[i]`` and the index after it; None if unclosed."""
    close = _OPEN_QUOTES[text[i]]
    end = text.find(close, i + 1)
    if end < 0 and close != '"':
        end = text.find('"', i + 1)  # “…" typed with mixed quotes
    if end < 0:
        return None, i + 1
    return text[i + 1:end], end + 1


def _lex(text: str, known: Mapping[str, str], notes: list[str]) -> Iterator[_Lex]:
    """Split the query into lexemes; anything odd becomes a WORD."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(（":
            yield _Lex("LPAREN")
            i += 1
        elif ch in ")）":
            yield _Lex("RPAREN")
            i += 1
        elif ch in _OPEN_QUOTES:
            phrase, i = _read_quoted(text, i)
            if phrase is None:
                notes.append("unbalanced quote read as plain text")
            elif phrase.strip():
                yield _Lex("PHRASE", phrase)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "()（）" and text[j] not in _OPEN_QUOTES:
                j += 1
            word = text[i:j]
            i = j
            yield from _lex_word(word, text, known, notes, i_after=i)
            if word.endswith((":", "：")) and i < n and text[i] in _OPEN_QUOTES:
                # field:"quoted value" -> the FIELD lexeme takes the phrase
                name = known.get(word[:-1].lstrip("-").lower())
                if name:
                    phrase, i = _read_quoted(text, i)
                    if phrase is None:
                        notes.append("unbalanced quote read as plain text")
                    elif phrase.strip():
                        yield _Lex("FIELD", phrase, name + "\x00phrase")


def _lex_word(word: str, text: str, known: Mapping[str, str], notes: list[str], *, i_after: int
              ) -> Iterator[_Lex]:
    op = _OPERATORS.get(word) if word.upper() == word else None
    if op:
        yield _Lex(op, word)
        return
    if word.startswith("-") and len(word) > 1:
        yield _Lex("MINUS")
        word = word[1:]
    m = _FIELD.match(word)
    if m:
        name = known.get(m.group(1).lower())
        value = m.group(2).strip()
        if name and value:
            yield _Lex("FIELD", value, name)
            return
        if name:  # "title:" followed by a quote, or nothing: handled by the caller / dropped
            followed_by_quote = i_after < len(text) and text[i_after] in _OPEN_QUOTES
            if not followed_by_quote:
                notes.append(f"empty field {m.group(1)!r} ignored")
            return
        notes.append(f"unknown field {m.group(1)!r} read as text")
    if word.strip("-"):
        yield _Lex("WORD", word)


# --- parsing -----------------------------------------------------------------------------

class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*; unary := NOT unary | atom."""

    def __init__(self, lexemes: list[_Lex], notes: list[str]):
        self.lx = lexemes
        self.i = 0
        self.notes = notes
        self.depth = 0

    def peek(self) -> _Lex | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def parse(self) -> Node | None:
        node = self.parse_or()
        while self.peek() is not None:  # stray ")" or operators at top level
            self.i += 1
            self.notes.append("unbalanced parenthesis ignored")
            more = self.parse_or()
            node = _and(node, more)
        return node

    def parse_or(self) -> Node | None:
        parts = [self.parse_and()]
        while (lx := self.peek()) is not None and lx.kind == "OR":
            self.i += 1
            parts.append(self.parse_and())
        kept = [p for p in parts if p is not None]
        if len(parts) > 1 and len(kept) < len(parts):
            self.notes.append("dangling OR ignored")
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def parse_and(self) -> Node | None:
        parts: list[Node] = []
        while (lx := self.peek()) is not None and lx.kind not in ("OR", "RPAREN"):
            if lx.kind == "AND":
                self.i += 1
                continue
            node = self.parse_unary()
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_unary(self) -> Node | None:
        negate = False
        while (lx := self.peek()) is not None and lx.kind in ("NOT", "MINUS"):
            self.i += 1
            negate = not negate
        lx = self.peek()
        if lx is None or lx.kind in ("OR", "AND", "RPAREN"):
            self.notes.append("dangling NOT ignored")
            return None
        child = self.parse_atom()
        if child is None or not negate:
            return child
        return child.child if isinstance(child, Not) else Not(child)

    def parse_atom(self) -> Node | None:
        lx = self.lx[self.i]
        self.i += 1
        if lx.kind == "WORD":
            return Words(lx.text)
        if lx.kind == "PHRASE":
            return Phrase(lx.text)
        if lx.kind == "FIELD":
            return _field_node(lx)
        if lx.kind == "LPAREN":
            if self.depth >= MAX_DEPTH:
                self.notes.append("parentheses nested too deep read as text")
                return None
            self.depth += 1
            node = self.parse_or()
            self.depth -= 1
            if (close := self.peek()) is not None and close.kind == "RPAREN":
                self.i += 1
            else:
                self.notes.append("unbalanced parenthesis ignored")
            return node
        return None  # a stray RPAREN/AND cannot reach here; be safe anyway


def _field_node(lx: _Lex) -> Node:
    name, _, how = lx.field.partition("\x00")
    if name in TEXT_FIELDS:
        return Phrase(lx.text, name) if how == "phrase" else Words(lx.text, name)
    return FieldValue(name, lx.text.strip())


def _and(a: Node | None, b: Node | None) -> Node | None:
    if a is None or b is None:
        return a if b is None else b
    left = a.children if isinstance(a, And) else (a,)
    right = b.children if isinstance(b, And) else (b,)
    return And(left + right)


HUGE_QUERY_CHARS = 500
"""Beyond this many word characters, operators are ignored and the text is searched as a
description (bounded work). Brackets, quotes and spaces do not count: they make no terms."""
_NOT_WORDS = re.compile(r"[\s()（）\"“”]")


def parse_query(text: str, *, known_fields: Mapping[str, str] = DEFAULT_FIELDS) -> ParsedQuery:
    """Parse user input into a :class:`ParsedQuery`. Never raises on any string.

    A long text (more than :data:`LONG_QUERY_CHARS` non-space characters) without
    boolean operators — or any text over :data:`HUGE_QUERY_CHARS`, operators or not, so
    that a pasted document cannot become thousands of terms — is a case description: ``root`` is the whole text as
    :class:`Words` with ``is_long``, and exact-value fields typed in it
    (``类型:裁判文书``) are kept in ``restrictions``.
    """
    text = text or ""
    notes: list[str] = []
    known = {k.lower(): v for k, v in known_fields.items()}
    lexemes = list(_lex(text, known, notes))
    has_ops = any(lx.kind in ("AND", "OR", "NOT", "MINUS") for lx in lexemes)
    has_fields = any(lx.kind == "FIELD" for lx in lexemes)
    notes = list(dict.fromkeys(notes))
    size = len(_SPACE.sub("", text))
    if has_ops and len(_NOT_WORDS.sub("", text)) > HUGE_QUERY_CHARS:
        notes.append(f"query longer than {HUGE_QUERY_CHARS} characters: operators ignored, "
                     "searched as a description")
        has_ops = False
    if size > LONG_QUERY_CHARS and not has_ops:
        fields = tuple(n for lx in lexemes if lx.kind == "FIELD"
                       and isinstance(n := _field_node(lx), FieldValue))
        return ParsedQuery(text, Words(text), is_long=True, explicit=bool(fields),
                           restrictions=fields, notes=tuple(notes))
    root = _Parser(lexemes, notes).parse()
    return ParsedQuery(text, root, is_long=False, explicit=has_ops or has_fields,
                       notes=tuple(dict.fromkeys(notes)))


# --- field values ---------------------------------------------------------------------------

_LABEL_TO_TYPE = {v: k for k, v in DOC_TYPES.items()}
_LABEL_TO_STATUS = {v: k for k, v in STATUSES.items()} | {"现行": "current", "有效": "current",
                                                          "已修订": "superseded", "失效": "repealed"}
_LABEL_TO_AUTHORITY = {v: str(k) for k, v in AUTHORITY_TIERS.items()} | {"指导案例": "1"}
_YEAR_RANGE = re.compile(r"(\d{4})\s*(?:-|–|~|～|\.\.|至|到)\s*(\d{4})\Z")


def normalize_doc_type(value: str) -> str:
    """``司法解释`` or ``interpretation`` -> ``interpretation``; unknown values unchanged."""
    v = value.strip()
    return v.lower() if v.lower() in DOC_TYPES else _LABEL_TO_TYPE.get(v, v)


def normalize_status(value: str) -> str:
    v = value.strip()
    return v.lower() if v.lower() in STATUSES else _LABEL_TO_STATUS.get(v, v)


def normalize_authority(value: str) -> str:
    v = value.strip()
    return v if v in {"1", "2", "3"} else _LABEL_TO_AUTHORITY.get(v, v)


def normalize_category(value: str) -> str:
    v = value.strip()
    if v in IP_CATEGORIES:
        return v
    for cat in IP_CATEGORIES:  # "商标权" -> 商标, "专利权" -> 专利
        if v.startswith(cat):
            return cat
    return v


def year_range(value: str) -> tuple[int, int] | None:
    """``2019`` -> (2019, 2019); ``2019-2021`` / ``2019至2021`` -> (2019, 2021); else None."""
    v = value.strip().rstrip("年")
    if re.fullmatch(r"\d{4}", v):
        return int(v), int(v)
    m = _YEAR_RANGE.match(v)
    if m:
        lo, hi = sorted((int(m.group(1)), int(m.group(2))))
        return lo, hi
    return None


def normalize_statute(value: str) -> list[str]:
    """Keys of the ``statutes`` field a ``statute:`` value should match.

    ``反不正当竞争法#9``, ``专利法第11条`` and ``《中华人民共和国专利法》第十一条`` become
    ``反不正当竞争法#9`` / ``专利法#11``; a bare law name becomes its normalised name.
    Uses ``kb.citations`` when present; without it the raw value is searched.
    """
    raw = value.strip()
    if not raw:
        return []
    try:
        from .citations import normalize_law_name, parse_citation_label  # written in parallel
    except ImportError:
        return [raw]
    try:
        cite = parse_citation_label(raw)
    except Exception:  # a helper's bug must not break search  # noqa: BLE001
        cite = None
    if cite is not None and cite.law:
        return [cite.key]
    law, sep, anchor = raw.partition("#")
    try:
        name = normalize_law_name(law) or law
    except Exception:  # noqa: BLE001
        name = law
    return [f"{name}#{anchor.strip()}" if sep and anchor.strip() else name]
