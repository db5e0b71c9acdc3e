"""``kb eval``: ranking quality on a BEIR directory or a triplet file (registered on :data:`kb.cli.main`).

Results go to stdout (a table, or JSON with ``--json``); progress goes to stderr.
The JSON carries what is needed to reproduce a figure: the command line, the
embedder identity, what was embedded, the machine, the date and the run time.

The CLI is the one place in ``kb/`` that may import ``ingest/``: it hands the
ingest parsers to :mod:`kb.evaluate` as an :class:`IngestCaseParser`.
"""
from __future__ import annotations

import os
import platform
import shlex
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import click

from .cli import _echo_json, _run, main
from .evaluate import DEFAULT_K, MODES, evaluate_beir, evaluate_triplets, write_run
from .models import Document, Passage

TABLE_METRICS = ("ndcg@10", "ndcg@30", "map", "p@5", "recall@100", "lecard_ndcg@10", "lecard_ndcg@30")
PER_QUERY_TABLE_MAX = 10


class IngestCaseParser:
    """Benchmark records through the same readers' parsers and chunker as ``kb ingest``."""

    def document(self, record: Mapping[str, Any], *, source: str, locator: str) -> tuple[Document, list[Passage]]:
        from ingest.chunking import chunk
        from ingest.pipeline import prepare
        from ingest.types import RawDoc

        doc, passages = prepare(RawDoc(text=record["text"], path=source, fmt="jsonl", locator=locator,
                                       record=record))
        if doc.id != record["id"]:  # e.g. a guiding case names itself 指导案例N号: the benchmark's id wins
            doc = replace(doc, id=record["id"])
            passages = chunk(doc)
        return doc, passages

    def query(self, text: str, *, name: str) -> tuple[Document, list[Passage]]:
        """The same query preparation users get (``ingest.query.query_from_text``)."""
        from ingest.query import query_from_text

        return query_from_text(text, name=name)


class _PassageMeter:
    """Embedding progress on stderr every few hundred passages (works in logs, not only on a tty)."""

    def __init__(self, every: int = 200):
        self.every, self.done, self.next, self.started = every, 0, every, time.perf_counter()

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done >= self.next:
            rate = self.done / max(time.perf_counter() - self.started, 1e-9)
            click.echo(f"embedded {self.done} passages ({rate:.1f}/s)", err=True)
            self.next += self.every


@main.command("eval")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--triplets", "triplets_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSONL file of {A, B, C, label} triplets instead of a BEIR directory.")
@click.option("--modes", default=",".join(MODES), show_default=True, help="Comma-separated: bm25, vector, hybrid.")
@click.option("--run-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rankings as a TREC run file (qid Q0 docid rank score mode).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (with per-query figures).")
@click.option("--limit-queries", type=click.IntRange(min=1), help="Only the first N queries (or triplets).")
@click.option("--lecard-scoring", is_flag=True,
              help="Also report LeCaRD's NDCG@10/@30 (ranking restricted to the 30 labelled candidates).")
@click.option("--allow-missing-docs", is_flag=True,
              help="Keep qrels naming documents absent from corpus.jsonl (they count as unretrievable).")
@click.option("--embed-budget", type=click.IntRange(min=1),
              help="Characters of passages embedded per document (facts and reasoning first); default all.")
@click.option("--k", "k", default=DEFAULT_K, show_default=True, type=click.IntRange(1, 1000),
              help="Documents ranked per query when there is no candidates.jsonl (with one: the pool).")
