"""Helpers shared by the benchmarks: the machine, percentiles, the real corpus and its
replication, the query sets, peak memory and child processes.

Benchmarks measure; they never assert. Every figure they print comes from a run on
the machine they describe, with the load average read at the start and end of each
measurement, because the 2-core machines here are shared with other jobs.
"""
from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "corpus"
PROCEDURE_WORDS = frozenset({"民事", "行政", "刑事", "民事诉讼", "执行", "知识产权", "侵害"})
"""Guiding-case keywords that name the procedure or are too generic to be a search term."""

Item = tuple  # (kb.models.Document, list[kb.models.Passage])


# --------------------------------------------------------------------------- the machine

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """CPU model, cores, Python and the versions that matter (read without importing torch)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": _version("torch"), "whoosh": _version("whoosh-reloaded") or _version("whoosh"),
            "jieba": _version("jieba"), "sentence_transformers": _version("sentence-transformers"),
            "memory_gb": _memory_gb()}


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (2.0 means both cores busy)."""
    return [round(x, 2) for x in os.getloadavg()]


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------- statistics

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize_ms(seconds: Sequence[float]) -> dict:
    """p50/p95/mean/max in milliseconds of a list of durations in seconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000.0 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(sum(ms) / len(ms), 2), "max_ms": round(max(ms), 2)}


# --------------------------------------------------------------------------- memory

def _status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (``VmHWM``, ``VmRSS``) in MiB, None where unreadable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else 0.0


def children_peak_rss_mb() -> float:
    """The largest peak RSS among this process's finished children (e.g. Whoosh's index
    workers), in MiB; 0 when it had none."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# --------------------------------------------------------------------------- the corpus

def corpus_items(corpus: Path = CORPUS) -> list[Item]:
    """Every document of the shipped corpus, parsed and chunked by the ingest pipeline,
    in file order (deterministic)."""
    from ingest.pipeline import prepare
    from ingest.readers import iter_input_files, read_path

    items = []
    for path in iter_input_files([corpus]):
        result = read_path(path)
        if result.errors:
            raise SystemExit(f"{path}: cannot read: {result.errors[0]}")
        for raw in result.docs:
            items.append(prepare(raw))
    if not items:
        raise SystemExit(f"no documents under {corpus}")
    return items


def copy_id(doc_id: str, copy: int) -> str:
    """The id of copy ``copy`` of a document (copy 0 keeps the original id)."""
    return doc_id if copy == 0 else f"{doc_id}~copy{copy}"


def copy_item(item: Item, copy: int) -> Item:
    """A copy of a document with its passages under a distinct id; texts are shared, not altered."""
    doc, passages = item
    if copy == 0:
        return doc, list(passages)
    new_id = copy_id(doc.id, copy)
    prefix = f"{doc.id}#"
    new_passages = [replace(p, id=new_id + "#" + p.id[len(prefix):] if p.id.startswith(prefix) else f"{new_id}#{p.id}",
                            doc_id=new_id) for p in passages]
    return replace(doc, id=new_id), new_passages


