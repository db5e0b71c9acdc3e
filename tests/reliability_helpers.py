"""Shared tools of the reliability suites (bad input, crash safety, concurrency, queries).

Everything runs the real ``kb`` command in a subprocess (``python -m kb.cli``) with
the fake embedder, and inspects the knowledge base from outside: the SQLite store
read-only, the Whoosh index through a fresh backend. Nothing here holds the write
lock, so a check never changes what it checks.

Fault injection (:func:`fault_command`) runs the same command in a child that
kills itself with SIGKILL at a named point of the write protocol: the deterministic
counterpart of the random kills, one per class of crash.

Also used by ``bench/reliability_run.py`` (which adds ``tests/`` to ``sys.path``).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st
from readers_helpers import (
    assemble_pdf,
    court_pdf_paragraphs,
    encrypt_pdf,
    layout_paragraphs,
    make_court_pdf,
    make_pdf_without_unicode_map,
    make_scanned_pdf,
    make_zip_bomb_docx,
)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"

LIVE, PENDING, DELETING = 1, 0, 2  # kb.store's document states

QUERIES = ("专利", "商标 侵权", "著作权", "不正当竞争 商业秘密", "假冒注册商标罪", "赔偿")
"""Searches run after every crash: each hit must be a complete, live document."""


# --- running the command line ------------------------------------------------------------

def kb_command(home: Path, *args: str, embedder: str | None = "fake") -> list[str]:
    """``python -m kb.cli --home HOME [--embedder E] ARGS`` with this interpreter."""
    cmd = [sys.executable, "-m", "kb.cli", "--home", str(home)]
    if embedder:
        cmd += ["--embedder", embedder]
    return cmd + [str(a) for a in args]


def child_env() -> dict[str, str]:
    """The environment of a child ``kb``: no inherited home or embedder, UTF-8 output."""
    env = {k: v for k, v in os.environ.items() if k not in ("KB_HOME", "IPKB_EMBEDDER")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class Finished:
    """A finished child: exit status (negative: killed by that signal), output, peak memory."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss: int = 0  # bytes; 0 when not measured
    seconds: float = 0.0

    def json(self):
        return json.loads(self.stdout)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def run(cmd: Sequence[str], *, timeout: float = 300, stdin: bytes | None = None) -> Finished:
    """Run a command to completion (no shell), capturing bytes and decoding them leniently."""
    start = time.monotonic()
    done = subprocess.run(list(cmd), capture_output=True, timeout=timeout, env=child_env(), cwd=REPO,
                          input=stdin, check=False)
    return Finished(done.returncode, _decode(done.stdout), _decode(done.stderr),
                    seconds=time.monotonic() - start)


def run_kb(home: Path, *args: str, embedder: str | None = "fake", timeout: float = 300) -> Finished:
    return run(kb_command(home, *args, embedder=embedder), timeout=timeout)


_MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: Sequence[str], workdir: Path, *, timeout: float = 600) -> Finished:
    """Run a command and report the peak resident memory of that command alone.

    On Linux a forked child's ``ru_maxrss`` starts from its parent's resident size, and
    the pytest process may hold gigabytes (models loaded by other tests). So a small
    Python wrapper starts the command and reads its rusage with ``os.wait4``: the
    command is forked from the small wrapper, not from pytest.
    """
    out, err, rss = workdir / "measured.out", workdir / "measured.err", workdir / "measured.rss"
    start = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(rss), *map(str, cmd)], stdout=fo, stderr=fe,
                              env=child_env(), cwd=REPO, timeout=timeout, check=False)
    return Finished(proc.returncode, _decode(out.read_bytes()), _decode(err.read_bytes()),
                    peak_rss=int(rss.read_text()), seconds=time.monotonic() - start)


class Child:
    """A ``kb`` command running in the background, its output going to files."""

    def __init__(self, cmd: Sequence[str], logdir: Path, name: str = "child"):
        logdir.mkdir(parents=True, exist_ok=True)
        self._out, self._err = logdir / f"{name}.out", logdir / f"{name}.err"
        self._fo, self._fe = open(self._out, "wb"), open(self._err, "wb")  # noqa: SIM115 (closed in wait)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(list(cmd), stdout=self._fo, stderr=self._fe, env=child_env(), cwd=REPO)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL it; True if it was still running (so the kill interrupted it)."""
        alive = self.running()
        if alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return alive

    def wait(self, timeout: float = 300) -> Finished:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._fo.close()
            self._fe.close()
        return Finished(self.proc.returncode, _decode(self._out.read_bytes()), _decode(self._err.read_bytes()),
                        seconds=time.monotonic() - self.started)


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def lock_holder(home: Path) -> str:
    """What ``HOME/write.lock`` says about its holder ("" when free or missing)."""
    try:
        return (home / "write.lock").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