@click.pass_context
def eval_command(ctx: click.Context, directory: Path | None, triplets_file: Path | None, modes: str,
                 run_out: Path | None, as_json: bool, limit_queries: int | None, lecard_scoring: bool,
                 allow_missing_docs: bool, embed_budget: int | None, k: int) -> None:
    """Evaluate similar-case ranking on DIRECTORY (BEIR layout) or on --triplets FILE."""
    if bool(directory) == bool(triplets_file):
        raise click.UsageError("give either DIRECTORY or --triplets FILE")
    mode_list = [m.strip() for m in modes.split(",") if m.strip()]
    embedder = ctx.obj.embedder
    say = lambda message: click.echo(message, err=True)  # noqa: E731
    started, load_before = time.perf_counter(), _load()

    def work() -> tuple[dict, Any]:
        if triplets_file:
            return evaluate_triplets(triplets_file, IngestCaseParser(), modes=mode_list, embedder=embedder,
                                     embed_budget=embed_budget, limit=limit_queries, progress=say,
                                     passage_progress=_PassageMeter()), None
        result = evaluate_beir(directory, IngestCaseParser(), modes=mode_list, embedder=embedder,
                               embed_budget=embed_budget, k=k, limit_queries=limit_queries,
                               lecard_scoring=lecard_scoring, allow_missing_docs=allow_missing_docs,
                               progress=say, passage_progress=_PassageMeter())
        return result.report, result.run

    report, run = _run(work)
    if run_out is not None:
        if run is None:
            raise click.UsageError("--run-out needs a BEIR directory (triplets have no ranking)")
        with open(run_out, "w", encoding="utf-8") as fh:
            lines = write_run(run, fh)
        say(f"wrote {lines} run lines to {run_out}")
    host = {**machine(), "load_average_1m": {"start": load_before, "end": _load()}}
    report = {**report, "command": command_line(ctx), "machine": host, "environment": environment(),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "runtime_s": {**report["runtime_s"], "total": round(time.perf_counter() - started, 1)}}
    if as_json:
        _echo_json(report)
    elif report["kind"] == "triplets":
        _print_triplets(report)
    else:
        _print_beir(report)


def command_line(ctx: click.Context) -> str:
    """The ``kb …`` command that produced a result, rebuilt from the parsed options."""
    parts = ["kb"]
    root = ctx.find_root()
    if root.params.get("embedder"):
        parts += ["--embedder", root.params["embedder"]]
    parts.append(ctx.info_name or "eval")
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if isinstance(param, click.Argument):
            if value is not None:
                parts.append(str(value))
        elif getattr(param, "is_flag", False):
            if value:
                parts.append(param.opts[0])
        elif value is not None and value != param.default:
            parts += [param.opts[0], str(value)]
    return shlex.join(parts)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu or "unknown", "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def _load() -> float | None:
    """The 1-minute load average: on a shared machine it explains slow runtimes."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def environment() -> dict[str, str]:
    """Settings that change embedding results or speed."""
    return {k: os.environ[k] for k in ("IPKB_EMBEDDER", "IPKB_EMBED_PRECISION", "IPKB_THREADS", "IPKB_MODEL_DIR")
            if k in os.environ}


def _print_beir(report: dict) -> None:
    click.echo(f"{report['dataset']}: {report['documents']} documents, {report['queries']} queries; "
               f"embedder {report['embedder']}, {report['embedded_passages']} of {report['passages']} passages "
               f"embedded (budget {report['embed_budget'] or 'none'})")
    names = [n for n in TABLE_METRICS if any(n in m["mean"] for m in report["modes"].values())]
    click.echo(f"{'mode':<8}" + "".join(f"{n:>16}" for n in names))
    for mode, m in report["modes"].items():
        click.echo(f"{mode:<8}" + "".join(f"{m['mean'][n]:>16.4f}" for n in names))
    if report["queries"] <= PER_QUERY_TABLE_MAX:
        for mode, m in report["modes"].items():
            for qid, figures in m["per_query"].items():
                click.echo(f"  {mode:<8}{qid:<14}" + "".join(f"{figures[n]:>16.4f}" for n in names))
    if report["missing_relevant_docs"]:
        click.echo(f"relevant documents absent from the corpus: {len(report['missing_relevant_docs'])}")


def _print_triplets(report: dict) -> None:
    click.echo(f"{report['dataset']}: {report['triplets']} triplets; embedder {report['embedder']}, "
               f"{report['embedded_passages']} of {report['passages']} passages embedded")
    click.echo(f"{'mode':<8}{'accuracy':>10}{'correct':>9}{'wrong':>7}{'ties':>6}")
    for mode, r in report["modes"].items():
        click.echo(f"{mode:<8}{r['accuracy']:>10.4f}{r['correct']:>9}{r['wrong']:>7}{r['ties']:>6}")


if __name__ == "__main__":  # ``python -m kb.cli_eval …`` until kb/cli.py imports this module
    main()
