"""Text helpers for the readers: encoding detection, normalisation, sanity checks.

Chinese documents arrive as UTF-8, GBK/GB18030 (older Windows tools) and UTF-16
(Notepad's "Unicode"), with or without a byte-order mark. Guessing wrong turns a
judgment into garbage that is then indexed silently, so every guess made without
a BOM must also *look like* text before it is accepted; anything else is refused
with a reason the user can act on.

Everything here is pure (bytes or str in, str or numbers out) except
:func:`decode_text`, which raises :class:`kb.errors.CorruptFileError` because it
needs the file's path for the message.
"""
from __future__ import annotations

import codecs
import re
import unicodedata

from kb.errors import CorruptFileError

NOT_TEXT_REASON = "not valid UTF-8/GB18030/UTF-16 text"
BINARY_REASON = "binary data, not text"

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SAMPLE_BYTES = 64 * 1024
"""How much of a file the byte-pattern heuristics look at (enough to decide, cheap)."""

_MAX_CONTROL_SHARE = 0.01
_STRAY_CONTROLS = 4
"""Text may hold a few stray control characters (dropped later); more than this many,
making up over 1% of it (or over 10% of a tiny file), means binary data."""

_MIN_TEXTY_SHARE = 0.9
"""Share of ordinary characters a *guessed* decoding (no BOM, not UTF-8) must reach."""

# Ranges of characters that ordinary Chinese (and English) text is made of.
# A wrong guess (GBK bytes read as UTF-16, UTF-16 read as GBK) lands mostly
# outside these: Hangul, Yi, private use, surrogates, C1 controls.
_TEXTY_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII printable
    (0x00A0, 0x00FF),  # Latin-1 letters and signs (·, ×, é)
    (0x0370, 0x04FF),  # Greek, Cyrillic (both in GB2312)
    (0x2000, 0x206F),  # general punctuation (— “ ” …)
    (0x2100, 0x27BF),  # letterlike, number forms (Ⅰ), arrows, math, ①, box, shapes
    (0x3000, 0x303F),  # CJK symbols and punctuation (。、「」　)
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x312F),  # bopomofo
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility (㈠, ㎡)
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # full-width and half-width forms
    (0x20000, 0x3134F),  # CJK extensions B–G
)

_LINE_BREAKS = re.compile(r"\r\n|[\r\f\v\u2028\u2029]")
# C0 controls except \t and \n (line breaks were already turned into \n), DEL,
# C1 controls, and stray byte-order marks.
_DROP_CONTROLS = dict.fromkeys(
    [c for c in range(0x20) if c not in (0x09, 0x0A)] + list(range(0x7F, 0xA0)) + [0xFEFF]
)


_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_TEXTY_CHARS = re.compile(
    "[\t\n\r" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _TEXTY_RANGES) + "]"
)


def is_control(ch: str) -> bool:
    """True for C0/C1 controls and DEL other than tab and line breaks."""
    return bool(_CONTROL_CHARS.fullmatch(ch))


def texty_share(text: str) -> float:
    """Share of characters that ordinary Chinese/English text is made of; 1 for empty text."""
    if not text:
        return 1.0
    return len(_TEXTY_CHARS.findall(text)) / len(text)


def too_many_controls(count: int, total: int) -> bool:
    """Whether ``count`` control characters among ``total`` mean binary data, not text."""
    if total == 0:
        return False
    share = count / total
    return share > 10 * _MAX_CONTROL_SHARE or (share > _MAX_CONTROL_SHARE and count > _STRAY_CONTROLS)


def looks_like_text(text: str, *, guessed: bool) -> bool:
    """Whether decoded ``text`` is plausible document text.

    Every decoding must have few control characters. A *guessed* decoding (no
    BOM, not UTF-8) must also be made mostly of ordinary characters and hold no
    U+FFFD, because GB18030 and UTF-16 decode many byte strings that are not
    text in those encodings.
    """
    sample = text[:_SAMPLE_BYTES]
    if too_many_controls(len(_CONTROL_CHARS.findall(sample)), len(sample)):
        return False
    if guessed:
        return "\ufffd" not in sample and texty_share(sample) >= _MIN_TEXTY_SHARE
    return True


def bom_encoding(data: bytes) -> str | None:
    """The encoding named by a byte-order mark at the start of ``data``, if any."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def utf16_by_nul_pattern(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when NUL bytes cluster at odd/even positions.

    ASCII characters in UTF-16 have a zero high byte, so a BOM-less UTF-16 file
    with any Latin letters, digits or line breaks shows NULs at every other
    position; real text in any 8-bit encoding has none.
    """
    sample = data[:_SAMPLE_BYTES]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    # CJK code points such as 一 (U+4E00) put a few NULs on the other side too.
    if odd >= 0.1 * pairs and even * 4 <= odd:
        return "utf-16-le"
    if even >= 0.1 * pairs and odd * 4 <= even:
        return "utf-16-be"
    return None


_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B))


def looks_binary(data: bytes) -> bool:
    """Whether the first 64 KiB hold too many control bytes (NUL etc.) to be 8-bit text."""
    sample = data[:_SAMPLE_BYTES]
    count = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return too_many_controls(count, len(sample))


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf16_candidates(data: bytes) -> list[str]:
    """UTF-16 orders worth trying for BOM-less ``data``, most likely first."""
    if len(data) % 2:
        return []
    hinted = utf16_by_nul_pattern(data)
    if hinted:
        return [hinted]
    return ["utf-16-le", "utf-16-be"]


