"""Chinese numerals and dates as legal texts write them. Pure functions.

Statutes number articles in Chinese (第二百一十九条), judgments mix Arabic and
full-width digits (第２６条), and dates come either way (二〇一三年十二月二十日,
2013年12月20日). Everything downstream (citation keys, anchors, years) wants plain
integers and ISO dates, so this module is the single place that reads them.
"""
from __future__ import annotations

import datetime as _dt
import re

__all__ = ["chinese_to_int", "chinese_date_to_iso", "DIGIT_CHARS", "NUMERAL_CHARS"]

_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    # financial (大写) forms, used on invoices and some contracts
    "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}
_SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS: tuple[tuple[str, int], ...] = (("亿", 10**8), ("万", 10**4))
_NUMERAL_SET = frozenset(_DIGITS) | frozenset(_SMALL_UNITS) | frozenset(u for u, _ in _BIG_UNITS)

_ASCII_OR_WIDE_DIGITS = re.compile(r"[0-9０-９]+")

DIGIT_CHARS = "0-9０-９"
"""Character-class body for Arabic and full-width digits (for building regexes)."""
NUMERAL_CHARS = "零〇○一二两三四五六七八九十百千万"
"""Chinese numeral characters legal texts use (for building regexes; no 大写 forms)."""


def chinese_to_int(s: str) -> int:
    """The value of a Chinese, Arabic or full-width numeral.

    ``二百一十九`` → 219, ``十五`` → 15, ``一千零八十五`` → 1085, ``二〇一三`` → 2013
    (a string of bare digits is read digit by digit, as years are written),
    ``２６`` → 26. Raises ``ValueError`` for anything that is not one numeral
    (empty strings, mixed scripts, stray characters, units out of order).
    """
    if not isinstance(s, str):
        raise ValueError(f"not a numeral: {s!r}")
    text = s.strip()
    if not text:
        raise ValueError("empty numeral")
    if _ASCII_OR_WIDE_DIGITS.fullmatch(text):
        return int(text)  # int() reads full-width digits too
    if any(ch not in _NUMERAL_SET for ch in text):
        raise ValueError(f"not a Chinese numeral: {s!r}")
    if all(ch in _DIGITS for ch in text):
        value = 0
        for ch in text:
            value = value * 10 + _DIGITS[ch]
        return value
    return _read_with_units(text, s)


def _read_with_units(text: str, original: str) -> int:
    """Read a numeral that uses units, splitting on 亿 and 万 first."""
    for unit_char, unit_value in _BIG_UNITS:
        if unit_char in text:
            high, _, low = text.partition(unit_char)
            if not high or unit_char in low:
                raise ValueError(f"malformed numeral: {original!r}")
            high_value = _read_with_units(high, original)
            low_value = _read_with_units(low, original) if low.strip("零〇○") else 0
            if low_value >= unit_value:
                raise ValueError(f"malformed numeral: {original!r}")
            return high_value * unit_value + low_value
    return _read_section(text, original)


def _read_section(text: str, original: str) -> int:
    """Read a numeral below 10,000 (千, 百, 十 and digits, 零 as a placeholder)."""
    total = 0
    pending: int | None = None
    last_unit = 10**4
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
            if digit == 0:
                if pending not in (None, 0):
                    raise ValueError(f"malformed numeral: {original!r}")
                pending = 0
                continue
            if pending not in (None, 0):
                raise ValueError(f"malformed numeral: {original!r}")
            pending = digit
            continue
        unit = _SMALL_UNITS[ch]
        if unit >= last_unit:
            raise ValueError(f"malformed numeral: {original!r}")
        if pending is None and unit == 10:
            pending = 1  # a bare 十 means 一十 (十五 = 15, 一百十 = 110)
        elif not pending:
            raise ValueError(f"malformed numeral: {original!r}")  # 百 and 千 need a digit
        total += pending * unit
        pending = None
        last_unit = unit
    return total + (pending or 0)


_CN_YEAR = r"[零〇○一二三四五六七八九]{4}"
_CN_SMALL = r"[一二三四五六七八九十]{1,3}"
_NUM = r"[0-9０-９]{1,2}"
_DATE_CN = re.compile(
    rf"(?P<y>[0-9０-９]{{4}}|{_CN_YEAR})\s*年\s*(?P<m>{_NUM}|{_CN_SMALL})\s*月\s*(?P<d>{_NUM}|{_CN_SMALL})\s*日"
)
_DATE_ISO = re.compile(r"(?<![0-9])(?P<y>[0-9]{4})[-./](?P<m>[0-9]{1,2})[-./](?P<d>[0-9]{1,2})(?![0-9])")


def chinese_date_to_iso(s: str) -> str | None:
    """The first valid date in ``s`` as ``YYYY-MM-DD``, or ``None``.

    Reads ``二〇一三年十二月二十日``, ``2013年12月20日``, full-width digits and the
    ISO-like ``2013-12-20`` / ``2013.12.20`` that file names use. Impossible dates
    (二月三十日) are skipped rather than guessed.
    """
    if not s:
        return None
    candidates = sorted(
        [m for m in _DATE_CN.finditer(s)] + [m for m in _DATE_ISO.finditer(s)],
        key=lambda m: m.start(),
    )
    for match in candidates:
        try:
            year = chinese_to_int(match.group("y"))
            month = chinese_to_int(match.group("m"))
            day = chinese_to_int(match.group("d"))
            return _dt.date(year, month, day).isoformat()
        except ValueError:
            continue
    return None