def replicate(items: Sequence[Item], n: int) -> Iterable[Item]:
    """``n`` documents: all originals, then copy 1 of all, then copy 2, … (so every prefix
    mixes every document type in the corpus's proportions)."""
    for i in range(n):
        yield copy_item(items[i % len(items)], i // len(items))


def replication_note(distinct: int, n: int) -> dict:
    full, rest = divmod(n, distinct)
    if n <= distinct:
        text = f"{n} distinct real documents (no copies)"
    else:
        text = (f"{distinct} distinct real texts, each present {full} time(s)"
                + (f" and {rest} of them {full + 1} times" if rest else "")
                + f" under distinct ids ({n - distinct} copies)")
    return {"documents": n, "distinct_texts": min(n, distinct), "copies": max(0, n - distinct),
            "max_instances_of_a_text": full + (1 if rest else 0), "note": text}


def disable_block_cache() -> None:
    """Stop ipkb's analyzer memoising the cut of each text block.

    Replicated documents repeat every block, so the cache would make indexing copies
    cheaper than indexing distinct texts. Patched on the class (inherited by forked
    index workers) and on the process-wide analyzer if it was built already.
    """
    from kb import analysis

    class _NoMemo(dict):
        def __setitem__(self, key, value):  # never remembers a cut
            pass

    if getattr(analysis.Analyzer, "_bench_no_memo", False):
        return
    original_init = analysis.Analyzer.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._block_cache = _NoMemo()

    analysis.Analyzer.__init__ = init
    analysis.Analyzer._bench_no_memo = True
    if analysis._ANALYZER is not None:
        analysis._ANALYZER._block_cache = _NoMemo()


# --------------------------------------------------------------------------- query sets

def _kept_keywords(doc) -> list[str]:
    return [k for k in doc.keywords if k not in PROCEDURE_WORDS]


def short_queries(items: Sequence[Item], n: int = 100) -> list[str]:
    """``n`` keyword queries of 2-5 words, derived deterministically from the corpus.

    In order, until ``n``: the first two and then the last three (or four) keywords of
    each SPC guiding case (real legal terms chosen by the court); then a statute's or
    regulation's short name with a chapter heading of it (``著作权法 著作权许可使用和转让合同``);
    then a judgment's cause of action with a guiding-case keyword of the same IP category.
    """
    from kb.models import LEGAL_TEXT_TYPES

    out: list[str] = []
    guiding = sorted((d for d, _ in items if d.doc_type == "guiding_case"), key=lambda d: d.guiding_no or 0)
    for doc in guiding:
        words = _kept_keywords(doc)
        if len(words) >= 2:
            out.append(" ".join(words[:2]))
    for doc in guiding:
        words = _kept_keywords(doc)
        if len(words) >= 3:
            out.append(" ".join(words[-4:] if len(words) >= 5 else words[-3:]))
    chapter = re.compile(r"^第[一二三四五六七八九十百零〇]+[章节]\s*")
    for doc, _ in items:
        if doc.doc_type not in LEGAL_TEXT_TYPES or not doc.law_name or len(doc.law_name) > 12:
            continue
        headings = list(dict.fromkeys(h for s in doc.sections for h in s.path))
        headings = [chapter.sub("", h).strip() for h in headings if chapter.match(h)]
        headings = [h for h in headings if 2 <= len(h) <= 16 and h not in ("总则", "附则")]
        if headings:
            out.append(f"{doc.law_name} {headings[len(headings) // 2]}")
    by_category: dict[str, list[str]] = {}
    for doc in guiding:
        for cat in doc.ip_categories:
            by_category.setdefault(cat, []).extend(_kept_keywords(doc)[1:2])
    for doc, _ in items:
        if doc.doc_type == "judgment" and doc.cause and len(doc.cause) <= 12:
            extra = by_category.get(doc.ip_category, [])
            if extra:
                out.append(f"{doc.cause} {extra[len(out) % len(extra)]}")
    out = list(dict.fromkeys(q for q in out if 2 <= len(q.split()) <= 5))
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct short queries could be derived from the corpus")
    return out[:n]


def fact_texts(items: Sequence[Item]) -> list[tuple[str, str]]:
    """(document id, facts text) of every guiding case and judgment with a facts-like section."""
    out = []
    for doc, _ in items:
        if doc.doc_type not in ("guiding_case", "judgment"):
            continue
        facts = "\n".join(s.text for s in doc.sections if s.kind == "facts").strip()
        if facts:
            out.append((doc.id, facts))
    return out


def _spread(pool: Sequence, n: int) -> list:
    if len(pool) <= n:
        return list(pool)
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)]


def long_queries(items: Sequence[Item], n: int = 20, length: int = 500) -> list[dict]:
    """``n`` case descriptions of exactly ``length`` characters: the first ``length``
    characters of real facts sections, half from guiding cases, half from judgments
    (spread evenly over the corpus order)."""
    facts = [(d, t) for d, t in fact_texts(items) if len(t) >= length]
    guiding = [(d, t) for d, t in facts if d.startswith("指导案例")]
    judgments = [(d, t) for d, t in facts if not d.startswith("指导案例")]
    chosen = _spread(guiding, n // 2) + _spread(judgments, n - n // 2)
    if len(chosen) < n:
        raise SystemExit(f"only {len(chosen)} facts sections of ≥ {length} characters in the corpus")
    return [{"source": d, "text": t[:length]} for d, t in chosen]


def case_descriptions(items: Sequence[Item], n: int = 20, low: int = 200, high: int = 800) -> list[dict]:
    """``n`` real case descriptions of ``low``-``high`` characters: facts sections of
    guiding cases and judgments, cut at the last sentence end before ``high`` when longer."""
    facts = [(d, t) for d, t in fact_texts(items) if len(t) >= low]
    guiding = [(d, t) for d, t in facts if d.startswith("指导案例")]
    judgments = [(d, t) for d, t in facts if not d.startswith("指导案例")]
    out = []
    for doc_id, text in _spread(guiding, n // 2) + _spread(judgments, n - n // 2):
        if len(text) > high:
            cut = max(text.rfind(p, low, high) for p in "。；！？")
            text = text[:cut + 1] if cut >= low else text[:high]
        out.append({"source": doc_id, "text": text})
    return out


# --------------------------------------------------------------------------- child processes

def run_child(script: Path, args: Sequence[str], out_json: Path, *, env: dict | None = None,
              log: Callable[[str], None] = print) -> dict:
    """Run ``python script args`` in its own process (its own heap) and read the JSON it wrote."""
    out_json.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), *args, "--child-out", str(out_json)]
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not out_json.exists():
        log(proc.stdout[-4000:])
        log(proc.stderr[-4000:])
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(cmd)}")
    return json.loads(out_json.read_text(encoding="utf-8"))


def print_machine(result: dict, *packages: str) -> None:
    """The header of every table: the machine, the package versions that matter, the load."""
    m = result["machine"]
    versions = "".join(f", {p} {m.get(p)}" for p in packages)
    print(f"\nmachine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; python {m['python']}{versions}")
    print(f"load average: start {result['load_average_start']}, end {result['load_average_end']}")


def report(result: dict, print_table: Callable[[dict], None], json_path: Path | None) -> None:
    """Print a benchmark's table and write its JSON when asked."""
    print_table(result)
    if json_path:
        write_json(json_path, result)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)