# --- fault injection --------------------------------------------------------------------------

FAULT_POINTS = {
    # name: (module, class, method, when) -- "before": die instead of running the nth call;
    # "after": die right after the nth call returned.
    "embedding": ("kb.embeddings", "FakeEmbedder", "embed_passages", "before"),
    "store_transaction": ("kb.store", "Store", "_delete_rows", "before"),
    "indexing": ("kb.whoosh_backend", "WhooshBackend", "add", "after"),
    "lexical_commit": ("whoosh.writing", "SegmentWriter", "_commit_toc", "before"),
    "after_lexical_commit": ("kb.whoosh_backend", "WhooshBackend", "commit", "after"),
    "mark_live": ("kb.store", "Store", "mark_live", "before"),
    "record_source": ("kb.store", "Store", "record_source", "before"),
    "delete_lexical": ("kb.whoosh_backend", "WhooshBackend", "delete", "after"),
    "delete_purge": ("kb.store", "Store", "purge", "before"),
}
"""Where a writer can die, in protocol order (see kb/store.py's docstring)."""

_FAULT_RUNNER = """
import importlib, inspect, os, signal, sys
module, cls, method, when, nth = sys.argv[1:6]
owner = getattr(importlib.import_module(module), cls)
original = getattr(owner, method)
static = isinstance(inspect.getattr_static(owner, method), staticmethod)
calls = [0]
def patched(*args, **kwargs):
    calls[0] += 1
    if calls[0] == int(nth) and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    if calls[0] == int(nth) and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, method, staticmethod(patched) if static else patched)
from kb.cli import main
main(sys.argv[6:], prog_name="kb")
"""


def fault_command(home: Path, point: str, nth: int, *args: str, embedder: str = "fake") -> list[str]:
    """The ``kb`` command ``args``, killed by SIGKILL at the ``nth`` pass through ``point``."""
    module, cls, method, when = FAULT_POINTS[point]
    return [sys.executable, "-c", _FAULT_RUNNER, module, cls, method, when, str(nth),
            "--home", str(home), "--embedder", embedder, *[str(a) for a in args]]


# --- looking at a knowledge base from outside -------------------------------------------------

def store_rows(home: Path) -> dict[str, tuple[int, str]]:
    """Every document row of the store: id -> (state, content hash), read-only."""
    db = sqlite3.connect(f"file:{home / 'kb.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, state, content_hash FROM documents")}
    finally:
        db.close()


def live_ids(home: Path) -> set[str]:
    return {d for d, (state, _) in store_rows(home).items() if state == LIVE}


def lexical_ids(home: Path) -> set[str]:
    """Ids in the committed full-text index (a fresh reader, as another process sees it)."""
    from kb.whoosh_backend import WhooshBackend
    backend = WhooshBackend(home / "lexical")
    try:
        return backend.doc_ids()
    finally:
        backend.close()


def check_json(home: Path) -> dict:
    """``kb check --json`` (no repair): the report as a dict, with the exit status as ``exit``."""
    done = run_kb(home, "check", "--json", embedder=None)
    report = done.json()
    report["exit"] = done.returncode
    return report


def assert_only_complete_documents(home: Path, queries: Iterable[str] = QUERIES,
                                   modes: Sequence[str] = ("bm25", "hybrid")) -> int:
    """What a reader may see right after a crash: only whole, live documents.

    - every id the full-text index holds is a document of the store (possibly
      PENDING/DELETING: searches drop those), never one the store lacks;
    - every hit of a search (each mode) is a live document that can be shown and
      has passages. Returns the number of hits checked.
    """
    from kb.knowledge import KnowledgeBase
    rows = store_rows(home)
    stray = lexical_ids(home) - set(rows)
    assert not stray, f"full-text index holds ids the store does not: {sorted(stray)[:5]}"
    checked = 0
    with KnowledgeBase.open(home, embedder="fake", create=False) as kb:
        for query in queries:
            for mode in modes:
                for hit in kb.search(query, k=20, mode=mode).hits:
                    assert rows.get(hit.id, (None,))[0] == LIVE, f"{query!r}/{mode}: hit {hit.id} is not live"
                    assert kb.get(hit.id).id == hit.id
                    assert kb.passages(hit.id), f"hit {hit.id} has no passages"
                    checked += 1
    return checked


