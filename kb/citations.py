"""Statute citations: find them in text, normalise them, read user-typed labels.

A citation names a law and an article (第九条), optionally an inserted article
(第二百一十九条之一), a paragraph (第一款) and an item (第（二）项). Judgments and
guiding cases write them in many ways — 《中华人民共和国专利法》（2008年修正）第五十九条
第一款、第六十一条; 反垄断法第十七条第一款第五项之规定; 第二百一十三条至第二百一十九条之一 —
and similar-case search compares cases by the articles they cite, so every form must
end up as the same :class:`~kb.models.Citation`.

How the extractor reads a text (all pure functions, no state between calls):

1. Law mentions in 《》 (balanced, so 《最高人民法院关于适用〈…〉的解释》 is one name),
   with the parentheticals that follow them: a version (（2019年修正）, （法释〔2020〕7号）)
   or a short-name definition (（以下简称《商标法》）). A year written before the name
   (2000年修正的《…》, 2001年商标法) is a version too.
2. Reference chains: 第N条[之M][第N款][第N项] tokens standing next to each other.
3. For every chain, what stands right before it decides its law: a 《》 name, a bare
   law name (known names from ``kb/data/law_aliases.json``, interpretations by their
   issuer, else a cautious suffix heuristic), 本法/本条例… (the ``self_law``), 该法 (the
   last law named), a connector (、 和 及 ， 至) continuing a list, or an owner that is
   not a law (合同第一条, 判决第二项), which blocks it.
4. A bare 第X条 takes the last law named in the same sentence; with none, it takes
   ``self_law`` (inside a statute a bare reference means that statute), else it is
   not a citation. 款 and 项 never start a citation on their own (前款, 本条第二款).
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass
from typing import Iterable

from .models import Citation
from .numerals import DIGIT_CHARS, chinese_to_int
from .lawnames import (LAW_SUFFIXES, PRC as _PRC, VERSION_BODY as _VERSION_BODY, YEAR as _YEAR,
                       ascii_digits as _ascii_digits, clean_name as _clean_name, known_law_names,
                       law_table as _law_table, law_version, looks_like_law_name, normalize_law_name)

__all__ = [
    "extract_citations", "normalize_law_name", "parse_citation_label", "law_version",
    "looks_like_law_name", "known_law_names", "LAW_SUFFIXES",
]  # law names live in kb.lawnames and are re-exported here

# --- reference tokens --------------------------------------------------------------------

_CN_NUM = "零〇○一二两三四五六七八九十百千"
_NUM = rf"(?:[{DIGIT_CHARS}]+|[{_CN_NUM}]+)"
_NUM_LIST = rf"{_NUM}(?:、{_NUM})*"
_REF = re.compile(
    rf"第\s*(?:(?P<n>{_NUM_LIST})|[（(]\s*(?P<pn>{_NUM_LIST})\s*[）)])\s*"
    rf"(?P<u>[条款项])(?:之(?P<sub>{_NUM}))?"
)
_UNIT_RANK = {"条": 0, "款": 1, "项": 2}
_BAD_FOLLOWERS = {"条": ("件", "约定", "款"), "款": (), "项": ("目",)}
# 第一条件 / 第一条约定 (contracts) / 第一项目 are not references


@dataclass(frozen=True)
class _Ref:
    start: int
    end: int
    unit: str
    numbers: tuple[int, ...]
    sub: int | None


@dataclass(frozen=True)
class _Chain:
    """Adjacent references read as one: 第十七条第一款第五项."""

    start: int
    end: int
    refs: tuple[_Ref, ...]

    @property
    def head(self) -> str:
        return self.refs[0].unit


@dataclass
class _Mention:
    """A law named in the text; ``law`` is canonical, ``end`` includes its parentheticals."""

    start: int
    end: int
    law: str
    version: str | None
    raw: str
    bracketed: bool = True


def _refs(text: str) -> list[_Ref]:
    out: list[_Ref] = []
    for match in _REF.finditer(text):
        unit = match.group("u")
        if match.group("pn") and unit == "条":
            continue
        tail = text[match.end(): match.end() + 2]
        if not match.group("sub") and any(tail.startswith(bad) for bad in _BAD_FOLLOWERS[unit]):
            continue
        try:
            numbers = tuple(chinese_to_int(n) for n in (match.group("n") or match.group("pn")).split("、"))
            sub = chinese_to_int(match.group("sub")) if match.group("sub") else None
        except ValueError:
            continue
        if any(n <= 0 for n in numbers) or (sub is not None and sub <= 0):
            continue
        out.append(_Ref(match.start(), match.end(), unit, numbers, sub))
    return out


def _chains(text: str, refs: list[_Ref]) -> list[_Chain]:
    """Group adjacent references; a unit that does not go deeper (条→款→项) starts a new chain."""
    chains: list[_Chain] = []
    current: list[_Ref] = []
    for ref in refs:
        if current and not text[current[-1].end: ref.start].strip() \
                and _UNIT_RANK[ref.unit] > _UNIT_RANK[current[-1].unit]:
            current.append(ref)
            continue
        if current:
            chains.append(_Chain(current[0].start, current[-1].end, tuple(current)))
        current = [ref]
    if current:
        chains.append(_Chain(current[0].start, current[-1].end, tuple(current)))
    return [c for c in chains if not _is_heading(text, c)]


def _is_heading(text: str, chain: _Chain) -> bool:
    """``第九条 …`` at the start of a line is an article's own heading, not a reference."""
    line_start = text.rfind("\n", 0, chain.start) + 1
    if text[line_start: chain.start].strip(" \t\u3000#*>-") != "":
        return False
    after = text[chain.end: chain.end + 1]
    return after in ("", " ", "\u3000", "\t", "\n", "\r")


