"""Build ipkb's own IP evaluation set (BEIR layout) from the shipped corpus/.

Usage::

    .venv/bin/python bench/ipeval/build_ipeval.py [--corpus corpus] [--out bench/ipeval]

The relevance definition is in bench/ipeval/README.md; this script is its only
implementation. Everything is read through the ingest readers and parsers, so a
document's category, cause and citations here are exactly what the knowledge base
sees. Deterministic: the same corpus/ gives byte-identical files.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pipeline import prepare  # noqa: E402
from ingest.readers import read_path  # noqa: E402
from kb.citations import extract_citations, known_law_names  # noqa: E402
from kb.models import Document  # noqa: E402
from kb.numerals import NUMERAL_CHARS  # noqa: E402

PROCEDURE_LAWS = frozenset({"民事诉讼法", "刑事诉讼法", "行政诉讼法"})
"""Sharing an article of a procedure law says nothing about two cases."""

INFRINGEMENT_MARKERS = ("侵害", "侵犯", "侵权", "假冒", "非法制造", "不正当竞争", "虚假宣传", "擅自使用",
                        "商业诋毁", "垄断", "滥用市场支配地位", "捆绑交易")
QUERY_FACT_KINDS = ("facts",)
QUERY_FALLBACK_KINDS = ("claims", "defense", "evidence")
TEXT_KINDS = ("facts", "claims", "defense", "evidence", "reasoning")
RECORD_HEADING = {"facts": "查明事实", "claims": "诉称", "defense": "辩称", "evidence": "证据", "reasoning": "本院认为"}
"""Section kind -> a heading the judgment parser maps back to that kind."""
SHINGLE = 8
NEAR_DUPLICATE = 0.8
MIN_QUERY_CHARS = 40

_LEGAL_TITLE = re.compile(r"《[^《》]{0,80}?(?:法|法典|条例|规定|解释|办法|决定|细则|规则|批复|通则|意见)》"
                          r"(?:\s*[（(][^（）()]{0,40}[）)])?")
_NUM = rf"[{NUMERAL_CHARS}0-9０-９]+"
_ARTICLE_REF = re.compile(rf"第{_NUM}条(?:之{_NUM})?(?:第{_NUM}款)?(?:第[（(]?{_NUM}[）)]?项)?")


@dataclass(frozen=True)
class Case:
    doc: Document
    source_file: str

    @property
    def id(self) -> str:
        return self.doc.id


# --- reading ---------------------------------------------------------------------------

def load_cases(corpus_dir: Path) -> list[Case]:
    """Guiding cases by number, then every judgment record, in file order."""
    guiding = sorted((corpus_dir / "guiding-cases").glob("*.json"),
                     key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    judgments = sorted((corpus_dir / "judgments").glob("*.jsonl"))
    cases: list[Case] = []
    for path in guiding + judgments:
        result = read_path(path)
        if result.errors:
            raise SystemExit(f"{path}: {result.errors[0].reason}")
        for raw in result.docs:
            doc, _ = prepare(raw)
            cases.append(Case(doc, path.relative_to(corpus_dir.parent).as_posix()))
    return cases


# --- the relevance definition (bench/ipeval/README.md) ------------------------------------

def article_keys(doc: Document) -> frozenset[str]:
    return frozenset(c.key for c in doc.citations if c.article and c.law not in PROCEDURE_LAWS)


def cause_family(cause: str | None) -> str | None:
    if not cause:
        return None
    if "行政" in cause:
        return "行政"
    if any(marker in cause for marker in INFRINGEMENT_MARKERS):
        return "侵权"
    if "权属" in cause:
        return "权属"
    if "合同" in cause:
        return "合同"
    return None


def judgeable(doc: Document) -> bool:
    return doc.ip_category != "其他" and bool(doc.cause or article_keys(doc))


def grade(query: Document, candidate: Document) -> int:
    if query.ip_category != candidate.ip_category or query.ip_category == "其他":
        return 0
    if article_keys(query) & article_keys(candidate):
        return 2
    family = cause_family(query.cause)
    return 1 if family is not None and family == cause_family(candidate.cause) else 0


# --- texts ---------------------------------------------------------------------------------

def strip_statutes(text: str) -> str:
    """The text without statute titles, bare law names and article references."""
    text = _LEGAL_TITLE.sub("", text)
    for name in sorted(known_law_names(), key=len, reverse=True):
        if len(name) >= 2:
            text = re.sub(rf"(?:中华人民共和国)?{re.escape(name)}", "", text)
    text = _ARTICLE_REF.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def query_text(doc: Document) -> str:
    sections = doc.sections_of(*QUERY_FACT_KINDS) or doc.sections_of(*QUERY_FALLBACK_KINDS)
    return strip_statutes("\n".join(s.text for s in sections))


def text_sections(doc: Document) -> list[tuple[str, str]]:
    """(kind, text) of the facts and reasoning parts, in document order."""
    return [(s.kind, s.text) for s in doc.sections if s.kind in TEXT_KINDS and s.text.strip()]


def corpus_record(case: Case, groups: dict[str, list[str]]) -> dict:
    doc = case.doc
    parts = text_sections(doc)
    meta: dict = {"doc_type": doc.doc_type}
    if doc.doc_type == "guiding_case":
        heading = {"facts": "基本案情", "reasoning": "裁判理由"}
        parts = [(k, t) for k, t in parts if k in heading]
        text = "\n".join(f"{heading[k]}\n{t}" for k, t in parts)
        meta["guiding_case_no"] = doc.guiding_no
    else:
        text = "\n".join(t for _, t in parts)
        if any(k == "reasoning" for k, _ in parts):
            meta["sections"] = [[RECORD_HEADING[k], t.split("\n")] for k, t in parts]
        else:
            meta["excerpt"] = "facts"
    meta.update(source_file=case.source_file, ip_category=doc.ip_category, cause=doc.cause,
                cause_family=cause_family(doc.cause), article_keys=sorted(article_keys(doc)),
                near_duplicates=groups.get(doc.id, []))
    return {"_id": doc.id, "title": doc.title, "text": text, "metadata": meta}


# --- near-duplicates -------------------------------------------------------------------------

def shingles(text: str, n: int = SHINGLE) -> frozenset[str]:
    compact = re.sub(r"\s+", "", text)
    return frozenset(compact[i:i + n] for i in range(len(compact) - n + 1))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def near_duplicate_groups(cases: list[Case], threshold: float = NEAR_DUPLICATE) -> dict[str, list[str]]:
    """Each document's other group members (transitive closure of containment >= threshold)."""
    parent = {c.id: c.id for c in cases}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    grams = {c.id: shingles(c.doc.text) for c in cases}
    for a, b in combinations(cases, 2):
        if containment(grams[a.id], grams[b.id]) >= threshold:
            parent[root(a.id)] = root(b.id)
    members: dict[str, list[str]] = {}
    for c in cases:
        members.setdefault(root(c.id), []).append(c.id)
    return {i: [m for m in group if m != i] for group in members.values() if len(group) > 1 for i in group}