def assert_consistent_and_unique(home: Path) -> dict[str, str]:
    """After a completed ingest: ``kb check`` consistent, nothing pending, content hashes unique.

    Returns id -> content hash of the live documents.
    """
    report = check_json(home)
    assert report["ok"] and report["exit"] == 0, report
    rows = store_rows(home)
    assert all(state == LIVE for state, _ in rows.values()), {d: s for d, (s, _) in rows.items() if s != LIVE}
    hashes = [h for _, h in rows.values()]
    assert len(hashes) == len(set(hashes)), "two live documents share one content hash"
    assert lexical_ids(home) == set(rows)
    return {d: h for d, (_, h) in rows.items()}


def expected_documents(paths: Iterable[Path]) -> dict[str, str]:
    """id -> content hash that ingesting ``paths`` should store, computed in-process by the
    same readers and parsers (not hard-coded), duplicates by content dropped as the pipeline does."""
    from ingest.pipeline import prepare
    from ingest.readers import iter_input_files, read_path
    out: dict[str, str] = {}
    seen: set[str] = set()
    for path in iter_input_files(paths):
        for raw in read_path(path).docs:
            doc, _ = prepare(raw)
            if doc.content_hash in seen and doc.id not in out:
                continue
            seen.add(doc.content_hash)
            out[doc.id] = doc.content_hash
    return out


# --- inputs ---------------------------------------------------------------------------------

GOOD_FILES = {
    "指导案例20号.json": "guiding-cases/指导案例20号.json",
    "专利法(2020-10-17).md": "laws/专利法(2020-10-17).md",
    "lecardv2_ip_criminal.jsonl": "judgments/lecardv2_ip_criminal.jsonl",
}
"""Good real documents copied from corpus/ into the mixed folders (target name -> corpus path)."""


def copy_corpus_subset(target: Path, members: Iterable[str]) -> Path:
    """Copy some corpus/ files or folders (relative paths) into ``target``, keeping their layout."""
    for rel in members:
        src = CORPUS / rel
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    return target


