"""Similar-case latency with the real e5-small embedder at 1k, 5k and 20k documents.

Usage::

    .venv/bin/python bench/bench_similar.py [--sizes 1000,5000,20000] [--base-home KB_HOME]
        [--embed-budget CHARS] [--json OUT]

How the knowledge bases are made (embedding 20k documents would take hours here):

1. A base knowledge base of the 443 real documents of corpus/ with real e5-small
   vectors: ``--base-home`` names one built by ``kb ingest corpus/`` (e.g. by
   bench_build.py; it is copied, never modified), else it is built here with
   ``ingest_paths`` (``--embed-budget`` caps the characters embedded per document;
   default none: every passage is embedded).
2. Each larger knowledge base is the previous one plus copies of the base documents
   under new ids (``ID~copyN``; passages ``ID~copyN#anchor``) with the *same* texts,
   passages and vectors (the real vectors of the original passages, read from the base
   store), written through the store's protocol (``Store.put_pending`` -> Whoosh
   ``add`` + ``commit`` -> ``Store.mark_live``), one batch per round of copies. No
   text is embedded for a copy.

Measurement (one child process per size, so the vector matrix and caches are that
size's alone): the model is loaded and one warm-up case (not in the set) is run
first (the facts of a real case outside the set, never counted); both are timed apart. Then each of 20 real case descriptions (facts sections
of guiding cases and judgments, 200-800 characters) is timed from the pasted text to
the 10 hits: ``query_from_text`` (parsing) + ``KnowledgeBase.similar(k=10)``,
query-passage embedding included. Order: hybrid (the default; the headline figure),
bm25 only, vector only, then hybrid again (warm). The time spent embedding the query
passages is reported apart.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SCRIPT = Path(__file__).resolve()
MODES = ("hybrid", "bm25", "vector")
TARGET_P50_S = 1.0


# --------------------------------------------------------------------------- building

def build_base(home: Path, embed_budget: int | None, embedder: str = "e5-small") -> dict:
    """The 443 real documents with real e5-small vectors, through the ingest pipeline."""
    from ingest.pipeline import ingest_paths
    from kb.knowledge import KnowledgeBase

    start = time.perf_counter()
    load_before = common.load_average()
    kb = KnowledgeBase.open(home, embedder=embedder, embed_budget=embed_budget)
    with kb.writing():
        report = ingest_paths(kb, [common.CORPUS])
    kb.close()
    return {"built_here": True, "seconds": round(time.perf_counter() - start, 1), "embed_budget": embed_budget,
            "embedder": embedder,
            "failures": report.failures, "load_before": load_before, "load_after": common.load_average()}


def copy_home(src: Path, dst: Path) -> None:
    """A consistent copy of a knowledge base (SQLite's backup API, then the lexical folder)."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    source = sqlite3.connect(src / "kb.sqlite")
    target = sqlite3.connect(dst / "kb.sqlite")
    with target:
        source.backup(target)
    source.close()
    target.close()
    shutil.copytree(src / "lexical", dst / "lexical")


def base_rows(home: Path) -> list[tuple]:
    """Every live base document with its stored passages and the vectors of its embedded
    passages, in passage order: what a copy needs."""
    from kb.store import Store

    store = Store(home / "kb.sqlite")
    rows = []
    for doc in sorted(store.iter_documents(), key=lambda d: d.id):
        passages = store.passages(doc.id)
        pids, matrix = store.passage_vectors(doc.id)
        by_id = {pid: matrix[i] for i, pid in enumerate(pids)}
        embedded = [p for p in passages if p.embed]
        missing = [p.id for p in embedded if p.id not in by_id]
        if missing:
            raise SystemExit(f"{doc.id}: {len(missing)} embedded passages have no vector in {home}")
        vectors = [by_id[p.id] for p in embedded]
        rows.append((doc, passages, vectors))
    store.close()
    return rows


def grow(home: Path, rows: list[tuple], have: int, want: int) -> dict:
    """Add copies of the base rows to ``home`` until it holds ``want`` documents."""
    import numpy as np

    from kb.knowledge import KnowledgeBase

    start = time.perf_counter()
    kb = KnowledgeBase.open(home)  # the stored spec; the embedder is never loaded here
    added = 0
    with kb.writing():
        n = have
        while n < want:
            batch = []
            for doc, passages, vectors in rows:
                if n >= want:
                    break
                copy = n // len(rows)
                new_doc, new_passages = common.copy_item((doc, passages), copy)
                matrix = np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)
                batch.append((new_doc, new_passages, matrix))
                n += 1
            kb.store.put_pending(batch)
            kb.lexical.add([d for d, _, _ in batch])
            kb.lexical.commit()
            kb.store.mark_live([d.id for d, _, _ in batch])
            added += len(batch)
    stats = kb.stats()
    kb.close()
    return {"added": added, "seconds": round(time.perf_counter() - start, 1), "documents": stats["documents"],
            "passages": stats["passages"], "vectors": stats["vectors"],
            "index_bytes": stats["index_bytes"]}


