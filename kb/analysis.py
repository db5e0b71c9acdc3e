"""Chinese text analysis: the only module that imports jieba.

Index and query text go through the same :class:`Analyzer`, with the same legal/IP
user dictionary (``kb/data/userdict.txt``) and stop list (``kb/data/stopwords.txt``),
so that a word is cut the same way on both sides.

Choices (measured on the real corpus sources, 1.2M characters, 2 cores):

- jieba precise mode **with HMM**, so that names missing from every dictionary
  (歌力思, 敦骏, 卫邦) become words instead of single characters; the price is some
  junk words (日起, 百四) that cost nothing at search time. jieba itself cut 410k
  chars/s with HMM and 340k without. The cut is jieba's algorithm re-implemented in
  one backward pass (:meth:`Analyzer._cut_block`) and memoised per block: identical
  pieces on the whole corpus, ~1.8x faster cold, far faster on repeated blocks
  (citations, boilerplate).
- Text is folded before cutting: full-width ASCII to half-width, U+3000 to a space,
  ASCII upper case to lower case. Folding is one character to one character, so
  offsets into the folded text are offsets into the original.
- Positions are word positions over kept tokens. Stop words do **not** advance the
  position (``侵犯商业秘密的行为`` and ``侵犯商业秘密行为`` give the same phrase);
  clause punctuation (。，；：！？、) leaves a gap of one, so a phrase never spans
  a sentence or clause break. Other punctuation (quotes, brackets, 《》) and
  whitespace are dropped without a gap: ``《反不正当竞争法》第九条`` stays a phrase.
- In index mode a word longer than two characters is followed by its dictionary
  sub-words at the *same* position: the words of its finer cut and the dictionary
  words made of consecutive pieces of it, recursively (:meth:`Analyzer.subwords`).
  ``在先使用`` is found inside ``在先使用抗辩`` and ``保密措施`` inside
  ``合理保密措施``. Unlike jieba's search mode (every dictionary 2- and 3-gram) this
  does not index 民法 inside 人民法院 or 利权 inside 专利权, and it emits ~40% fewer
  sub-words, which the index pays for per posting.
- Single characters are indexed (a one-character query can match) but dropped from
  query terms unless nothing longer remains.
"""
from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer as WhooshTokenizer

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
USERDICT_PATH = DATA_DIR / "userdict.txt"
STOPWORDS_PATH = DATA_DIR / "stopwords.txt"

HMM = True
"""jieba's HMM for unknown words, at index and query time alike (see module docstring)."""

LEGAL_TERM_BOOST = 2.0
"""How much more a user-dictionary legal term weighs in :func:`discriminative_terms`."""

# --- folding ---------------------------------------------------------------------

_FOLD: dict[int, int] = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})  # Ａ -> a directly
_FOLD.update({c: c + 32 for c in range(0x41, 0x5B)})  # A -> a (ASCII only: offsets stay put)
_FOLD[0x3000] = 0x20


def fold(text: str) -> str:
    """Full-width ASCII to half-width, ideographic space to space, ASCII to lower case.

    One character maps to one character, so offsets are preserved.
    """
    return text.translate(_FOLD)


# --- word classes ------------------------------------------------------------------

_BOUNDARY_MARKS = frozenset("。,;:!?、…")  # after folding: ，；：！？ become , ; : ! ?
_CJK_WORD = re.compile(r"[\u3400-\u9fff]+\Z")
_NUMBER = re.compile(r"[0-9.,%\-]+\Z")
_NUMERAL_WORD = re.compile(r"第?[〇零一二三四五六七八九十百千万亿两]+[条款项章节编号次届期]?\Z")

_WORD, _STOP, _BOUNDARY, _SKIP = 0, 1, 2, 3
_BLOCK_CACHE_SIZE = 200_000
_log = math.log


