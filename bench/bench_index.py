"""Full-text indexing and query latency: ipkb against naive Whoosh + jieba, same run.

Usage::

    .venv/bin/python bench/bench_index.py [--sizes 1000,5000,20000] [--json OUT]
        [--configs baseline,ipkb,ipkb-procs2] [--skip-baseline-long] [--baseline-long-cap 5]

Configurations (each build and each query phase runs in its own child process, so
peak memory is that configuration's alone):

- ``baseline``: the naive setup: whoosh-reloaded with jieba's stock
  ``jieba.analyse.ChineseAnalyzer`` on one TEXT field holding the document text
  (``stored=True``, as jieba's example does) plus an ID field; ``ix.writer()`` with
  default settings, one commit; default scoring (BM25F). Queries go through Whoosh's
  ``QueryParser`` on that field: short queries with its default AND group, case
  descriptions with ``OrGroup`` (every segmented word ORed, as in
  /work/shared/notes/stack-facts.md; with AND a description only finds itself).
- ``ipkb``: what ``kb ingest`` does with ``--embedder none``: ``KnowledgeBase.add``
  (store + Whoosh backend) under ``writing()`` in batches of ``ingest.pipeline.BATCH_DOCS``,
  made visible (one Whoosh commit) every ``ingest.pipeline.COMMIT_DOCS``; queries through ``KnowledgeBase.search(mode="bm25")``
  (snippets, highlights and facets included); the time inside the Whoosh backend's
  ``search`` is reported beside it.
- ``ipkb-procs2``: the same with ``WhooshBackend(procs=2, multisegment=True)``.
- ``ipkb-1batch`` / ``ipkb-1batch-procs2``: one ``KnowledgeBase.add`` of every
  document (one Whoosh writer, one commit), one or two index processes.

Documents: the shipped corpus/ parsed by the ingest pipeline (443 documents),
replicated under distinct ids to reach each size. ipkb's analyzer memoises the cut
of each text block; replicated texts would make that cache unrealistically hot, so
it is disabled in every ipkb process (see ``common.disable_block_cache``); the
baseline has no such cache. Both analyzers are initialised before the clock starts.

Queries: 100 short keyword queries (2-5 words) derived from the corpus (guiding-case
keywords, statute names with chapter headings) and 20 case descriptions (the first
500 characters of real facts sections of guiding cases and judgments). Short
queries run twice: the first pass reads posting lists cold (fresh process), the
second is warm. The first query of a process (a warm-up word, not in the set) is
timed apart: it loads jieba and, for ipkb, a reader snapshot.
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SCRIPT = Path(__file__).resolve()
CONFIGS = ("baseline", "ipkb", "ipkb-procs2", "ipkb-1batch", "ipkb-1batch-procs2")
DEFAULT_CONFIGS = "baseline,ipkb,ipkb-1batch-procs2"
WARMUP_QUERY = "著作权"
TARGETS = {"long_p50_s": 0.5, "short_p50_ms": 50.0, "indexing_x_baseline": 4.0}


# --------------------------------------------------------------------------- builds (child)

def _load_items(path: Path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def build_baseline(items, size: int, directory: Path) -> dict:
    import jieba
    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    t_init = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.initialize()
    init_s = time.perf_counter() - t_init
    schema = Schema(id=ID(stored=True, unique=True), content=TEXT(stored=True, analyzer=ChineseAnalyzer()))
    rss_start = common.current_rss_mb()
    start = time.perf_counter()
    ix = index.create_in(str(directory), schema)
    writer = ix.writer()
    chars = 0
    for doc, _ in common.replicate(items, size):
        writer.add_document(id=doc.id, content=doc.text)
        chars += len(doc.text)
    writer.commit()
    seconds = time.perf_counter() - start
    ix.close()
    return {"seconds": seconds, "chars": chars, "init_s": init_s, "rss_start_mb": rss_start,
            "lexical_bytes": common.dir_size(directory), "store_bytes": 0}


def build_ipkb(items, size: int, directory: Path, *, batch: int | None, procs: int) -> dict:
    from ingest.pipeline import BATCH_DOCS, COMMIT_DOCS
    from kb.analysis import get_analyzer
    from kb.knowledge import KnowledgeBase
    from kb.whoosh_backend import WhooshBackend

    common.disable_block_cache()
    t_init = time.perf_counter()
    get_analyzer()
    init_s = time.perf_counter() - t_init
    batch = batch or BATCH_DOCS
    rss_start = common.current_rss_mb()
    start = time.perf_counter()
    kb = KnowledgeBase.open(directory, embedder="none")
    if procs > 1:
        kb.lexical.close()
        kb.lexical = WhooshBackend(directory / "lexical", procs=procs, multisegment=True)
    chars = since_commit = 0
    with kb.writing():  # commits what is left on the way out
        pending = []
        for item in common.replicate(items, size):
            pending.append(item)
            chars += len(item[0].text)
            if len(pending) >= batch:
                kb.add(pending, commit=False)
                since_commit += len(pending)
                pending = []
                if since_commit >= COMMIT_DOCS:
                    kb.commit()
                    since_commit = 0
        if pending:
            kb.add(pending, commit=False)
    kb.close()
    seconds = time.perf_counter() - start
    store = sum(p.stat().st_size for p in directory.glob("kb.sqlite*"))
    return {"seconds": seconds, "chars": chars, "init_s": init_s, "rss_start_mb": rss_start, "batch": batch,
            "procs": procs, "lexical_bytes": common.dir_size(directory / "lexical"), "store_bytes": store}


def child_build(args) -> dict:
    items = _load_items(args.items)
    directory = Path(args.dir)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    load_before = common.load_average()
    if args.config == "baseline":
        out = build_baseline(items, args.size, directory)
    else:
        out = build_ipkb(items, args.size, directory, batch=size_of_batch(args.config, args.size),
                         procs=2 if args.config.endswith("procs2") else 1)
    out.update(docs=args.size, docs_per_s=args.size / out["seconds"], chars_per_s=out["chars"] / out["seconds"],
               peak_rss_mb=common.peak_rss_mb(), workers_peak_rss_mb=common.children_peak_rss_mb(),
               load_before=load_before, load_after=common.load_average())
    return out


def size_of_batch(config: str, size: int) -> int | None:
    return size if "1batch" in config else None


# --------------------------------------------------------------------------- queries (child)

def _time_each(fn, queries) -> tuple[list[float], list]:
    times, results = [], []
    for q in queries:
        start = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - start)
    return times, results


def query_baseline(directory: Path, short, long_texts, long_cap: int | None) -> dict:
    import jieba
    from whoosh import index
    from whoosh.qparser import OrGroup, QueryParser

    jieba.setLogLevel(60)
    ix = index.open_dir(str(directory))
    searcher = ix.searcher()
    and_parser = QueryParser("content", ix.schema)
    or_parser = QueryParser("content", ix.schema, group=OrGroup)

    def run(parser):
        def one(q):
            results = searcher.search(parser.parse(q), limit=10)
            return [hit["id"] for hit in results]
        return one

    start = time.perf_counter()
    run(and_parser)(WARMUP_QUERY)
    first = time.perf_counter() - start
    s1, r1 = _time_each(run(and_parser), short)
    s2, _ = _time_each(run(and_parser), short)
    long_used = long_texts[:long_cap] if long_cap else long_texts
    l1, lr = _time_each(run(or_parser), long_used)
    searcher.close()
    ix.close()
    return {"first_query_s": first, "short_cold": s1, "short_warm": s2, "long_cold": l1, "long_warm": [],
            "short_with_hits": sum(1 for r in r1 if r), "long_with_hits": sum(1 for r in lr if r),
            "long_measured": len(long_used)}


def query_ipkb(directory: Path, short, long_texts) -> dict:
    from kb.knowledge import KnowledgeBase

    common.disable_block_cache()
    kb = KnowledgeBase.open(directory, embedder="none", create=False)
    backend_times: list[float] = []
    inner = kb.lexical.search

    def timed_backend(*a, **kw):
        start = time.perf_counter()
        try:
            return inner(*a, **kw)
        finally:
            backend_times.append(time.perf_counter() - start)

    kb.lexical.search = timed_backend

    def one(q):
        return kb.search(q, k=10, mode="bm25")

    def measured(queries):
        backend_times.clear()
        times, results = _time_each(one, queries)
        return times, list(backend_times), results

    start = time.perf_counter()
    one(WARMUP_QUERY)
    first = time.perf_counter() - start
    s1, b1, r1 = measured(short)
    s2, b2, _ = measured(short)
    l1, lb1, lr = measured(long_texts)
    l2, lb2, _ = measured(long_texts)
    notes = sorted({n for r in lr for n in r.notes})
    kb.close()
    return {"first_query_s": first, "short_cold": s1, "short_warm": s2, "long_cold": l1, "long_warm": l2,
            "backend_short_cold": b1, "backend_short_warm": b2, "backend_long_cold": lb1, "backend_long_warm": lb2,
            "short_with_hits": sum(1 for r in r1 if r.hits), "long_with_hits": sum(1 for r in lr if r.hits),
            "long_measured": len(long_texts), "long_notes": notes[:5]}


def child_query(args) -> dict:
    queries = _load_items(args.queries)
    load_before = common.load_average()
    if args.config == "baseline":
        raw = query_baseline(Path(args.dir), queries["short"], queries["long"], args.long_cap or None)
    else:
        raw = query_ipkb(Path(args.dir), queries["short"], queries["long"])
    out = {k: v for k, v in raw.items() if not isinstance(v, list) or k == "long_notes"}
    for key, values in raw.items():
        if isinstance(values, list) and key != "long_notes":
            out[key] = common.summarize_ms(values)
    out.update(peak_rss_mb=common.peak_rss_mb(), load_before=load_before, load_after=common.load_average())
    return out


# --------------------------------------------------------------------------- the parent

def run(args) -> dict:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    items = common.corpus_items()
    parse_s = time.perf_counter() - t0
    short = common.short_queries(items)
    long_queries = common.long_queries(items)
    items_path, queries_path = workdir / "items.pkl", workdir / "queries.pkl"
    with open(items_path, "wb") as fh:
        pickle.dump(items, fh)
    with open(queries_path, "wb") as fh:
        pickle.dump({"short": short, "long": [q["text"] for q in long_queries]}, fh)
    result = {"bench": "bench_index", "date_utc": common.utc_now(), "machine": common.machine_info(),
              "load_average_start": common.load_average(),
              "corpus": {"documents": len(items), "chars": sum(len(d.text) for d, _ in items),
                         "parse_s": round(parse_s, 2)},
              "block_cache": "disabled in every ipkb process (replicated texts would hit it)",
              "queries": {"short": short, "long_sources": [q["source"] for q in long_queries],
                          "long_chars": [len(q["text"]) for q in long_queries]},
              "runs": []}
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown configuration {c!r}; choose from {', '.join(CONFIGS)}")
    for size in args.sizes:
        for config in configs:
            directory = workdir / f"{config}-{size}"
            print(f"[{time.strftime('%H:%M:%S')}] {config} @ {size}: building (load {common.load_average()[0]})",
                  flush=True)
            build = common.run_child(SCRIPT, ["--child", "build", "--config", config, "--size", str(size),
                                              "--dir", str(directory), "--items", str(items_path)],
                                     workdir / "child.json")
            cap = args.baseline_long_cap if (config == "baseline" and args.skip_baseline_long
                                             and size >= args.skip_baseline_long_from) else 0
            print(f"[{time.strftime('%H:%M:%S')}]   built in {build['seconds']:.1f} s "
                  f"({build['docs_per_s']:.1f} docs/s); querying", flush=True)
            query = common.run_child(SCRIPT, ["--child", "query", "--config", config, "--dir", str(directory),
                                              "--queries", str(queries_path), "--long-cap", str(cap)],
                                     workdir / "child.json")
            run_row = {"config": config, "size": size, "replication": common.replication_note(len(items), size),
                       "build": build, "query": query,
                       "baseline_long_capped_to": cap or None}
            result["runs"].append(run_row)
            print_row(run_row, _baseline(result, size))
            if not args.keep:
                shutil.rmtree(directory, ignore_errors=True)
            if args.json:
                common.write_json(args.json, finish(result, partial=True))
    return finish(result, partial=False)


def _baseline(result: dict, size: int) -> dict | None:
    return next((r for r in result["runs"] if r["size"] == size and r["config"] == "baseline"), None)


def finish(result: dict, *, partial: bool) -> dict:
    result["load_average_end"] = common.load_average()
    result["partial"] = partial
    for row in result["runs"]:
        base = _baseline(result, row["size"])
        if base is None or row["config"] == "baseline":
            continue
        b, q, bb, bq = row["build"], row["query"], base["build"], base["query"]
        row["vs_baseline"] = {
            "indexing_x": common.ratio(b["docs_per_s"], bb["docs_per_s"]),
            "peak_rss_x": common.ratio(b["peak_rss_mb"], bb["peak_rss_mb"]),
            "lexical_size_x": common.ratio(b["lexical_bytes"], bb["lexical_bytes"]),
            "total_size_x": common.ratio(b["lexical_bytes"] + b["store_bytes"], bb["lexical_bytes"]),
            "short_cold_p50_speedup": common.ratio(bq["short_cold"]["p50_ms"], q["short_cold"]["p50_ms"]),
            "long_cold_p50_speedup": common.ratio(bq["long_cold"].get("p50_ms"), q["long_cold"]["p50_ms"]),
        }
    largest = max((r["size"] for r in result["runs"]), default=0)
    result["targets"] = {}
    for row in result["runs"]:
        if row["size"] != largest or row["config"] == "baseline":
            continue
        q = row["query"]
        result["targets"][row["config"]] = {
            "size": largest,
            "long_p50_s": q["long_cold"]["p50_ms"] / 1000, "long_ok": q["long_cold"]["p50_ms"] / 1000 <= TARGETS["long_p50_s"],
            "short_p50_ms": q["short_cold"]["p50_ms"], "short_ok": q["short_cold"]["p50_ms"] <= TARGETS["short_p50_ms"],
            "indexing_x_baseline": row.get("vs_baseline", {}).get("indexing_x"),
            "indexing_ok": (row.get("vs_baseline", {}).get("indexing_x") or 0) >= TARGETS["indexing_x_baseline"],
        }
    return result


def _ms(summary: dict, key: str = "p50_ms") -> str:
    value = summary.get(key)
    if value is None:
        return "-"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.1f}ms"


def print_row(row: dict, base: dict | None) -> None:
    b, q = row["build"], row["query"]
    x = f"{b['docs_per_s'] / base['build']['docs_per_s']:.2f}x" if base and row["config"] != "baseline" else ""
    backend = ""
    if "backend_short_cold" in q:
        backend = (f" | backend: short {_ms(q['backend_short_cold'])} long {_ms(q['backend_long_cold'])}")
    print(f"  {row['config']:20} {row['size']:>6} docs | index {b['docs_per_s']:7.1f} docs/s {x:>6} | "
          f"peak RSS {b['peak_rss_mb']:6.0f} MB (workers {b['workers_peak_rss_mb']:.0f}) | "
          f"size {b['lexical_bytes'] / 2**20:6.1f} MB + store {b['store_bytes'] / 2**20:5.1f} MB | "
          f"short p50 {_ms(q['short_cold'])} p95 {_ms(q['short_cold'], 'p95_ms')} (warm {_ms(q['short_warm'])}) | "
          f"long p50 {_ms(q['long_cold'])} p95 {_ms(q['long_cold'], 'p95_ms')} [{q['long_measured']}]{backend} | "
          f"load {b['load_before'][0]}->{q['load_after'][0]}", flush=True)


def print_table(result: dict) -> None:
    common.print_machine(result, "whoosh", "jieba")
    c = result["corpus"]
    print(f"corpus: {c['documents']} real documents, {c['chars']:,} characters; ipkb analyzer block cache: "
          f"{result['block_cache']}")
    head = (f"{'config':20} {'docs':>6} {'docs/s':>7} {'x base':>6} {'RSS MB':>7} {'index MB':>9} "
            f"{'+store':>7} {'short p50':>9} {'p95':>8} {'warm':>8} {'long p50':>9} {'p95':>8} {'n':>3} "
            f"{'x base':>7} {'load':>11}")
    print(head)
    print("-" * len(head))
    for row in result["runs"]:
        b, q = row["build"], row["query"]
        vs = row.get("vs_baseline", {})
        print(f"{row['config']:20} {row['size']:>6} {b['docs_per_s']:7.1f} "
              f"{(str(vs.get('indexing_x')) + 'x') if vs else '':>6} {b['peak_rss_mb']:7.0f} "
              f"{b['lexical_bytes'] / 2**20:9.1f} {b['store_bytes'] / 2**20:7.1f} "
              f"{_ms(q['short_cold']):>9} {_ms(q['short_cold'], 'p95_ms'):>8} {_ms(q['short_warm']):>8} "
              f"{_ms(q['long_cold']):>9} {_ms(q['long_cold'], 'p95_ms'):>8} {q['long_measured']:>3} "
              f"{(str(vs.get('long_cold_p50_speedup')) + 'x') if vs else '':>7} "
              f"{b['load_before'][0]:>4}->{q['load_after'][0]:<5}")
    for row in result["runs"]:
        print(f"  {row['config']} @ {row['size']}: {row['replication']['note']}"
              + (f"; baseline long queries capped to the first {row['baseline_long_capped_to']}"
                 if row.get("baseline_long_capped_to") else ""))
    for config, t in result["targets"].items():
        verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
        print(f"targets @ {t['size']} ({config}): long p50 {t['long_p50_s']:.3f} s ≤ 0.5 s {verdict(t['long_ok'])}; "
              f"short p50 {t['short_p50_ms']:.1f} ms ≤ 50 ms {verdict(t['short_ok'])}; "
              f"indexing {t['indexing_x_baseline']}x ≥ 4x {verdict(t['indexing_ok'])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000",
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()])
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--json", type=Path, help="write the results here (updated after every run)")
    parser.add_argument("--workdir", default=os.environ.get("TMPDIR", "/tmp") + "/ipkb-bench-index")
    parser.add_argument("--keep", action="store_true", help="keep the built indexes")
    parser.add_argument("--skip-baseline-long", action="store_true",
                        help="measure only the first --baseline-long-cap case descriptions on the baseline "
                             "at sizes ≥ --skip-baseline-long-from (each takes ~20 s at 20k documents)")
    parser.add_argument("--baseline-long-cap", type=int, default=5)
    parser.add_argument("--skip-baseline-long-from", type=int, default=20000)
    # internal: one child process per build / query phase
    parser.add_argument("--child", choices=("build", "query"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--items", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--long-cap", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = child_build(args) if args.child == "build" else child_query(args)
        common.write_json(args.child_out, out)
        return
    result = run(args)
    common.report(result, print_table, args.json)


if __name__ == "__main__":
    main()