def detect_and_decode(data: bytes, *, declared: str | None = None) -> tuple[str, str] | None:
    """Decode ``data``; return ``(text, encoding)`` or None when no decoding is plausible.

    Order: byte-order mark; strict UTF-8; ``declared`` (an HTML page's charset);
    BOM-less UTF-16 (NUL pattern, else whichever byte order reads as text);
    GB18030, which covers GBK and GB2312. The text keeps its BOM stripped and is
    otherwise unnormalised.

    Known limits: a very short GBK text can also be valid UTF-8 (一 is D2 BB,
    which UTF-8 reads as һ) and is then taken for UTF-8, as it must be for
    accented Latin text; Big5 bytes are mostly valid GBK and are read as
    GB18030 mojibake (Big5 is not supported).
    """
    bom = bom_encoding(data)
    if bom:
        text = _try_decode(data, bom + ("-sig" if bom == "utf-8" else ""))
        if bom.startswith(("utf-16", "utf-32")) and text is not None:
            text = text.removeprefix("\ufeff")
        if text is not None and looks_like_text(text, guessed=False):
            return text, bom + ("-sig" if bom == "utf-8" else "")
        return None
    text = _try_decode(data, "utf-8")
    if text is not None and looks_like_text(text, guessed=False):
        return text, "utf-8"
    if declared and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        text = _try_decode(data, declared)
        if text is not None and looks_like_text(text, guessed=False):
            return text, declared.lower()
    best: tuple[float, str, str] | None = None
    for encoding in _utf16_candidates(data):
        text = _try_decode(data, encoding)
        if text is not None and looks_like_text(text, guessed=True):
            score = texty_share(text[:_SAMPLE_BYTES])
            if best is None or score > best[0]:
                best = (score, text, encoding)
    if best:
        return best[1], best[2]
    text = _try_decode(data, "gb18030")
    if text is not None and looks_like_text(text, guessed=True):
        return text, "gb18030"
    return None


def decode_text(data: bytes, path: str, *, declared: str | None = None) -> tuple[str, str]:
    """Like :func:`detect_and_decode` but raise ``CorruptFileError`` naming why it failed."""
    decoded = detect_and_decode(data, declared=declared)
    if decoded is not None:
        return decoded
    if looks_binary(data):
        raise CorruptFileError(path, BINARY_REASON)
    raise CorruptFileError(path, NOT_TEXT_REASON)


def normalise_text(text: str) -> str:
    """Normalise line breaks and invisible junk, nothing else.

    ``\\r\\n``, ``\\r``, form feeds and Unicode line separators become ``\\n``;
    trailing spaces and tabs on each line go; NULs and other control characters
    (except tab and newline) and stray BOMs are dropped; leading and trailing
    blank lines are removed. Full-width characters, including the U+3000 after
    ``第X条``, are kept exactly: they carry meaning for the parsers.
    """
    text = _LINE_BREAKS.sub("\n", text)
    text = text.translate(_DROP_CONTROLS)
    # Per-line rstrip, not a regex: "[ \t]+$" is quadratic on long runs of spaces.
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    return text.strip("\n")


def has_text(text: str) -> bool:
    """True when ``text`` holds at least one non-whitespace character."""
    return bool(text) and not text.isspace()


# --- unreadable PDF text --------------------------------------------------------

_CJK_COMPAT_IDEOGRAPHS = (0xF900, 0xFAFF)
_LATIN_SOUP = (0x0080, 0x036F)
"""Latin-1 supplement to combining marks: where raw glyph ids land without a Unicode map."""


def _is_unreadable(ch: str) -> bool:
    cp = ord(ch)
    if ch == "\ufffd" or is_control(ch):
        return True
    if 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000:  # private use areas
        return True
    if _CJK_COMPAT_IDEOGRAPHS[0] <= cp <= _CJK_COMPAT_IDEOGRAPHS[1]:
        return True
    return unicodedata.category(ch) == "Cn"  # unassigned code point


def unreadable_share(text: str) -> float:
    """Share of visible characters that no reader could make sense of.

    Counts U+FFFD, private-use and unassigned code points, controls and CJK
    compatibility ideographs; a run of Latin-1/Latin-extended/combining
    characters counts too when such characters are more than a fifth of the
    text, which is how glyph ids of a font without a ToUnicode map come out.
    """
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 0.0
    bad = sum(1 for ch in visible if _is_unreadable(ch))
    soup = sum(1 for ch in visible if _LATIN_SOUP[0] <= ord(ch) <= _LATIN_SOUP[1])
    if soup > 0.2 * len(visible):
        bad += soup
    return min(1.0, bad / len(visible))


def is_mojibake(text: str, *, threshold: float = 0.3) -> bool:
    """True when more than ``threshold`` of the visible characters are unreadable."""
    return unreadable_share(text) > threshold


# --- JSON nesting guard -----------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
"""A JSON string; the closing quote is optional so that a match never fails and
backtracks (an unterminated string would make the scan quadratic). An
unterminated string swallows the rest of the text, which json.loads then rejects."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit``.

    Run before ``json.loads`` so that a hostile file (``[[[[...``) gets a clear
    error instead of a RecursionError; string contents are removed first so
    brackets inside text do not count. Linear time, done in C except one pass
    over the brackets themselves.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