@dataclass(frozen=True, slots=True)
class Token:
    """A kept word: its (folded) text, word position and character span in the input."""

    text: str
    pos: int
    start: int
    end: int


# --- the analyzer ------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """Where jieba caches its prefix dictionary: ``$IPKB_CACHE/jieba`` or ``~/.cache/ipkb/jieba``."""
    root = os.environ.get("IPKB_CACHE")
    return Path(root) / "jieba" if root else Path.home() / ".cache" / "ipkb" / "jieba"


@lru_cache(maxsize=4)
def load_lexicon(path: Path = USERDICT_PATH) -> Mapping[str, tuple[int, str]]:
    """The user dictionary as word -> (frequency, tag); ``#`` lines are comments."""
    entries: dict[str, tuple[int, str]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            word = parts[0]
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            tag = parts[2] if len(parts) > 2 else "nz"
            entries[fold(word)] = (freq, tag)
    return entries


@lru_cache(maxsize=4)
def load_stopwords(path: Path = STOPWORDS_PATH) -> frozenset[str]:
    with open(path, encoding="utf-8") as fh:
        return frozenset(fold(w) for line in fh if (w := line.strip()) and not w.startswith("#"))


@contextmanager
def _quiet_jieba() -> Iterator[None]:
    """jieba logs "Building prefix dict..." to stderr at DEBUG; the library never prints."""
    jlog = logging.getLogger("jieba")
    level = jlog.level
    jlog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        jlog.setLevel(level)


class Analyzer:
    """jieba with the legal user dictionary, the stop list and word positions.

    Owns its own ``jieba.Tokenizer`` (never the global ``jieba.dt``), whose prefix
    dictionary is cached under :func:`default_cache_dir`. Safe to share between
    threads once built (cutting only reads the dictionary).
    """

    def __init__(self, *, userdict: Path = USERDICT_PATH, stopwords: Path = STOPWORDS_PATH,
                 cache_dir: Path | None = None, hmm: bool = HMM):
        import jieba  # the only jieba import in ipkb (imported lazily: it is slow to load)
        from jieba import finalseg

        self._re_han = jieba.re_han_default  # jieba's own block patterns and HMM
        self._re_skip = jieba.re_skip_default
        self._hmm_cut: Callable[[str], Iterator[str]] = finalseg.cut

        self.hmm = hmm
        self.lexicon = load_lexicon(userdict)
        self.stopwords = load_stopwords(stopwords)
        self._jieba = jieba.Tokenizer()
        cache = cache_dir or default_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache)
        except OSError:  # read-only home: jieba falls back to the system temp dir
            logger.warning("cannot create jieba cache dir %s; using the temp dir", cache)
        with _quiet_jieba():
            self._jieba.initialize()
        for word, (freq, tag) in self.lexicon.items():
            self._jieba.add_word(word, freq or None, tag)
        self._freq = self._jieba.FREQ
        self._logtotal = math.log(self._jieba.total)
        self._block_cache: dict[str, tuple[str, ...]] = {}
        self._kinds: dict[str, int] = {}
        self._subword_cache: dict[str, tuple[tuple[str, int, int], ...]] = {}

    # -- building blocks -------------------------------------------------------

    def _kind(self, word: str) -> int:
        kind = self._kinds.get(word)
        if kind is None:
            if word in _BOUNDARY_MARKS:
                kind = _BOUNDARY
            elif word in self.stopwords:
                kind = _STOP
            elif not any(ch.isalnum() for ch in word):
                kind = _SKIP
            else:
                kind = _WORD
            if len(self._kinds) < 500_000:
                self._kinds[word] = kind
        return kind

    def subwords(self, word: str) -> tuple[tuple[str, int, int], ...]:
        """Distinct dictionary words inside ``word`` as (text, start, end), for the index.

        They are the words of :meth:`finer_cut` and the dictionary words made of
        consecutive pieces of it, recursively: ``在先使用抗辩`` gives 在先使用, 使用, 抗辩;
        ``人民法院`` gives 人民, 法院 but not 民法, which only straddles the cut
        (jieba's search mode emits every dictionary 2- and 3-gram, 民法 included).
        Only for all-CJK words longer than two characters, never for numerals
        (第二十二条); stop words are left out.
        """
        cached = self._subword_cache.get(word)
        if cached is not None:
            return cached
        found: dict[str, tuple[str, int, int]] = {}
        n = len(word)
        if n > 2 and _CJK_WORD.match(word) and not _NUMERAL_WORD.match(word):
            freq, stops = self._freq, self.stopwords
            bounds = [0]
            for piece in self.finer_cut(word):
                bounds.append(bounds[-1] + len(piece))
            for a, start in enumerate(bounds[:-1]):
                for end in bounds[a + 1:]:
                    if end - start < 2 or (start == 0 and end == n):
                        continue
                    sub = word[start:end]
                    if sub in found or not freq.get(sub) or sub in stops:
                        continue
                    found[sub] = (sub, start, end)
                    for inner, s, e in self.subwords(sub):
                        found.setdefault(inner, (inner, start + s, start + e))
        out = tuple(found.values())
        if len(self._subword_cache) < 500_000:
            self._subword_cache[word] = out
        return out

    def finer_cut(self, word: str) -> list[str]:
        """The best jieba cut of ``word`` into smaller pieces (the word itself not allowed).

        ``合理保密措施`` -> 合理|保密措施, ``商标侵权`` -> 商标|侵权. Words of one or two
        characters, and non-CJK words, come back whole.
        """
        if len(word) <= 2 or not _CJK_WORD.match(word):
            return [word]
        ends = self._best_ends(word, whole=False)
        pieces, x = [], 0
        while x < len(word):
            pieces.append(word[x:ends[x] + 1])
            x = ends[x] + 1
        return pieces

    def segments(self, text: str) -> Iterator[tuple[str, int, int]]:
        """jieba precise-mode pieces of the folded text as (piece, start, end), covering it.

        Same pieces as ``jieba.Tokenizer.cut(text, HMM=self.hmm)``; with HMM the cut is
        :meth:`_cut_block`, a faster equivalent of jieba's, cached per block.
        """
        start = 0
        folded = fold(text)
        if not self.hmm:
            for piece in self._jieba.cut(folded, HMM=False):
                end = start + len(piece)
                yield piece, start, end
                start = end
            return
        for i, block in enumerate(self._re_han.split(folded)):
            if not block:
                continue
            if i % 2:  # the split's capturing group: a run jieba segments
                for piece in self._cut_block(block):
                    end = start + len(piece)
                    yield piece, start, end
                    start = end
            else:  # anything else: jieba emits whitespace runs and single characters
                for piece in self._re_skip.split(block):
                    if not piece:
                        continue
                    if self._re_skip.match(piece):
                        yield piece, start, start + len(piece)
                        start += len(piece)
                    else:
                        for ch in piece:
                            yield ch, start, start + 1
                            start += 1

    def _cut_block(self, block: str) -> tuple[str, ...]:
        """jieba's ``__cut_DAG`` (precise mode with HMM) for one block, memoised.

        The DAG and the best route are computed in one backward pass (jieba builds
        the DAG dict first, then maximises over it with tuples); ties go to the
        longer word as in jieba. Blocks repeat a lot in legal text (citations,
        boilerplate), hence the cache.
        """
        cached = self._block_cache.get(block)
        if cached is not None:
            return cached
        n = len(block)
        best_end = self._best_ends(block)
        pieces: list[str] = []
        buf = ""
        x = 0
        while x < n:
            y = best_end[x] + 1
            if y - x == 1:
                buf += block[x]
            else:
                if buf:
                    self._flush_single_chars(buf, pieces)
                    buf = ""
                pieces.append(block[x:y])
            x = y
        if buf:
            self._flush_single_chars(buf, pieces)
        out = tuple(pieces)
        if len(self._block_cache) >= _BLOCK_CACHE_SIZE:
            self._block_cache.clear()
        self._block_cache[block] = out
        return out

    def _best_ends(self, block: str, *, whole: bool = True) -> list[int]:
        """jieba's max-probability route: ``ends[i]`` is where the word starting at ``i`` ends.

        ``whole=False`` forbids the block itself as one word (for :meth:`finer_cut`).
        """
        freq = self._freq
        logtotal = self._logtotal
        n = len(block)
        score = [0.0] * (n + 1)
        best_end = list(range(n))
        for idx in range(n - 1, -1, -1):
            best = None
            end = idx
            i = idx
            frag = block[idx]
            while frag in freq:
                f = freq[frag]
                if f and (whole or idx or i != n - 1):
                    cand = _log(f) - logtotal + score[i + 1]
                    if best is None or cand >= best:
                        best, end = cand, i
                i += 1
                if i >= n:
                    break
                frag = block[idx:i + 1]
            if best is None:
                best = _log(freq.get(block[idx]) or 1) - logtotal + score[idx + 1]
            score[idx] = best
            best_end[idx] = end
        return best_end

    def _flush_single_chars(self, buf: str, pieces: list[str]) -> None:
        """A run of single characters: HMM-joined unless the run is itself a known word."""
        if len(buf) == 1:
            pieces.append(buf)
        elif not self._freq.get(buf):
            pieces.extend(self._hmm_cut(buf))
        else:
            pieces.extend(buf)

    def stream(self, text: str, *, subwords: bool, keep_stops: bool = False
               ) -> Iterator[tuple[str, int, int, int, bool]]:
        """The core token stream: (text, pos, start, end, stopped).

        ``stopped`` tokens are only produced with ``keep_stops`` (Whoosh's
        ``removestops=False``, used by highlighters); they share the position of the
        next kept word.
        """
        pos = 0
        gap = False
        kind_of = self._kind
        for piece, start, end in self.segments(text):
            kind = kind_of(piece)
            if kind == _WORD:
                if gap:
                    pos += 1
                    gap = False
                yield piece, pos, start, end, False
                if subwords and len(piece) > 2:
                    for sub, s, e in self.subwords(piece):
                        yield sub, pos, start + s, start + e, False
                pos += 1
            elif kind == _BOUNDARY:
                gap = pos > 0
            elif kind == _STOP and keep_stops:
                yield piece, pos, start, end, True

    def positions(self, text: str) -> dict[str, list[int]]:
        """word -> ascending positions, exactly as :meth:`index_tokens` would give them.

        The indexing fast path: one pass, no token objects (the index spends most of
        its time here and in Whoosh's posting pool).
        """
        out: dict[str, list[int]] = {}
        get = out.get
        kinds = self._kinds
        kind_of = self._kind
        subwords = self.subwords
        pos = 0
        gap = False
        for piece, _start, _end in self.segments(text):
            kind = kinds.get(piece)
            if kind is None:
                kind = kind_of(piece)
            if kind == _WORD:
                if gap:
                    pos += 1
                    gap = False
                lst = get(piece)
                if lst is None:
                    out[piece] = [pos]
                elif lst[-1] != pos:
                    lst.append(pos)
                if len(piece) > 2:
                    for sub, _s, _e in subwords(piece):
                        lst = get(sub)
                        if lst is None:
                            out[sub] = [pos]
                        elif lst[-1] != pos:
                            lst.append(pos)
                pos += 1
            elif kind == _BOUNDARY:
                gap = pos > 0
        return out

    # -- public API -------------------------------------------------------------

    def index_tokens(self, text: str) -> list[Token]:
        """Tokens as indexed: words, then each word's dictionary sub-words at its position."""
        return [Token(t, p, s, e) for t, p, s, e, _ in self.stream(text, subwords=True)]

    def query_tokens(self, text: str) -> list[Token]:
        """Tokens of a query or phrase: like the index, without sub-words.

        Single characters are kept here (a phrase needs them); positions show the
        gaps left by clause punctuation.
        """
        return [Token(t, p, s, e) for t, p, s, e, _ in self.stream(text, subwords=False)]

    def query_terms(self, text: str) -> list[str]:
        """Distinct query terms in order: stop words, punctuation and single characters dropped.

        Single characters survive only when nothing longer does (a one-character query).
        """
        words = [t.text for t in self.query_tokens(text)]
        longer = [w for w in words if len(w) > 1]
        return list(dict.fromkeys(longer or words))

    def phrase_groups(self, text: str) -> list[list[str]]:
        """The words of a quoted phrase, split where clause punctuation leaves a gap.

        Each group is matched as one phrase; ``"商标，侵权"`` becomes two groups.
        """
        groups: list[list[str]] = []
        last = None
        for tok in self.query_tokens(text):
            if last is None or tok.pos != last + 1:
                groups.append([])
            groups[-1].append(tok.text)
            last = tok.pos
        return groups

    def split_compound(self, word: str) -> list[str]:
        """``word`` as its :meth:`finer_cut`; a phrase query also tries this finer cut,
        because the same characters may be segmented differently in a document
        (``商标侵权`` here, ``注册商标|侵权`` there)."""
        return self.finer_cut(word)

    def is_legal_term(self, word: str) -> bool:
        return fold(word) in self.lexicon

    def is_statute_name(self, word: str) -> bool:
        entry = self.lexicon.get(fold(word))
        return entry is not None and entry[1] == "law"