# --- law mentions ---------------------------------------------------------------------

_PRE_VERSION = re.compile(
    rf"(?:自)?(?P<y>{_YEAR}|[〇零一二三四五六七八九]{{4}})年"
    r"(?:[0-9０-９一二三四五六七八九十]{1,2}月(?:[0-9０-９一二三四五六七八九十]{1,3}日)?)?(?:起)?"
    r"(?:第[一二三四五六七八九十]+次)?(?:修正|修订|修改|施行|实施|公布|颁布|通过)?的?$"
)
_PAREN_AFTER = re.compile(r"\s*[（(](?P<body>[^（）()]{1,60})[）)]")
_ALIAS_DEF = re.compile(r"^(?:以下|下文)?(?:简称|称|下称)[:：]?\s*(?P<alias>.+)$")
_VERSION_IN_PAREN = re.compile(rf"(?P<y>{_YEAR})年[^，,、]*?(?:修正|修订|修改)")
_FASHI_YEAR = re.compile(rf"法释\s*[〔\[［(（]\s*(?P<y>{_YEAR})")


def _version_before(text: str, start: int) -> str | None:
    """A version written before a name: 2000年修正的《…》, 自2010年7月1日起施行的…, 2001年商标法."""
    match = _PRE_VERSION.search(text[max(0, start - 24): start])
    if not match:
        return None
    try:
        return str(chinese_to_int(match.group("y")))
    except ValueError:
        return None


def _version_in_paren(body: str) -> str | None:
    """The version a parenthetical after a name states, or None if it states none."""
    body = body.strip()
    if "《" in body or re.search(r"第[^次]{1,8}[条款项]", body):
        return None  # （本案适用的是2000年修正的《专利法》第五十六条…） cites, it does not date
    match = _VERSION_IN_PAREN.search(body)
    if match:
        return _ascii_digits(match.group("y"))
    plain = _VERSION_BODY.match(body)
    if plain and (plain.group("y") or plain.group("fy")):
        return _ascii_digits(plain.group("y") or plain.group("fy"))
    match = _FASHI_YEAR.search(body)
    return _ascii_digits(match.group("y")) if match else None


def _balanced_titles(text: str) -> Iterable[tuple[int, int]]:
    """Spans of outermost 《…》 titles (nested 《》 inside count, unbalanced ones are skipped)."""
    depth, start = 0, -1
    for index, ch in enumerate(text):
        if ch == "《":
            if depth == 0:
                start = index
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                yield start, index + 1
        elif ch in "\n。" and depth:
            depth = 0  # a title never spans a sentence; drop the unbalanced one


