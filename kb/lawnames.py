"""Law names: the canonical short name of a statute, its version, and whether a name is one.

《中华人民共和国反不正当竞争法》（2019年修正）, 反不正当竞争法 and 反法 are the same law;
similar-case search compares cases by the articles they cite, so every spelling must
end up as one name. The known names and aliases live in ``kb/data/law_aliases.json``
(the corpus's own statute titles); a name not in the table still normalises sensibly.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

# --- the law-name table --------------------------------------------------------------

_DATA_FILE = Path(__file__).parent / "data" / "law_aliases.json"


@lru_cache(maxsize=1)
def law_table() -> tuple[frozenset[str], dict[str, str]]:
    data = json.loads(_DATA_FILE.read_text(encoding="utf-8"))
    known = frozenset(clean_name(n) for n in data["known_laws"])
    aliases = {clean_name(k): clean_name(v) for k, v in data["aliases"].items()}
    return known, aliases


def known_law_names() -> frozenset[str]:
    """Canonical short names recognised without 《》 (from ``kb/data/law_aliases.json``)."""
    return law_table()[0]


# --- law names ------------------------------------------------------------------------

LAW_SUFFIXES: tuple[str, ...] = (
    "法典", "法", "条例", "细则", "规定", "解释", "办法", "决定", "批复", "规则",
    "意见", "通则", "总则", "条约", "公约", "协定", "修正案", "答复", "纪要",
)
"""Endings that make a name a statute, regulation or interpretation (not a contract or a work)."""

_NOT_LAW_FA = set("方算疗工书手技做想看说用写画刀笔语句章")  # 方法, 算法, 书法 ... end in 法 too
_GENERIC_NAMES = frozenset({
    "法", "法律", "条例", "细则", "规定", "解释", "办法", "决定", "批复", "规则", "意见",
    "通则", "总则", "实施条例", "实施细则", "实施办法", "司法解释", "有关规定", "相关规定",
    "法律规定", "上述规定", "前述规定", "下列规定", "若干规定",
})
_DEICTIC_NAME = re.compile(r"^(?:本|该|此|同|上述|前述|下述|其他|有关|相关)[\u4e00-\u9fff]{1,3}$")
"""本法, 该条例, 上述规定: words that point at a law without naming it."""
PRC = "中华人民共和国"

YEAR = r"[0-9０-９]{4}"
VERSION_BODY = re.compile(
    rf"^(?:法释[〔\[［(（]\s*(?P<fy>{YEAR})\s*[〕\]］)）]\s*[0-9０-９]+\s*号\s*[，,、]?\s*)?"
    rf"(?:(?P<y>{YEAR})(?:年|[-./][0-9]{{1,2}}[-./][0-9]{{1,2}})?"
    r"(?:[0-9０-９一二三四五六七八九十]{1,2}月(?:[0-9０-９一二三四五六七八九十]{1,3}日)?)?"
    r"(?:第[一二三四五六七八九十]+次)?(?:修正|修订|修改|施行|实施|公布|颁布|通过)?(?:本|文本)?)?$"
)
_TRAILING_PAREN = re.compile(r"[（(]([^（）()]*)[）)]$")


def clean_name(raw: str) -> str:
    """Whitespace, outer 《》, bracket widths, 中华人民共和国, issuer joins and a trailing
    version stripped, without alias mapping."""
    return _split_version(raw)[0]


def _split_version(raw: str) -> tuple[str, str | None]:
    name = re.sub(r"[\s\u3000\u00a0]+", " ", raw or "").strip()
    name = name.replace("〈", "《").replace("〉", "》").replace("(", "（").replace(")", "）")
    version: str | None = None
    changed = True
    while changed and name:
        changed = False
        if _wrapped(name):
            name, changed = name[1:-1].strip(), True
        match = _TRAILING_PAREN.search(name)
        if match and match.start() > 0:
            body = VERSION_BODY.match(match.group(1).strip())
            if body and (body.group("y") or body.group("fy")):
                version = version or ascii_digits(body.group("y") or body.group("fy"))
                name, changed = name[: match.start()].rstrip(), True
    name = name.replace(PRC, "")
    # 最高人民法院 最高人民检察院关于… (joint interpretations) -> 最高人民法院、最高人民检察院关于…
    name = re.sub(r"(最高人民法院|最高人民检察院)\s*(?=最高人民法院|最高人民检察院)", r"\1、", name)
    return name.replace(" ", ""), version


def _wrapped(name: str) -> bool:
    """Whether the whole name is one 《…》 (not 《A》…《B》)."""
    if len(name) < 2 or name[0] != "《" or name[-1] != "》":
        return False
    depth = 0
    for index, ch in enumerate(name):
        depth += (ch == "《") - (ch == "》")
        if depth == 0 and index < len(name) - 1:
            return False
    return True


def law_version(raw: str) -> tuple[str, str | None]:
    """Split a law title into its canonical name and the version year it states.

    ``《中华人民共和国民事诉讼法（2013年）》`` → (``民事诉讼法``, ``"2013"``);
    ``反不正当竞争法(2019)`` → (``反不正当竞争法``, ``"2019"``); ``最高人民法院关于审理
    侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10)`` → (the title, ``"2020"``);
    ``刑法修正案（十一）`` keeps its （十一） and has no version.
    """
    name, version = _split_version(raw)
    aliases = law_table()[1]
    return aliases.get(name, name), version


def normalize_law_name(raw: str) -> str:
    """The canonical short name of a law: ``《中华人民共和国反不正当竞争法》`` → ``反不正当竞争法``.

    Strips 《》, 中华人民共和国 (also inside an interpretation's title), whitespace and
    a trailing version (（2019年修正）, (2020-12-29)); unifies bracket widths; maps the
    aliases of ``kb/data/law_aliases.json`` (民诉法 → 民事诉讼法). A name not in the
    table comes back cleaned, not rejected. Empty input gives ``""``.
    """
    return law_version(raw)[0]


def looks_like_law_name(name: str) -> bool:
    """Whether a (cleaned) name reads as a statute/regulation/interpretation title.

    True for known names and aliases and for names ending in a :data:`LAW_SUFFIXES`
    word (after trailing （试行）/（二） groups); false for contracts (《许可协议》), works
    (《焦点访谈》), methods (《…的制备方法》) and generic words (规定, 法律).
    """
    if not name:
        return False
    known, aliases = law_table()
    if name in known or name in aliases:
        return True
    stem = name
    while True:
        match = _TRAILING_PAREN.search(stem)
        if not match or match.start() == 0:
            break
        stem = stem[: match.start()]
    if stem in _GENERIC_NAMES or len(stem) < 2 or _DEICTIC_NAME.match(stem):
        return False
    if stem.endswith("法") and not stem.endswith(("办法", "法典")) and stem[-2] in _NOT_LAW_FA:
        return False
    return stem.endswith(LAW_SUFFIXES)


def ascii_digits(s: str) -> str:
    return s.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