# --------------------------------------------------------------------------- measuring (child)

def child_measure(args) -> dict:
    import json

    from ingest.query import query_from_text
    from kb.knowledge import KnowledgeBase

    common.disable_block_cache()  # a repeated description must not find its cut memoised
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    descriptions = queries["descriptions"]
    load_before = common.load_average()
    kb = KnowledgeBase.open(Path(args.dir), create=False)
    t0 = time.perf_counter()
    embedder = kb.embedder
    model_load_s = time.perf_counter() - t0
    embed_times: list[float] = []
    inner = embedder.embed_queries

    def timed_embed(texts):
        start = time.perf_counter()
        try:
            return inner(texts)
        finally:
            embed_times.append(time.perf_counter() - start)

    embedder.embed_queries = timed_embed

    def one(text: str, mode: str):
        doc, passages = query_from_text(text)
        return kb.similar(doc, passages, k=10, mode=mode)

    t0 = time.perf_counter()
    one(queries["warmup"], "hybrid")
    warmup_s = time.perf_counter() - t0
    runs = {}
    for label, mode in (("hybrid", "hybrid"), ("bm25", "bm25"), ("vector", "vector"), ("hybrid_warm", "hybrid")):
        times, embeds, hits = [], [], []
        for d in descriptions:
            embed_times.clear()
            start = time.perf_counter()
            result = one(d["text"], mode)
            times.append(time.perf_counter() - start)
            embeds.append(sum(embed_times))
            hits.append(len(result))
        runs[label] = {"latency": common.summarize_ms(times), "query_embedding": common.summarize_ms(embeds),
                       "min_hits": min(hits), "load_after": common.load_average()}
    stats = kb.stats()
    kb.close()
    return {"model_load_s": round(model_load_s, 2), "warmup_s": round(warmup_s, 2), "runs": runs,
            "documents": stats["documents"], "passages": stats["passages"], "vectors": stats["vectors"],
            "embedder_identity": stats["embedder_identity"], "peak_rss_mb": common.peak_rss_mb(),
            "threads": {k: os.environ.get(k) for k in ("IPKB_THREADS", "IPKB_QUERY_THREADS")},
            "load_before": load_before, "load_after": common.load_average()}


# --------------------------------------------------------------------------- the parent

def run(args) -> dict:
    import json

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    items = common.corpus_items()
    descriptions = common.case_descriptions(items)
    used = {d["source"] for d in descriptions}
    warmup = next((d, t) for d, t in common.fact_texts(items) if d not in used and len(t) >= 200)
    queries_path = workdir / "descriptions.json"
    queries_path.write_text(json.dumps({"descriptions": descriptions, "warmup": warmup[1][:500]},
                                       ensure_ascii=False), encoding="utf-8")
    result = {"bench": "bench_similar", "date_utc": common.utc_now(), "machine": common.machine_info(),
              "load_average_start": common.load_average(),
              "descriptions": [{"source": d["source"], "chars": len(d["text"])} for d in descriptions],
              "warmup_source": warmup[0],
              "runs": []}
    base = workdir / "base"
    if args.base_home:
        copy_home(Path(args.base_home), base)
        result["base"] = {"built_here": False, "copied_from": str(args.base_home)}
    else:
        print(f"[{time.strftime('%H:%M:%S')}] building the base knowledge base ({args.embedder})", flush=True)
        shutil.rmtree(base, ignore_errors=True)
        result["base"] = build_base(base, args.embed_budget, args.embedder)
    rows = base_rows(base)
    n_vectors = sum(len(v) for _, _, v in rows)
    result["base"].update(documents=len(rows), passages=sum(len(p) for _, p, _ in rows), vectors=n_vectors)
    print(f"base: {len(rows)} documents, {n_vectors} vectors", flush=True)
    home = workdir / "kb"
    copy_home(base, home)
    have = len(rows)
    for size in sorted(args.sizes):
        print(f"[{time.strftime('%H:%M:%S')}] growing to {size} documents (load {common.load_average()[0]})",
              flush=True)
        growth = grow(home, rows, have, size) if size > have else {"added": 0}
        have = max(have, size)
        print(f"[{time.strftime('%H:%M:%S')}] measuring at {size}", flush=True)
        measured = common.run_child(SCRIPT, ["--child", "--dir", str(home), "--queries", str(queries_path)],
                                    workdir / "child.json")
        row = {"size": size, "replication": common.replication_note(len(rows), size), "growth": growth,
               "measured": measured}
        result["runs"].append(row)
        print_row(row)
        if args.json:
            common.write_json(args.json, finish(result, partial=True))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return finish(result, partial=False)