def _mentions(text: str) -> tuple[list[_Mention], dict[str, tuple[str, str | None]]]:
    """Law names in 《》 with their trailing parentheticals, and the short names defined there.

    A short name defined by （以下简称《著作权纠纷案件解释》） resolves later 《》 mentions
    of it to the full title (and its version), even when the short name alone would
    not read as a law (《实施条例》).
    """
    mentions: list[_Mention] = []
    aliases: dict[str, tuple[str, str | None]] = {}
    covered_until = 0
    for start, end in _balanced_titles(text):
        if start < covered_until:
            continue  # the 《商标法》 inside （以下简称《商标法》）
        raw = text[start:end]
        inner = _clean_name(raw)
        if inner in aliases:
            law, version = aliases[inner]
        else:
            law, version = law_version(raw)
            if not looks_like_law_name(law):
                continue
            version = version or _version_before(text, start)
        pos, defined = _parentheticals(text, end)
        version = defined.pop("", None) or version
        for short in defined:
            if short != law:
                aliases[short] = (law, version)
        mentions.append(_Mention(start, pos, law, version, raw))
        covered_until = pos
    return mentions, aliases


def _parentheticals(text: str, pos: int) -> tuple[int, dict[str, str | None]]:
    """Read up to three （…） right after a name: versions and short-name definitions.

    Returns the end position and a dict of defined short names; the key ``""``
    holds the version stated, if any.
    """
    found: dict[str, str | None] = {}
    for _ in range(3):
        paren = _PAREN_AFTER.match(text, pos)
        if not paren:
            break
        body = paren.group("body").strip()
        alias = _ALIAS_DEF.match(body)
        if alias:
            short = _clean_name(alias.group("alias").strip("“”\"'「」"))
            if short:
                found[short] = None
        else:
            stated = _version_in_paren(body)
            if stated is None:
                break
            found[""] = stated
        pos = paren.end()
    return pos, found


# --- what stands before a chain ----------------------------------------------------------

_BOUNDARY = re.compile(r"[。！？；!?;\n]")
_CONNECTOR = re.compile(r"^\s*(?:、|，|,|和|及|以及|或者|或|与|并|至|到|—|－|-|~|～)?\s*$")
_RANGE = re.compile(r"^\s*(?:至|到|—|－|-|~|～)\s*$")
_SELF_REF = re.compile(r"(?<![基根资日样剧脚读课范副正文账版稿蓝标母原])本(?:法典|法|条例|规定|解释|细则|办法|决定|规则|意见|批复|通则|章|节|编)\s*$")
_ANAPHOR = re.compile(r"(?:该法律|该法|该条例|该规定|该解释|该细则|该办法|上述法律|前述法律)\s*$")
_BLOCKERS = re.compile(
    r"(?:合同|协议书?|约定|判决书?|裁定书?|决定书|调解书|章程|条款|公告|通知|说明书|附件|清单|"
    r"证明|函|单|表|权利要求书?|计划|方案|目录|规范|标准|指南|须知)\s*$"
)
_ISSUER_TITLE = re.compile(
    r"(?:(?:最高人民法院|最高人民检察院|国务院|全国人民代表大会常务委员会|全国人大常委会)[、\s\u3000]*)+"
    r"关于[^。；！？\n，,：:“”\"]*?(?:解释|规定|决定|批复|意见|办法|答复|纪要)"
    r"(?:[（(][^（）()]{1,12}[）)])*\s*$"
)
_NAME_RUN = re.compile(r"[\u4e00-\u9fff（）()]{1,40}\s*$")
_STOP_WORDS = (
    "修改前的", "修改后的", "修正前的", "修正后的", "根据", "依照", "依据", "按照", "参照", "适用",
    "违反了", "违反", "符合", "属于", "认定为", "构成", "触犯了", "触犯", "援引", "引用", "比照",
    "对于", "以及", "或者", "即", "及", "和", "与", "或", "的", "了", "是", "于", "并", "亦", "也",
    "按", "依", "在", "年",
)


_FOREIGN_OWNER = re.compile(r"(?:合同|协议|章程|约定|判决书|裁定书|调解书|说明书|权利要求书)(?!法)")
"""Documents with articles of their own: a bare 第X条 after one of them is its clause."""