_ANALYZER: Analyzer | None = None
_ANALYZER_LOCK = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide analyzer, built on first use (thread-safe).

    Worker processes started with spawn/forkserver do not inherit it: they call
    this themselves (the Whoosh tokenizer does, lazily) and load the cached dictionary.
    """
    global _ANALYZER
    if _ANALYZER is None:
        with _ANALYZER_LOCK:
            if _ANALYZER is None:
                _ANALYZER = Analyzer()
    return _ANALYZER


def is_legal_term(word: str) -> bool:
    """Whether ``word`` is in the legal/IP user dictionary (no jieba needed)."""
    return fold(word) in load_lexicon()


def is_statute_name(word: str) -> bool:
    """Whether ``word`` is a statute short name of the user dictionary (tag ``law``)."""
    entry = load_lexicon().get(fold(word))
    return entry is not None and entry[1] == "law"


# --- Whoosh ------------------------------------------------------------------------------

class JiebaTokenizer(WhooshTokenizer):
    """A Whoosh tokenizer over :class:`Analyzer` with word positions.

    ``mode="index"`` adds dictionary sub-words at their parent's position; any other
    mode (Whoosh passes ``mode="query"`` when parsing) does not. A ``mode`` given at
    call time wins over the constructor's. Pickles as its mode only: Whoosh stores the
    schema in the index, and the jieba instance is fetched lazily with :func:`get_analyzer`.
    """

    def __init__(self, mode: str = "index"):
        self.mode = mode

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.mode == self.mode  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.mode))

    def __getstate__(self) -> dict[str, str]:
        return {"mode": self.mode}

    def __setstate__(self, state: Mapping[str, str]) -> None:
        self.mode = state.get("mode", "index")

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs):
        t = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        subwords = (mode or self.mode) == "index"
        stream = get_analyzer().stream(value, subwords=subwords, keep_stops=not removestops)
        for text, pos, start, end, stopped in stream:
            t.text = text
            t.boost = 1.0
            t.stopped = stopped
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t


def jieba_analyzer(mode: str = "index") -> JiebaTokenizer:
    """The Whoosh analyzer for Chinese text fields (folding and lower-casing are built in)."""
    return JiebaTokenizer(mode)


# --- highlighting helpers (pure) -------------------------------------------------------------

def _term_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int, str]]:
    folded = fold(text)
    taken = bytearray(len(folded))
    spans: list[tuple[int, int, str]] = []
    for term in sorted({fold(t) for t in terms if t and t.strip()}, key=lambda t: (-len(t), t)):
        at = folded.find(term)
        while at >= 0:
            end = at + len(term)
            if not any(taken[at:end]):
                taken[at:end] = b"\x01" * len(term)
                spans.append((at, end, term))
                at = folded.find(term, end)
            else:
                at = folded.find(term, at + 1)
    spans.sort()
    return spans


def mark_terms(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of ``terms`` in ``text``, longest terms first, never overlapping, sorted.

    Matching is on folded text (case and full-width insensitive).
    """
    return [(s, e) for s, e, _ in _term_spans(text, terms)]