def real_text(chars: int, *, seed: int = 0) -> str:
    """``chars`` characters of real judgment text (corpus fact excerpts, repeated as needed)."""
    texts = []
    with open(CORPUS / "judgments" / "ip_case_fact_excerpts.jsonl", encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
    random.Random(seed).shuffle(texts)
    out, total = [], 0
    while total < chars:
        for t in texts:
            out.append(t)
            total += len(t)
            if total >= chars:
                break
    return "".join(out)[:chars]


def fact_excerpts() -> list[dict]:
    with open(CORPUS / "judgments" / "ip_case_fact_excerpts.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _mixed_line_endings(text: str) -> str:
    """The same text with its sentence breaks as CRLF, CR and LF in turn."""
    parts = text.split("。")
    endings = ["。\r\n", "。\r", "。\n"]
    return "".join(p + endings[i % 3] for i, p in enumerate(parts[:-1])) + parts[-1]


def build_good(folder: Path) -> list[Path]:
    """Good documents, all real text: corpus copies, re-encodings, odd-but-legal names."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, rel in GOOD_FILES.items():
        made.append(folder / name)
        shutil.copy2(CORPUS / rel, made[-1])
    excerpts = fact_excerpts()
    encodings = [("gb18030 编码.txt", "gb18030", 3), ("utf16-bom.txt", "utf-16", 5),
                 ("utf16le-no-bom.txt", "utf-16-le", 7)]
    for name, encoding, index in encodings:
        made.append(folder / name)
        made[-1].write_bytes(excerpts[index]["text"].encode(encoding))
    made.append(folder / "mixed line endings.txt")
    made[-1].write_bytes(_mixed_line_endings(excerpts[9]["text"]).encode("utf-8"))
    # names with a control character, a line break, spaces and Chinese: real documents inside
    made.append(folder / "好 文件\x01名.md")
    shutil.copy2(CORPUS / "laws" / "商标法(2019-04-23).md", made[-1])
    made.append(folder / "换\n行 名.txt")
    made[-1].write_text(excerpts[11]["text"], encoding="utf-8")
    made.append(folder / "上诉..状.txt")  # ".." inside a name is just a name
    made[-1].write_text(excerpts[13]["text"], encoding="utf-8")
    return made


def make_pdf_flate_bomb(inflated_mb: int = 120) -> bytes:
    """SYNTHETIC: a one-page PDF whose content stream is ~0.4 MB deflated and ``inflated_mb`` MB inflated."""
    import zlib

    unit = b"BT /F1 12 Tf 50 700 Td (AAAAAAAAAAAAAAAAAAAA) Tj ET\n"
    block = unit * (1_000_000 // len(unit))
    deflate = zlib.compressobj(9)
    data = b"".join(deflate.compress(block) for _ in range(inflated_mb)) + deflate.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
         b"/Contents 4 0 R >>"),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return assemble_pdf(objects)


def build_bad(folder: Path) -> dict[str, str]:
    """Bad files (and one bad record); returns file name -> a word its failure line must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261126)
    pdf, _ = make_court_pdf(layout_paragraphs(court_pdf_paragraphs()))
    bad: dict[str, bytes] = {
        "empty.txt": b"",
        "blank.md": " \n\t\n\u3000\n".encode("utf-8"),
        "garbage.pdf": rng.randbytes(4096),                   # synthetic random bytes
        "truncated.pdf": pdf[: len(pdf) // 2],
        "encrypted.pdf": encrypt_pdf(pdf, "secret"),
        "scan.pdf": make_scanned_pdf(),
        "mojibake.pdf": make_pdf_without_unicode_map(),       # synthetic (see its builder)
        "deep.json": b"[" * 100_000 + b"]" * 100_000,          # synthetic nesting
        "bomb.docx": make_zip_bomb_docx(),                    # synthetic zip bomb
        "bomb.pdf": make_pdf_flate_bomb(),                    # synthetic decompression bomb
        "a..b.json": b'{"title": "unterminated", "text": ',   # synthetic broken JSON
        "坏\n文件\x01.pdf": rng.randbytes(2048),                # synthetic, hostile name
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    with open(folder / "huge.txt", "wb") as handle:  # 100 MB, sparse: refused by size
        handle.truncate(100 * 1024 * 1024)
    lines = (CORPUS / "judgments" / "cail2018_ip_criminal_facts.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "one bad line.jsonl").write_text(
        "\n".join([lines[0], '{"text": "unterminated', lines[1], lines[2]]) + "\n", encoding="utf-8")
    reasons = {
        "empty.txt": "empty", "blank.md": "no text", "garbage.pdf": "PDF", "truncated.pdf": "damaged",
        "encrypted.pdf": "encrypted", "scan.pdf": "no text layer", "mojibake.pdf": "unreadable",
        "deep.json": "nesting", "bomb.docx": "zip bomb", "bomb.pdf": "decompressing", "a..b.json": "invalid JSON",
        "坏\n文件\x01.pdf": "PDF", "huge.txt": "limit", "one bad line.jsonl": "line 2",
    }
    return reasons


# --- queries ----------------------------------------------------------------------------------

FRAGMENTS = [
    '"', "“", "”", "＂", "「", "」", "『", "』", "(", ")", "（", "）", "((", "))",
    "AND", "OR", "NOT", "NOT NOT", "AND OR", "且", "或", "非", "&&", "||", "-", "--", "+",
    ":", ":::", "：", "foo:bar", "法院:", "类型:法律", "type:nothing", "year:abc", "year:2019-2021",
    "year:99999999999999999999", "statute:专利法第11条", "法条:", "id:", 'title:"', "案号:（2014）",
    "authority:9", "status:", "*", "?", "~", "^", "\\", "/", "#", "%", "'",
    "\x00", "\x01", "\x1b[31m", "\n", "\r", "\t", "\u3000", "\u200b", "\u200f", "\u202e", "\u2066",
    "\ufeff", "\ufffd", "😀", "👨‍👩‍👧", "🇨🇳", "，", "。", "！", "；", "、", "ﾊﾟ", "é", "ع", "ש",
    "专利", "商标侵权", "假冒注册商标罪", "著作权", "第十一条", "反不正当竞争法#9", "指导案例20号",
]

queries = st.one_of(  # hypothesis strategy for query strings
    st.text(max_size=200),  # any code points except surrogates
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=16).map("".join),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=16).map(" ".join),
)


def long_queries() -> dict[str, str]:
    """100,000-character queries: real text, repeats, random code points, operator walls."""
    rng = random.Random(7)
    sample = real_text(5000, seed=1)
    words = ["".join(rng.choice(sample) for _ in range(2)) for _ in range(30_000)]
    anything = [0x20, 0x7E, 0x4E00, 0x9FA5, 0x1F600, 0x1F64F]
    return {
        "real Chinese": real_text(100_000),
        "repeated": "商标侵权" * 25_000,
        "random CJK": "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(100_000)),
        "random mixed": "".join(chr(rng.randint(*rng.choice([anything[0:2], anything[2:4], anything[4:6]])))
                                for _ in range(100_000)),
        "words joined by OR": " OR ".join(words)[:100_000],
        "sentences joined by AND": " AND ".join(real_text(100_000).split("。"))[:100_000],
        "field on every word": " ".join(f"法院:{w}" for w in words)[:100_000],
        "parentheses": "(" * 49_999 + "商标" + ")" * 49_999,
        "open quotes": '"商标 ' * 25_000,
        "operators only": "NOT " * 25_000,
    }