@dataclass(frozen=True)
class _Lead:
    """What owns a chain: ``kind`` is law, self, anaphor, connector, block or free.

    For a free chain, ``owner_at`` is where the sentence last named a document that
    is not a law (合同, 《…协议》), so the walker can tell 合同共有八条，第一条 from a
    bare reference to the law named before.
    """

    kind: str
    mention: _Mention | None = None
    owner_at: int | None = None


def _lead(text: str, chain: _Chain, window_start: int, prev_end: int, prev_is_chain: bool,
          prev_mention: _Mention | None, aliases: dict[str, tuple[str, str | None]]) -> _Lead:
    gap = text[prev_end: chain.start]
    if prev_is_chain and _CONNECTOR.match(gap):
        return _Lead("connector")
    if prev_mention is not None and prev_mention.end == prev_end and not gap.strip():
        return _Lead("law", prev_mention)
    window = text[window_start: chain.start]
    if _SELF_REF.search(window):
        return _Lead("self")
    if _ANAPHOR.search(window):
        return _Lead("anaphor")
    issued = _ISSUER_TITLE.search(window)
    if issued:
        start = window_start + issued.start()
        law, version = law_version(issued.group(0))
        mention = _Mention(start, chain.start, law, version or _version_before(text, start),
                           issued.group(0).strip(), bracketed=False)
        return _Lead("law", mention)
    local = text[max(window_start, prev_end): chain.start]
    mention = _bare_law_before(text, local, chain.start, aliases)
    if mention is not None:
        return _Lead("law", mention)
    if _BLOCKERS.search(local) or _ends_with_law_suffix(local):
        return _Lead("block")  # 合同第一条, or an owner that ends like a law but is not one
    return _Lead("free")


def _foreign_owner_at(text: str, start: int, end: int, other_titles: list[tuple[int, int]]) -> int | None:
    """End of the last non-law document named in text[start:end], or None."""
    last = None
    for match in _FOREIGN_OWNER.finditer(text, start, end):
        last = match.end()
    for title_start, title_end in other_titles:
        if start <= title_start and title_end <= end:
            last = max(last or 0, title_end)
    return last


def _ends_with_law_suffix(window: str) -> bool:
    return window.rstrip().endswith(LAW_SUFFIXES)


def _bare_law_before(text: str, window: str, pos: int,
                     aliases: dict[str, tuple[str, str | None]]) -> _Mention | None:
    """A law named without 《》 right before ``pos``: 专利法第十一条, 2001年商标法第十五条."""
    run_match = _NAME_RUN.search(window)
    if not run_match:
        return None
    run = run_match.group(0).rstrip()
    run_start = pos - len(window) + run_match.start()
    name = _pick_name(run, aliases)
    if name is None:
        return None
    start = run_start + len(run) - len(name)
    if name in aliases:
        law, version = aliases[name]
    else:
        law, version = law_version(name)
    return _Mention(start, pos, law, version or _version_before(text, start), name, bracketed=False)


def _pick_name(run: str, aliases: dict[str, tuple[str, str | None]]) -> str | None:
    """The law name a run of CJK text ends with, or None.

    Prefers 中华人民共和国…, then the longest known name or defined short name, then
    the text after the last stop word (根据, 违反, 的 …) if it reads as a law.
    """
    if _PRC in run:
        candidate = run[run.rindex(_PRC):]
        return candidate if looks_like_law_name(_clean_name(candidate)) else None
    known, table_aliases = _law_table()
    names = [n for n in (*known, *table_aliases, *aliases) if run.endswith(n)]
    if names:
        return max(names, key=len)
    cut = 0
    for word in _STOP_WORDS:
        index = run.rfind(word)
        if index >= 0:
            cut = max(cut, index + len(word))
    candidate = run[cut:]
    if 2 <= len(candidate) <= 25 and looks_like_law_name(_clean_name(candidate)):
        return candidate
    return None


# --- extraction ------------------------------------------------------------------------

_MAX_NAME_WINDOW = 160  # a law's title is shorter; bounds the backward search in long sentences
_MAX_OWNER_WINDOW = 400
_DROPPED = "dropped"  # list context of a chain that is not a citation: its list is not either
_MAX_RANGE = 60


