"""Reliability figures for docs/reliability.md: the bigger versions of the reliability tests.

    .venv/bin/python bench/reliability_run.py [--kills 12] [--cumulative-kills 30]
        [--examples 2000] [--with-100mb-text] [--json-out bench/out/reliability.json]

Sections (all with the fake embedder, on the shipped corpus/):
- inputs: a folder of good real documents and bad files through ``kb ingest``:
  failures reported vs bad inputs, documents lost, re-run;
- big files: a 100 MB file under the default cap and ``--max-mb 200`` (peak memory);
  ``--with-100mb-text`` adds 100 MB of real text (several minutes, GBs of memory);
- crash: a clean build (time and reference), ``--kills`` SIGKILLs of a fresh
  ``kb ingest corpus/`` at uniform random delays over the whole run, each followed by
  checks and a resume; ``--cumulative-kills`` kills of successive resuming runs; one
  deterministic kill at every named point of the write protocol;
- concurrency: searches from a long-lived reader and ``kb search`` while the corpus
  is ingested; a second ingest during the first;
- queries: ``--examples`` hypothesis queries per entry point on the corpus, and the
  latency of 100,000-character queries (search in each mode, similar cases).

Prints a Markdown report; ``--json-out`` also writes every figure as JSON.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from reliability_helpers import (
    CORPUS,
    LIVE,
    QUERIES,
    Child,
    build_bad,
    build_good,
    check_json,
    copy_corpus_subset,
    expected_documents,
    fact_excerpts,
    fault_command,
    kb_command,
    lexical_ids,
    live_ids,
    lock_holder,
    long_queries,
    queries,
    run,
    run_kb,
    run_measured,
    store_rows,
    wait_until,
)

MB = 1024 * 1024


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stored(home: Path) -> dict[str, str]:
    return {d: h for d, (s, h) in store_rows(home).items() if s == LIVE}


def complete_view_errors(home: Path) -> list[str]:
    """The checks of reliability_helpers.assert_only_complete_documents, counted instead of asserted."""
    from reliability_helpers import assert_only_complete_documents
    try:
        assert_only_complete_documents(home)
        return []
    except AssertionError as exc:
        return [str(exc)]


# --- inputs ------------------------------------------------------------------------------------

def section_inputs(work: Path) -> dict:
    folder = work / "mixed"
    good = build_good(folder)
    bad = build_bad(folder)
    expected = expected_documents(good) | expected_documents([folder / "one bad line.jsonl"])
    home = work / "kb-inputs"
    first = run_kb(home, "ingest", "--json", folder)
    second = run_kb(home, "ingest", "--json", folder)
    got = stored(home)
    lines = [line for line in first.stderr.splitlines() if line.strip()]
    kinds = {"good files": len(good) + 1, "good documents (incl. 3 records of the mixed JSONL)": len(expected),
             "bad files or records": len(bad)}
    return {
        "kinds": kinds, "bad": sorted(bad), "exit_status": first.returncode,
        "failures_reported": len(first.json()["failures"]), "stderr_lines": len(lines),
        "documents_lost": len(set(expected) - set(got)), "wrong_content": sum(got.get(d) != h for d, h in expected.items()),
        "rerun_exit": second.returncode, "rerun_added": len(second.json()["added"]),
        "rerun_failures": len(second.json()["failures"]), "seconds": round(first.seconds, 1),
    }


def section_big_files(work: Path, with_text: bool) -> dict:
    out = {}
    sparse = work / "sparse100.txt"
    with open(sparse, "wb") as handle:
        handle.truncate(100 * MB)
    for name, args in (("sparse, default cap", ()), ("sparse, --max-mb 200", ("--max-mb", "200"))):
        done = run_measured(kb_command(work / f"kb-big-{len(out)}", "ingest", *args, sparse), work)
        out[name] = {"exit": done.returncode, "stderr": done.stderr.strip()[-120:],
                     "peak_rss_mb": round(done.peak_rss / MB), "seconds": round(done.seconds, 1)}
    if with_text:
        text = work / "real100.txt"
        with open(text, "w", encoding="utf-8") as handle:
            body = "\n".join(r["text"] for r in fact_excerpts())
            written = 0
            while written < 100 * MB:
                handle.write(body + "\n")
                written += len(body.encode("utf-8")) + 1
        done = run_measured(kb_command(work / "kb-big-text", "ingest", "--max-mb", "200", text), work, timeout=1800)
        stats = run_kb(work / "kb-big-text", "stats", "--json", embedder=None).json() if done.returncode == 0 else {}
        out["real text 100 MB, --max-mb 200"] = {
            "exit": done.returncode, "bytes": text.stat().st_size, "peak_rss_mb": round(done.peak_rss / MB),
            "seconds": round(done.seconds, 1), "documents": stats.get("documents"), "passages": stats.get("passages")}
        text.unlink()
    return out


# --- crash ---------------------------------------------------------------------------------------

def classify(home: Path) -> str:
    if not (home / "kb.sqlite").exists():
        return "before the store existed"
    rows = store_rows(home)
    pending = {d for d, (s, _) in rows.items() if s == 0}
    deleting = {d for d, (s, _) in rows.items() if s == 2}
    indexed = lexical_ids(home)
    if deleting:
        return "during a delete"
    if pending and pending <= indexed:
        return "between the lexical commit and mark_live"
    if pending and not pending & indexed:
        return "after put_pending, before the lexical commit (indexing)"
    if pending:
        return "pending documents partly indexed"
    return "nothing unfinished (reading, parsing, embedding or between batches)"


def after_kill(home: Path, survivors: set[str]) -> dict:
    if not (home / "kb.sqlite").exists():
        return {"class": classify(home), "lost": 0, "errors": []}
    report = check_json(home)
    errors = complete_view_errors(home)
    if report["missing_in_lexical"] or report["missing_vectors"]:
        errors.append(f"check: {report}")
    return {"class": classify(home), "lost": len(survivors - live_ids(home)), "errors": errors,
            "pending": len(report["pending"]), "deleting": len(report["deleting"])}


def clean_build(work: Path) -> tuple[Path, float, dict[str, str]]:
    home = work / "kb-clean"
    done = run_kb(home, "ingest", CORPUS, timeout=1800)
    assert done.returncode == 0, done.stderr
    return home, done.seconds, stored(home)


def section_random_kills(work: Path, kills: int, full_run: float, reference: dict[str, str], seed: int) -> dict:
    """Each kill on a fresh knowledge base at a uniform delay over the full run, then resume."""
    rng = random.Random(seed)
    rows = []
    for i in range(kills):
        home = work / f"kb-kill-{i}"
        delay = rng.uniform(0.2, full_run)
        child = Child(kb_command(home, "ingest", CORPUS), work / "logs", f"kill{i}")
        time.sleep(delay)
        interrupted = child.kill()
        child.wait()
        row = {"delay": round(delay, 2), "interrupted": interrupted} | after_kill(home, set())
        resumed = run_kb(home, "ingest", CORPUS, timeout=1800)
        final = stored(home)
        row.update(resumed_exit=resumed.returncode, resumed_equal=final == reference,
                   consistent=check_json(home)["ok"], missing_after_resume=len(set(reference) - set(final)))
        rows.append(row)
        log(f"kill {i + 1}/{kills}: {row['delay']} s, {row['class']}, resumed equal {row['resumed_equal']}")
        shutil.rmtree(home)
    return {"rows": rows}


def section_cumulative_kills(work: Path, kills: int, reference: dict[str, str], seed: int) -> dict:
    """Successive runs, each resuming the last, each killed 0.2-4 s in (as the unit test, more kills)."""
    rng = random.Random(seed)
    home = work / "kb-cumulative"
    rows, survivors, restarts = [], set(), 0
    while sum(r["interrupted"] for r in rows) < kills:
        delay = rng.uniform(0.2, 4.0)
        child = Child(kb_command(home, "ingest", CORPUS), work / "logs", f"cum{len(rows)}")
        time.sleep(delay)
        interrupted = child.kill()
        finished = child.wait()
        if not interrupted:
            rows.append({"delay": round(delay, 2), "interrupted": False, "exit": finished.returncode,
                         "complete": stored(home) == reference})
            shutil.rmtree(home)
            survivors, restarts = set(), restarts + 1
            continue
        row = {"delay": round(delay, 2), "interrupted": True} | after_kill(home, survivors)
        rows.append(row)
        if (home / "kb.sqlite").exists():
            survivors = live_ids(home)
    done = run_kb(home, "ingest", CORPUS, timeout=1800)
    return {"rows": rows, "restarts_after_completion": restarts, "final_exit": done.returncode,
            "final_equal": stored(home) == reference, "final_consistent": check_json(home)["ok"]}


FAULT_SCENARIOS = [
    # (label, point, nth, command) -- command "ingest" adds set B, "replace" re-ingests a changed
    # guiding case, "delete" deletes one document, "recovery" kills the run that recovers a kill
    ("killed while embedding", "embedding", 1, "ingest"),
    ("killed inside the store transaction (put_pending)", "store_transaction", 5, "ingest"),
    ("killed while indexing (writer open, uncommitted)", "indexing", 1, "ingest"),
    ("killed during the lexical commit (segment written, no TOC)", "lexical_commit", 1, "ingest"),
    ("killed right after the lexical commit", "after_lexical_commit", 1, "ingest"),
    ("killed between the lexical commit and mark_live", "mark_live", 1, "ingest"),
    ("killed before the source file was recorded", "record_source", 1, "ingest"),
    ("killed during a replace, while indexing", "indexing", 1, "replace"),
    ("killed during a replace, before mark_live", "mark_live", 1, "replace"),
    ("killed during kb delete, before the lexical commit", "delete_lexical", 1, "delete"),
    ("killed during kb delete, before the purge", "delete_purge", 1, "delete"),
    ("killed while recovering an earlier kill", "mark_live", 1, "recovery"),
]


def section_fault_points(work: Path) -> dict:
    set_a = copy_corpus_subset(work / "fault-a", ("guiding-cases/指导案例20号.json", "guiding-cases/指导案例29号.json",
                                                  "laws/专利法(2020-10-17).md", "judgments/lecardv2_ip_criminal.jsonl"))
    set_b = copy_corpus_subset(work / "fault-b", ("judgments/cail2018_ip_criminal_facts.jsonl",))
    base = work / "kb-fault-base"
    assert run_kb(base, "ingest", set_a).returncode == 0
    expected_a, expected_b = expected_documents([set_a]), expected_documents([set_b])
    rows = []
    for label, point, nth, command in FAULT_SCENARIOS:
        home = work / "kb-fault"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base, home)
        folder, expected, survivors = set_b, expected_a | expected_b, set(expected_a)
        if command == "replace":
            folder = work / "fault-a-edited"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(set_a, folder)
            path = folder / "guiding-cases" / "指导案例20号.json"
            record = json.loads(path.read_text(encoding="utf-8"))
            record["text"] = record["text"].rstrip("\n").rsplit("\n", 1)[0]  # synthetic edit of a real case
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            expected, survivors = expected_documents([folder]), set(expected_a) - {"指导案例20号"}
        if command == "recovery":
            run(fault_command(home, "mark_live", 1, "ingest", set_b))
        args = ("delete", "指导案例29号") if command == "delete" else ("ingest", folder)
        if command == "delete":
            expected = {d: h for d, h in expected_a.items() if d != "指导案例29号"}
            survivors = set(expected)
        killed = run(fault_command(home, point, nth, *args))
        row = {"scenario": label, "killed": killed.returncode == -9} | after_kill(home, survivors)
        finish = run_kb(home, "check", "--repair", embedder=None) if command == "delete" else run_kb(home, *args)
        row.update(finished_exit=finish.returncode, recovered=stored(home) == expected,
                   consistent=check_json(home)["ok"])
        rows.append(row)
        log(f"{label}: killed {row['killed']}, recovered {row['recovered']}")
    return {"rows": rows}


# --- concurrency ----------------------------------------------------------------------------------

def section_concurrency(work: Path, reference: dict[str, str]) -> dict:
    from kb.knowledge import KnowledgeBase
    seed = copy_corpus_subset(work / "conc-seed", ("laws/专利法(2020-10-17).md",))
    home = work / "kb-conc"
    assert run_kb(home, "ingest", seed).returncode == 0
    child = Child(kb_command(home, "ingest", CORPUS), work / "logs", "conc")
    wait_until(lambda: f"pid {child.pid}" in lock_holder(home), timeout=60)
    second = run_kb(home, "ingest", seed)
    second_while_running = child.running()
    latencies, errors, incomplete, counts, cli = [], [], 0, [], []
    with KnowledgeBase.open(home, embedder="fake", create=False) as kb:
        while child.running():
            counts.append(kb.lexical.doc_count())
            for query in QUERIES:
                for mode in ("bm25", "hybrid"):
                    start = time.perf_counter()
                    try:
                        hits = kb.search(query, k=10, mode=mode).hits
                        for hit in hits:
                            if kb.store.state_of(hit.id) != LIVE or not kb.passages(hit.id):
                                incomplete += 1
                    except Exception as exc:  # noqa: BLE001 - counted and reported
                        errors.append(f"{type(exc).__name__}: {exc}")
                    latencies.append(time.perf_counter() - start)
            if len(cli) < 10:
                done = run_kb(home, "search", "--json", "-k", "20", QUERIES[len(cli) % len(QUERIES)], embedder=None)
                ok = done.returncode == 0 and {h["id"] for h in done.json()} <= live_ids(home)
                cli.append(ok)
        finished = child.wait(timeout=1800)
        sees_all = kb.lexical.doc_count() == len(reference | expected_documents([seed]))
    latencies.sort()
    return {
        "second_ingest_exit": second.returncode, "second_ingest_message": second.stderr.strip(),
        "second_refused_while_first_ran": second_while_running, "second_ingest_seconds": round(second.seconds, 2),
        "first_exit": finished.returncode, "first_seconds": round(finished.seconds, 1),
        "searches": len(latencies), "errors": errors[:5], "error_count": len(errors), "incomplete_hits": incomplete,
        "latency_p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "latency_max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "cli_searches": len(cli), "cli_ok": sum(cli), "distinct_doc_counts_seen": len(set(counts)),
        "reader_sees_all_at_end": sees_all, "consistent": check_json(home)["ok"],
    }


# --- queries ----------------------------------------------------------------------------------------

def section_queries(work: Path, home: Path, examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings

    from ingest.query import query_from_text
    from kb.errors import EmptyDocumentError
    from kb.knowledge import KnowledgeBase

    out: dict = {}
    with KnowledgeBase.open(home, embedder="fake", create=False) as kb:
        calls = {"search": 0, "similar": 0}
        slowest = {"search": 0.0, "similar": 0.0}

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(query=queries)
        def search_any(query):
            start = time.perf_counter()
            for mode in ("bm25", "vector", "hybrid"):
                kb.search(query, k=10, mode=mode)
            calls["search"] += 1
            slowest["search"] = max(slowest["search"], time.perf_counter() - start)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(query=queries)
        def similar_any(query):
            if not query.strip():
                try:
                    query_from_text(query)
                except EmptyDocumentError:
                    return
            start = time.perf_counter()
            doc, passages = query_from_text(query)
            kb.similar(doc, passages, k=10)
            calls["similar"] += 1
            slowest["similar"] = max(slowest["similar"], time.perf_counter() - start)

        for name, fn in (("search", search_any), ("similar", similar_any)):
            try:
                fn()
                out[f"hypothesis_{name}"] = {"examples": calls[name], "failure": None}
            except Exception as exc:  # noqa: BLE001 - reported
                out[f"hypothesis_{name}"] = {"examples": calls[name], "failure": f"{type(exc).__name__}: {exc}"[:300]}
            out[f"hypothesis_{name}"]["slowest_s"] = round(slowest[name], 3)
            log(f"hypothesis {name}: {out[f'hypothesis_{name}']}")

        long = {}
        for name, text in long_queries().items():
            row = {}
            for mode in ("bm25", "vector", "hybrid"):
                start = time.perf_counter()
                try:
                    result = kb.search(text, k=10, mode=mode)
                    row[mode] = round(time.perf_counter() - start, 2)
                    row.setdefault("notes", list(result.notes[-1:]))
                except Exception as exc:  # noqa: BLE001
                    row[mode] = f"{type(exc).__name__}: {exc}"[:120]
            from kb.models import Filters
            row["terms"] = len(set(kb.lexical.search(text, filters=Filters(), limit=10).terms))
            start = time.perf_counter()
            try:
                doc, passages = query_from_text(text)
                kb.similar(doc, passages, k=10)
                row["similar"] = round(time.perf_counter() - start, 2)
            except Exception as exc:  # noqa: BLE001
                row["similar"] = f"{type(exc).__name__}: {exc}"[:120]
            long[name] = row
            log(f"100k {name}: {row}")
        out["long"] = long
    return out


# --- report ---------------------------------------------------------------------------------------

def markdown(figures: dict) -> str:
    lines = [f"# Reliability run, {figures['date']}", "",
             f"Machine: {figures['machine']}. Command: `{figures['command']}`.", ""]
    for section, data in figures.items():
        if section in ("date", "machine", "command"):
            continue
        lines += [f"## {section}", "", "```json", json.dumps(data, ensure_ascii=False, indent=1), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--cumulative-kills", type=int, default=30)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--with-100mb-text", action="store_true")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--only", nargs="*", default=None,
                        help="sections: inputs big crash faults concurrency queries")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    wanted = set(args.only or ["inputs", "big", "crash", "faults", "concurrency", "queries"])
    import os
    figures: dict = {"date": time.strftime("%Y-%m-%d %H:%M"),
                     "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                                f"load average at start {os.getloadavg()[0]:.1f}",
                     "command": "python bench/reliability_run.py " + " ".join(argv or sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="ipkb-reliability-") as tmp:
        work = Path(tmp)
        if "inputs" in wanted:
            log("inputs")
            figures["inputs"] = section_inputs(work)
        if "big" in wanted:
            log("big files")
            figures["big files"] = section_big_files(work, args.with_100mb_text)
        clean = None
        if wanted & {"crash", "concurrency", "queries"}:
            log("clean build of corpus/")
            clean = clean_build(work)
            figures["clean build"] = {"seconds": round(clean[1], 1), "documents": len(clean[2])}
        if "crash" in wanted:
            log("random kills (fresh runs)")
            figures["random kills"] = section_random_kills(work, args.kills, clean[1], clean[2], args.seed)
            log("random kills (resuming runs)")
            figures["cumulative kills"] = section_cumulative_kills(work, args.cumulative_kills, clean[2], args.seed)
        if "faults" in wanted:
            log("fault points")
            figures["fault points"] = section_fault_points(work)
        if "concurrency" in wanted:
            log("concurrency")
            figures["concurrency"] = section_concurrency(work, clean[2])
        if "queries" in wanted:
            log("queries")
            figures["queries"] = section_queries(work, clean[0], args.examples)
    text = markdown(figures)
    print(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