def finish(result: dict, *, partial: bool) -> dict:
    result["partial"] = partial
    result["load_average_end"] = common.load_average()
    if result["runs"]:
        largest = max(result["runs"], key=lambda r: r["size"])
        p50 = largest["measured"]["runs"]["hybrid"]["latency"]["p50_ms"] / 1000
        result["target"] = {"size": largest["size"], "hybrid_p50_s": round(p50, 3), "target_s": TARGET_P50_S,
                            "met": p50 <= TARGET_P50_S}
    return result


def _fmt(summary: dict, key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else (f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms")


def print_row(row: dict) -> None:
    m = row["measured"]
    parts = [f"{label} p50 {_fmt(r['latency'], 'p50_ms')} p95 {_fmt(r['latency'], 'p95_ms')}"
             f" (embed p50 {_fmt(r['query_embedding'], 'p50_ms')})" for label, r in m["runs"].items()]
    print(f"  {row['size']:>6} docs ({m['vectors']} vectors): " + "; ".join(parts)
          + f" | model load {m['model_load_s']} s, warm-up {m['warmup_s']} s, peak RSS {m['peak_rss_mb']:.0f} MB"
          f" | load {m['load_before'][0]}->{m['load_after'][0]}", flush=True)


def print_table(result: dict) -> None:
    common.print_machine(result, "torch", "sentence_transformers")
    b = result["base"]
    identity = result["runs"][0]["measured"]["embedder_identity"] if result["runs"] else "?"
    print(f"base: {b['documents']} real documents, {b['passages']} passages, {b['vectors']} vectors of {identity} "
          + (f"(built here in {b['seconds']} s, embed budget {b['embed_budget']})" if b.get("built_here")
             else f"(copied from {b['copied_from']})"))
    chars = [d["chars"] for d in result["descriptions"]]
    print(f"queries: {len(chars)} real case descriptions, {min(chars)}-{max(chars)} characters; k=10")
    head = (f"{'docs':>6} {'vectors':>8} | {'hybrid p50':>10} {'p95':>7} | {'bm25 p50':>9} {'p95':>7} | "
            f"{'vector p50':>10} {'p95':>7} | {'embed p50':>9} | {'warm hyb':>8} | {'RSS MB':>6} | load")
    print(head)
    print("-" * len(head))
    for row in result["runs"]:
        mm = row["measured"]
        r = mm["runs"]
        print(f"{row['size']:>6} {mm['vectors']:>8} | {_fmt(r['hybrid']['latency'], 'p50_ms'):>10} "
              f"{_fmt(r['hybrid']['latency'], 'p95_ms'):>7} | {_fmt(r['bm25']['latency'], 'p50_ms'):>9} "
              f"{_fmt(r['bm25']['latency'], 'p95_ms'):>7} | {_fmt(r['vector']['latency'], 'p50_ms'):>10} "
              f"{_fmt(r['vector']['latency'], 'p95_ms'):>7} | {_fmt(r['hybrid']['query_embedding'], 'p50_ms'):>9} | "
              f"{_fmt(r['hybrid_warm']['latency'], 'p50_ms'):>8} | {mm['peak_rss_mb']:6.0f} | "
              f"{mm['load_before'][0]}->{mm['load_after'][0]}")
    for row in result["runs"]:
        print(f"  {row['size']}: {row['replication']['note']}")
    t = result.get("target")
    if t:
        print(f"target @ {t['size']}: hybrid p50 {t['hybrid_p50_s']} s ≤ {t['target_s']} s "
              f"{'met' if t['met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000",
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()])
    parser.add_argument("--base-home", type=Path, help="a KB home built by `kb ingest corpus/` (copied, not changed)")
    parser.add_argument("--embed-budget", type=int, default=None,
                        help="when building the base here: characters embedded per document")
    parser.add_argument("--embedder", default="e5-small",
                        help="when building the base here; anything but e5-small only checks the script runs")
    parser.add_argument("--workdir", default=os.environ.get("TMPDIR", "/tmp") + "/ipkb-bench-similar")
    parser.add_argument("--keep", action="store_true", help="keep the grown knowledge base")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        common.write_json(args.child_out, child_measure(args))
        return
    result = run(args)
    common.report(result, print_table, args.json)


if __name__ == "__main__":
    main()