@dataclass
class _ListContext:
    law: str
    version: str | None
    article: int | None
    sub: int | None
    paragraph: int | None
    item: int | None
    chain_start: int
    chain_end: int


def extract_citations(text: str, *, self_law: str | None = None,
                      include_bare_laws: bool = False) -> tuple[Citation, ...]:
    """Every statute citation in ``text``, normalised, in order of first appearance.

    De-duplicated on (law, version, article, sub, paragraph, item); ``Citation.text``
    is the source text of the first occurrence. ``self_law`` is the law the text
    belongs to (a statute's own name): 本法第X条 and a bare 第X条 with no other law
    named earlier in the sentence refer to it. ``include_bare_laws`` also returns a
    law-level citation (article ``None``) for each 《》 law cited without an article.
    """
    if not text:
        return ()
    self_ctx = law_version(self_law) if self_law else None
    if self_ctx is not None and not self_ctx[0]:
        self_ctx = None
    mentions, aliases = _mentions(text)
    starts = [m.start for m in mentions]

    def inside(pos: int) -> bool:
        index = bisect.bisect_right(starts, pos) - 1
        return index >= 0 and pos < mentions[index].end

    chains = [c for c in _chains(text, _refs(text)) if not inside(c.start)]
    boundaries = [m.start() for m in _BOUNDARY.finditer(text)]
    other_titles = [span for span in _balanced_titles(text) if not inside(span[0])]
    leads, mentions, attached = _resolve_leads(text, chains, mentions, aliases, boundaries, other_titles)

    events: list[tuple[int, int, object]] = [(b, 0, None) for b in boundaries]
    events += [(m.start, 1, m) for m in mentions]
    events += [(c.start, 2, (c, lead)) for c, lead in zip(chains, leads)]
    events.sort(key=lambda e: (e[0], e[1]))

    out: dict[tuple, Citation] = {}
    sentence_law: tuple[str, str | None] | str | None = None
    sentence_law_end = 0
    last_law: tuple[str, str | None] | None = None
    list_ctx: _ListContext | str | None = None
    for _, kind, payload in events:
        if kind == 0:
            sentence_law, list_ctx = None, None
        elif kind == 1:
            mention = payload  # type: ignore[assignment]
            sentence_law = last_law = (mention.law, mention.version)
            sentence_law_end = mention.end
            list_ctx = None
            if include_bare_laws and mention.bracketed and id(mention) not in attached:
                _add(out, Citation(law=mention.law, version=mention.version, text=mention.raw))
        else:
            chain, lead = payload  # type: ignore[misc]
            if lead.owner_at is not None and not isinstance(list_ctx, _ListContext) \
                    and (sentence_law is None or lead.owner_at > sentence_law_end):
                list_ctx = _DROPPED  # 合同共有八条，第一条至第七条: the contract's clauses
                continue
            ctx, base, sentence_law, last_law = _context_for(
                chain, lead, sentence_law, last_law, list_ctx, self_ctx)
            if lead.kind in ("law", "self"):
                sentence_law_end = chain.end
            if ctx is None:
                list_ctx = _DROPPED
                continue
            law, version = ctx
            start = lead.mention.start if lead.kind == "law" and lead.mention else chain.start
            if lead.kind == "connector" and isinstance(base, _ListContext) \
                    and _RANGE.match(text[base.chain_end:chain.start]):
                _expand_range(out, text, base, chain)
            list_ctx = _emit(out, text, chain, law, version, base, start)
    return tuple(out.values())