def best_window(text: str, terms: Sequence[str], width: int = 120) -> tuple[int, int]:
    """The ``width``-character window of ``text`` holding the most distinct terms.

    Ties go to the window with more occurrences, then to the earliest. The window
    starts a little before its first term so the snippet has some context.
    """
    n = len(text)
    if n <= width:
        return 0, n
    spans = _term_spans(text, terms)
    if not spans:
        return 0, width
    best = (-1, -1, 0)  # (distinct, occurrences, first span index)
    j = 0  # spans[i:j] are the ones inside the window starting at spans[i]
    inside: Counter[str] = Counter()
    for i, (start, _, term) in enumerate(spans):
        if j < i:
            j, inside = i, Counter()
        while j < len(spans) and spans[j][1] <= start + width:
            inside[spans[j][2]] += 1
            j += 1
        score = (len(inside), sum(inside.values()))
        if score > best[:2]:
            best = (*score, i)
        if j > i:
            inside[term] -= 1
            if not inside[term]:
                del inside[term]
    first = spans[best[2]][0]
    last = max((e for s, e, _ in spans if first <= s and e <= first + width), default=first)
    lead = max(0, min(20, (width - (last - first)) // 2))
    start = max(0, min(first - lead, n - width))
    return start, start + width


# --- long queries (pure) -------------------------------------------------------------------

MIN_DOCS_FOR_COMMON = 10


def discriminative_terms(text: str, doc_freq: Callable[[str], int], n_docs: int, *,
                         max_terms: int = 24, analyzer: Analyzer | None = None
                         ) -> list[tuple[str, float]]:
    """The terms of a long text (a case description) worth searching for, with weights.

    Weight = (1 + ln tf) x BM25 idf from the index, x :data:`LEGAL_TERM_BOOST` for
    user-dictionary legal terms (the elements lawyers match on). Terms in more than
    half of the documents are dropped (in collections of at least
    :data:`MIN_DOCS_FOR_COMMON` documents: in two candidates every shared word is in
    "half"), except statute names, which are kept; terms no
    document contains, numbers and single characters are dropped. Sorted by weight,
    heaviest first, at most ``max_terms``.
    """
    an = analyzer or get_analyzer()
    tf = Counter(t.text for t in an.query_tokens(text)
                 if len(t.text) > 1 and not _NUMBER.match(t.text))
    scored: list[tuple[str, float]] = []
    for term, count in tf.items():
        statute = an.is_statute_name(term)
        df = doc_freq(term) if n_docs > 0 else 0
        if n_docs > 0 and (df == 0 or (df > n_docs / 2 and not statute and n_docs >= MIN_DOCS_FOR_COMMON)):
            continue
        idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)) if n_docs > 0 else 1.0
        weight = (1.0 + math.log(count)) * idf
        if an.is_legal_term(term):
            weight *= LEGAL_TERM_BOOST
        scored.append((term, weight))
    scored.sort(key=lambda tw: (-tw[1], tw[0]))
    return scored[:max_terms]