# --- building ----------------------------------------------------------------------------------

def build(corpus_dir: Path, out_dir: Path) -> dict:
    cases = load_cases(corpus_dir)
    kept = [c for c in cases if judgeable(c.doc)]
    dropped_docs = [c.id for c in cases if not judgeable(c.doc)]
    groups = near_duplicate_groups(kept)
    by_id = {c.id: c for c in kept}
    if len(by_id) != len(kept):
        raise SystemExit("two corpus documents share an id")

    queries, qrels, candidates, dropped_queries = [], [], [], {}
    for case in kept:
        if not article_keys(case.doc):
            continue
        text = query_text(case.doc)
        if len(text) < MIN_QUERY_CHARS:
            dropped_queries[case.id] = "no facts text"
            continue
        leaked = [c.label for c in extract_citations(text) if c.article]
        if leaked:
            raise SystemExit(f"{case.id}: statute mentions left in the query text: {leaked}")
        excluded = {case.id, *groups.get(case.id, [])}
        pool = [c.id for c in kept if c.id not in excluded]
        graded = [(d, grade(case.doc, by_id[d].doc)) for d in pool]
        graded = [(d, g) for d, g in graded if g > 0]
        if not graded:
            dropped_queries[case.id] = "no relevant candidate"
            continue
        qid = f"q:{case.id}"
        queries.append({"_id": qid, "text": text})
        qrels += [(qid, d, g) for d, g in graded]
        candidates.append({"query_id": qid, "corpus_ids": pool})

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "corpus.jsonl", [corpus_record(c, groups) for c in kept])
    _write_jsonl(out_dir / "queries.jsonl", queries)
    _write_jsonl(out_dir / "candidates.jsonl", candidates)
    with open(out_dir / "qrels.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(f"{q}\t{d}\t{g}\n" for q, d, g in qrels)
    stats = _stats(cases, kept, dropped_docs, groups, queries, qrels, dropped_queries)
    (out_dir / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return stats


def _stats(cases, kept, dropped_docs, groups, queries, qrels, dropped_queries) -> dict:
    per_grade = {g: sum(1 for *_, x in qrels if x == g) for g in (1, 2)}
    unique_groups = sorted({tuple(sorted([i, *others])) for i, others in groups.items()})
    categories: dict[str, int] = {}
    for c in kept:
        categories[c.doc.ip_category] = categories.get(c.doc.ip_category, 0) + 1
    return {
        "corpus_documents_read": len(cases),
        "documents": len(kept),
        "documents_left_out_unjudgeable": dropped_docs,
        "documents_by_category": dict(sorted(categories.items(), key=lambda kv: -kv[1])),
        "guiding_cases": sum(1 for c in kept if c.doc.doc_type == "guiding_case"),
        "queries": len(queries),
        "queries_from_guiding_cases": sum(1 for q in queries if q["_id"].startswith("q:指导案例")),
        "queries_dropped": dropped_queries,
        "qrels": len(qrels),
        "qrels_by_grade": per_grade,
        "mean_relevant_per_query": round(len(qrels) / max(len(queries), 1), 2),
        "near_duplicate_groups": [list(g) for g in unique_groups],
        "near_duplicate_threshold": f"containment of character {SHINGLE}-grams >= {NEAR_DUPLICATE}",
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    stats = build(args.corpus, args.out)
    print(json.dumps({k: v for k, v in stats.items() if not isinstance(v, (list, dict))}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