def _resolve_leads(text: str, chains: list[_Chain], mentions: list[_Mention],
                   aliases: dict[str, tuple[str, str | None]], boundaries: list[int],
                   other_titles: list[tuple[int, int]],
                   ) -> tuple[list[_Lead], list[_Mention], set[int]]:
    """The lead of every chain; bare-named laws join the mentions, and 《》 names found
    to be part of a longer bare title (…关于适用《民事诉讼法》的解释) leave them."""
    leads: list[_Lead] = []
    removed: set[int] = set()
    added: list[_Mention] = []
    attached: set[int] = set()
    prev_chain_end = 0
    ends = [m.end for m in mentions]
    starts = [m.start for m in mentions]
    for chain in chains:
        sentence_start = 0
        index = bisect.bisect_left(boundaries, chain.start)
        if index:
            sentence_start = boundaries[index - 1] + 1
        prev_mention = _last_kept(mentions, ends, chain.start, removed)
        mention_end = prev_mention.end if prev_mention else 0
        prev_is_chain = prev_chain_end >= mention_end and prev_chain_end > sentence_start
        prev_end = max(prev_chain_end, mention_end, sentence_start)
        window_start = max(sentence_start, prev_chain_end, chain.start - _MAX_NAME_WINDOW)
        lead = _lead(text, chain, window_start, prev_end, prev_is_chain, prev_mention, aliases)
        if lead.kind in ("free", "connector"):
            owner = _foreign_owner_at(text, max(sentence_start, chain.start - _MAX_OWNER_WINDOW),
                                      chain.start, other_titles)
            if owner is not None:
                lead = dataclasses.replace(lead, owner_at=owner)
        if lead.kind == "law" and lead.mention is not None:
            if lead.mention.bracketed:
                attached.add(id(lead.mention))
            else:
                first = bisect.bisect_left(starts, lead.mention.start)
                for m in mentions[first:]:
                    if m.start >= chain.start:
                        break
                    removed.add(id(m))
                added.append(lead.mention)
                attached.add(id(lead.mention))
        leads.append(lead)
        prev_chain_end = chain.end
    kept = [m for m in mentions if id(m) not in removed] + added
    return leads, kept, attached


def _last_kept(mentions: list[_Mention], ends: list[int], pos: int, removed: set[int]) -> _Mention | None:
    """The last mention ending at or before pos that was not absorbed into a longer title."""
    index = bisect.bisect_right(ends, pos) - 1
    while index >= 0 and id(mentions[index]) in removed:
        index -= 1
    return mentions[index] if index >= 0 else None


def _context_for(chain: _Chain, lead: _Lead, sentence_law, last_law, list_ctx, self_ctx):
    """(law context, list base, new sentence law, new last law) for a chain."""
    if lead.kind == "connector":
        if isinstance(list_ctx, _ListContext):
            return (list_ctx.law, list_ctx.version), list_ctx, sentence_law, last_law
        if list_ctx == _DROPPED:
            return None, None, sentence_law, last_law
        lead = _Lead("free")
    if chain.head != "条":
        return None, None, sentence_law, last_law  # 前款, 本条第二款, 判决第二项: no law to hang on
    if lead.kind == "law" and lead.mention is not None:
        ctx = (lead.mention.law, lead.mention.version)
        return ctx, None, ctx, ctx
    if lead.kind == "self":
        return self_ctx, None, (self_ctx or "self"), last_law
    if lead.kind == "anaphor":
        return last_law, None, sentence_law, last_law
    if lead.kind == "block":
        return None, None, sentence_law, last_law
    if isinstance(sentence_law, tuple):
        return sentence_law, None, sentence_law, last_law
    if sentence_law is None and self_ctx is not None:
        return self_ctx, None, sentence_law, last_law
    return None, None, sentence_law, last_law


def _emit(out: dict[tuple, Citation], text: str, chain: _Chain, law: str, version: str | None,
          base: _ListContext | None, start: int) -> _ListContext | str:
    """Add the citations one chain makes; return the list context for the next chain."""
    refs = {ref.unit: ref for ref in chain.refs}
    if "条" in refs:
        numbers = refs["条"].numbers
        articles = [(n, refs["条"].sub if i == len(numbers) - 1 else None) for i, n in enumerate(numbers)]
    elif base is not None and base.article:
        articles = [(base.article, base.sub)]
    else:
        return _DROPPED
    if "款" in refs:
        paragraphs: list[int | None] = list(refs["款"].numbers)
    elif chain.head == "项" and base is not None:
        paragraphs = [base.paragraph]
    else:
        paragraphs = [None]
    items: list[int | None] = list(refs["项"].numbers) if "项" in refs else [None]
    source = text[start: chain.end]
    for article, sub in articles:
        for paragraph in paragraphs:
            for item in items:
                _add(out, Citation(law=law, article=article, sub=sub, paragraph=paragraph,
                                   item=item, version=version, text=source))
    article, sub = articles[-1]
    return _ListContext(law, version, article, sub, paragraphs[-1], items[-1], chain.start, chain.end)


def _expand_range(out: dict[tuple, Citation], text: str, base: _ListContext, chain: _Chain) -> None:
    """Add what a range leaves out between its ends.

    第五十九条至第六十一条 adds 第六十条; 至第二百一十九条之一 also adds 第二百一十九条
    itself; 第一款第三项至第六项 adds 第四项 and 第五项 of the same article and paragraph.
    """
    head = chain.refs[0]
    end = head.numbers[0]
    source = text[base.chain_start: chain.end]
    if head.unit == "条":
        if base.article is None or not 0 < end - base.article <= _MAX_RANGE:
            return
        last = end if head.sub else end - 1
        for article in range(base.article + 1, last + 1):
            _add(out, Citation(law=base.law, article=article, version=base.version, text=source))
    elif head.unit == "款" and base.paragraph is not None and 0 < end - base.paragraph <= _MAX_RANGE:
        for paragraph in range(base.paragraph + 1, end):
            _add(out, Citation(law=base.law, article=base.article, sub=base.sub, paragraph=paragraph,
                               version=base.version, text=source))
    elif head.unit == "项" and base.item is not None and 0 < end - base.item <= _MAX_RANGE:
        for item in range(base.item + 1, end):
            _add(out, Citation(law=base.law, article=base.article, sub=base.sub,
                               paragraph=base.paragraph, item=item, version=base.version, text=source))


def _add(out: dict[tuple, Citation], citation: Citation) -> None:
    key = (citation.law, citation.version, citation.article, citation.sub, citation.paragraph, citation.item)
    out.setdefault(key, citation)


# --- labels typed by users -------------------------------------------------------------

_LABEL_ANCHOR = re.compile(r"^(?P<law>.+?)#(?P<anchor>[0-9０-９]+(?:-[0-9０-９]+)?)$")
_LABEL_CHAIN = re.compile(
    rf"^第\s*(?P<a>{_NUM})\s*条(?:\s*之\s*(?P<sub>{_NUM}))?"
    rf"(?:\s*第\s*(?P<p>{_NUM})\s*款)?"
    rf"(?:\s*第\s*(?:(?P<i>{_NUM})|[（(]\s*(?P<pi>{_NUM})\s*[）)])\s*项)?\s*$"
)


def parse_citation_label(s: str) -> Citation | None:
    """Read a citation a user typed: ``反不正当竞争法第9条``, ``反不正当竞争法#9``,
    ``专利法第十一条第一款``, ``刑法#219-1``, ``《中华人民共和国刑法》第二百一十九条之一``,
    ``反不正当竞争法(2019)第9条第1款`` (what :attr:`Citation.label` prints).

    ``#N-M`` is an article anchor (N, inserted article M). A law name alone gives a
    law-level citation (article ``None``). Returns ``None`` when the input is not a
    citation (no law name, a name that does not read as a law, a malformed article).
    """
    if not s or not s.strip():
        return None
    text = re.sub(r"[\s\u3000]+", "", s)
    law_part, anchor, chain = text, None, None
    anchored = _LABEL_ANCHOR.match(text)
    if anchored:
        law_part, anchor = anchored.group("law"), anchored.group("anchor")
    else:
        for index in (i for i, ch in enumerate(text) if ch == "第" and i > 0):
            chain = _LABEL_CHAIN.match(text[index:])
            if chain:
                law_part = text[:index]
                break
    law, version = law_version(law_part)
    if not law or not looks_like_law_name(law):
        return None
    article = sub = paragraph = item = None
    try:
        if anchor:
            head, _, tail = _ascii_digits(anchor).partition("-")
            article, sub = int(head), (int(tail) if tail else None)
        elif chain:
            article = chinese_to_int(chain.group("a"))
            sub = chinese_to_int(chain.group("sub")) if chain.group("sub") else None
            paragraph = chinese_to_int(chain.group("p")) if chain.group("p") else None
            raw_item = chain.group("i") or chain.group("pi")
            item = chinese_to_int(raw_item) if raw_item else None
    except ValueError:
        return None
    if any(v is not None and v <= 0 for v in (article, sub, paragraph, item)):
        return None
    return Citation(law=law, article=article, sub=sub, paragraph=paragraph, item=item,
                    version=version)
