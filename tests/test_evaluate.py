"""kb eval: metrics, LeCaRD's scorer, BEIR loading and checks, runs, triplets, the CLI.

Fixtures: tests/fixtures/beir_tiny (synthetic, see its README) and
tests/fixtures/lecard_bm25 (LeCaRD's published BM25 run and labels, MIT).
Everything runs with the fake embedder.
"""
from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.cli_eval  # noqa: F401  (registers `kb eval` until kb/cli.py imports it)
from kb.cli import main
from kb.cli_eval import IngestCaseParser
from kb.errors import EvaluationError
from kb.evaluate import (
    accuracy, choose, evaluate_beir, evaluate_triplets, fused_differences, load_beir, load_triplets, write_run,
)
from kb.metrics import dcg, lecard_ndcg, mean_metrics, trec_metrics

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "beir_tiny"
LECARD = FIXTURES / "lecard_bm25"


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    """A writable copy of the synthetic BEIR set."""
    target = tmp_path / "beir"
    shutil.copytree(TINY, target)
    return target


# --- metrics -------------------------------------------------------------------------------------

def test_trec_metrics_match_hand_computed_values():
    qrels = {"q": {"a": 2, "b": 1, "c": 0, "d": 1}}
    ranking = ["b", "x", "a", "y", "z", "d"]
    got = trec_metrics(qrels, {"q": ranking})["q"]
    dcg_run = 1 / math.log2(2) + 2 / math.log2(4) + 1 / math.log2(7)
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert got["ndcg@10"] == pytest.approx(dcg_run / ideal, abs=1e-6)
    assert got["ndcg@30"] == pytest.approx(dcg_run / ideal, abs=1e-6)
    assert got["p@5"] == pytest.approx(2 / 5)
    assert got["recall@100"] == pytest.approx(1.0)
    assert got["map"] == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3, abs=1e-6)


def test_trec_metrics_cut_recall_and_keep_the_systems_order():
    qrels = {"q": {f"r{i}": 1 for i in range(3)}}
    ranking = [f"n{i}" for i in range(100)] + ["r0", "r1", "r2"]  # relevant only after rank 100
    assert trec_metrics(qrels, {"q": ranking})["q"]["recall@100"] == 0.0
    # equal-looking ids in reverse order: trec_eval would re-sort ties by id, we pass rank scores
    got = trec_metrics({"q": {"a": 1}}, {"q": ["z", "a"]})["q"]
    assert got["p@5"] == pytest.approx(1 / 5) and got["map"] == pytest.approx(1 / 2)


def test_queries_without_a_ranking_score_zero_and_count_in_the_mean():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    per_query = trec_metrics(qrels, {"q1": ["a"]})
    assert per_query["q2"] == {name: 0.0 for name in per_query["q1"]}
    assert mean_metrics(per_query)["ndcg@10"] == pytest.approx(0.5)


def test_lecard_ndcg_restricts_to_the_labelled_pool_and_uses_all_labels_as_ideal():
    labels = [("a", 3), ("b", 2), ("c", 0), ("d", 1), ("g", 3)]  # g is past the pool of 4 (a golden case)
    ranking = ["x", "b", "c", "a", "y", "g"]
    gains = [2, 0, 3, 0]  # b, c, a in ranked order, padded; x, y unlabelled, g outside the pool
    ideal = [3, 3, 2, 1, 0]
    assert lecard_ndcg(ranking, labels, 2, pool=4) == pytest.approx(dcg(gains, 2) / dcg(ideal, 2))
    assert lecard_ndcg(ranking, labels, 4, pool=4) == pytest.approx(
        (2 + 0 + 3 / math.log2(4)) / (3 + 3 / math.log2(3) + 2 / math.log2(4) + 1 / math.log2(5)))
    assert lecard_ndcg(["x", "c"], labels, 4, pool=4) == 0.0  # no gain at all


def test_lecard_ndcg_reproduces_lecards_published_bm25_run():
    labels = json.loads((LECARD / "label_top30_dict_q0-4.json").read_text(encoding="utf-8"))
    runs = json.loads((LECARD / "bm25_top100_q0-4.json").read_text(encoding="utf-8"))
    for k, published in ((10, 0.6392), (30, 0.7950)):
        scores = [lecard_ndcg([str(d) for d in reversed(runs[q])], list(labels[q].items()), k) for q in labels]
        assert round(sum(scores) / len(scores), 4) == published


# --- loading and checking BEIR directories ---------------------------------------------------------

def test_load_beir_reads_ids_grades_in_order_and_skips_unjudged_queries():
    beir = load_beir(TINY)
    assert [r.id for r in beir.corpus] == ["tm-1", "tm-2", "pat-1", "pat-2", "cr-1", "cr-2", "ts-1"]
    assert beir.qrels["q-tm"] == [("tm-1", 2), ("tm-2", 1)]
    assert beir.judged_queries() == ["q-tm", "q-pat", "q-cr"]
    assert beir.corpus[1].record()["cause"] == "侵害商标权纠纷" and beir.corpus[0].record()["doc_type"] == "judgment"


def test_missing_file_names_the_file(tiny: Path):
    (tiny / "corpus.jsonl").unlink()
    with pytest.raises(EvaluationError, match=r"corpus\.jsonl: no such file"):
        load_beir(tiny)


def test_bad_json_line_names_file_and_line(tiny: Path):
    lines = (tiny / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    lines[1] = '{"_id": "q-pat", "text": '
    (tiny / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"queries\.jsonl:2: not valid JSON"):
        load_beir(tiny)


def test_qrels_without_header_is_refused(tiny: Path):
    body = (tiny / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]
    (tiny / "qrels.tsv").write_text("\n".join(body) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"qrels\.tsv:1: expected a header"):
        load_beir(tiny)


def test_qrels_with_unknown_ids_name_the_line(tiny: Path):
    with open(tiny / "qrels.tsv", "a", encoding="utf-8") as fh:
        fh.write("q-tm\tno-such-doc\t1\n")
    with pytest.raises(EvaluationError, match=r"qrels\.tsv:8: unknown corpus id 'no-such-doc'"):
        load_beir(tiny)
    beir = load_beir(tiny, allow_missing_docs=True)
    assert beir.missing_docs == ("no-such-doc",) and ("no-such-doc", 1) in beir.qrels["q-tm"]
    with open(tiny / "qrels.tsv", "a", encoding="utf-8") as fh:
        fh.write("q-ghost\ttm-1\t1\n")
    with pytest.raises(EvaluationError, match=r"qrels\.tsv:9: unknown query id 'q-ghost'"):
        load_beir(tiny, allow_missing_docs=True)


def test_candidates_with_unknown_ids_are_refused(tiny: Path):
    (tiny / "candidates.jsonl").write_text(
        json.dumps({"query_id": "q-tm", "corpus_ids": ["tm-1"]}) + "\n"
        + json.dumps({"query_id": "q-pat", "corpus_ids": ["pat-1", "nope"]}) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"candidates\.jsonl:2: unknown corpus id 'nope'"):
        load_beir(tiny)


def test_triplets_need_a_label_b_or_c(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"A": "甲", "B": "乙", "C": "丙", "label": "A"}) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"t\.jsonl:1: label must be"):
        load_triplets(path)
    assert [t.id for t in load_triplets(TINY / "triplets.jsonl")] == ["t1", "t2", "t3", "4"]


# --- parsing through the ingest parsers ---------------------------------------------------------------

def test_the_benchmark_id_wins_over_the_id_a_parser_would_give():
    record = {"id": "gc-x", "doc_type": "guiding_case", "guiding_case_no": 7, "title": "合成案例：指导案例格式",
              "text": "基本案情\n被告在网店销售假冒注册商标的红茶。\n裁判理由\n被告的行为构成侵害商标权。"}
    doc, passages = IngestCaseParser().document(record, source="corpus.jsonl", locator="line 1")
    assert doc.id == "gc-x" and doc.doc_type == "guiding_case"
    assert passages and all(p.doc_id == "gc-x" and p.id.startswith("gc-x#") for p in passages)


def test_a_bare_fact_description_becomes_a_facts_query():
    text = ("2018年1月15日14时许，被告人张某酒后驾驶小型轿车沿某大道由南往北行驶，被执勤民警查获，"
            "经检验其血液中乙醇含量为201.1毫克／100毫升。被告人张某到案后如实供述了自己的罪行。")
    doc, passages = IngestCaseParser().query(text, name="queries.jsonl:1")
    assert [s.kind for s in doc.sections] == ["facts"] and doc.sections[0].text == text
    assert passages and all(p.embed for p in passages)


# --- running -------------------------------------------------------------------------------------------

def test_evaluate_beir_ranks_in_three_modes_and_keeps_corpus_ids():
    result = evaluate_beir(TINY, IngestCaseParser(), embedder="fake")
    report, run = result.report, result.run
    assert set(report["modes"]) == {"bm25", "vector", "hybrid"} == set(run)
    assert report["queries"] == 3 and report["queries_skipped_no_relevant"] == ["q-none"]
    corpus_ids = {"tm-1", "tm-2", "pat-1", "pat-2", "cr-1", "cr-2", "ts-1"}
    for by_query in run.values():
        assert set(by_query) == {"q-tm", "q-pat", "q-cr"}
        assert all(doc in corpus_ids for ranked in by_query.values() for doc, _ in ranked)
    for q, best in (("q-tm", "tm-1"), ("q-pat", "pat-1"), ("q-cr", "cr-1")):
        assert run["bm25"][q][0][0] == best
    assert report["modes"]["bm25"]["mean"]["p@5"] > 0
    assert report["embedder"] == "fake-bigram-64" and report["embedded_passages"] > 0
    assert set(report["modes"]["bm25"]["per_query"]) == {"q-tm", "q-pat", "q-cr"}


def test_candidates_restrict_every_mode_to_the_pool(tiny: Path):
    pools = {"q-tm": ["tm-2", "pat-1", "cr-1"], "q-pat": ["pat-2", "ts-1"], "q-cr": ["cr-1", "cr-2", "tm-1"]}
    (tiny / "candidates.jsonl").write_text(
        "".join(json.dumps({"query_id": q, "corpus_ids": ids}) + "\n" for q, ids in pools.items()), encoding="utf-8")
    result = evaluate_beir(tiny, IngestCaseParser(), embedder="fake")
    for mode, by_query in result.run.items():
        for q, ranked in by_query.items():
            assert {d for d, _ in ranked} <= set(pools[q]), (mode, q)
    assert "tm-1" not in {d for d, _ in result.run["bm25"]["q-tm"]}
    assert result.report["relevant_judgements"] == {"total": 6, "in_corpus": 6, "in_pool": 4}
    assert result.report["modes"]["bm25"]["per_query"]["q-tm"]["ndcg@10"] < 1.0  # tm-1 (grade 2) is out of reach


def test_bm25_alone_needs_no_embedder_and_vector_modes_refuse_none():
    result = evaluate_beir(TINY, IngestCaseParser(), modes=["bm25"], embedder="fake")
    assert result.report["embedded_passages"] == 0 and result.report["embedder"] == "none"
    with pytest.raises(EvaluationError, match="need an embedder"):
        evaluate_beir(TINY, IngestCaseParser(), modes=["bm25", "vector"], embedder="none")
    with pytest.raises(EvaluationError, match="unknown mode 'dense'"):
        evaluate_beir(TINY, IngestCaseParser(), modes=["dense"], embedder="fake")


def test_lecard_scoring_adds_restricted_ndcg():
    result = evaluate_beir(TINY, IngestCaseParser(), modes=["bm25"], lecard_scoring=True)
    mean = result.report["modes"]["bm25"]["mean"]
    assert {"lecard_ndcg@10", "lecard_ndcg@30"} <= set(mean)
    ranked = [d for d, _ in result.run["bm25"]["q-tm"]]
    expected = lecard_ndcg(ranked, [("tm-1", 2), ("tm-2", 1)], 10)
    assert result.report["modes"]["bm25"]["per_query"]["q-tm"]["lecard_ndcg@10"] == pytest.approx(expected, abs=1e-4)


def test_run_file_has_six_columns_ranks_from_one_and_mode_tags():
    run = {"bm25": {"q1": [("d2", 3.5), ("d1", 1.0)], "q2": [("d3", 0.5)]}, "hybrid": {"q1": [("d1", 0.9)]}}
    out = io.StringIO()
    assert write_run(run, out) == 4
    rows = [line.split(" ") for line in out.getvalue().splitlines()]
    assert all(len(r) == 6 and r[1] == "Q0" for r in rows)
    assert [(r[0], r[2], r[3], r[5]) for r in rows] == [
        ("q1", "d2", "1", "bm25"), ("q1", "d1", "2", "bm25"), ("q2", "d3", "1", "bm25"), ("q1", "d1", "1", "hybrid")]
    assert float(rows[0][4]) == 3.5


# --- triplets ----------------------------------------------------------------------------------------

def test_score_fusion_and_tie_counting():
    assert (choose(0.2), choose(-1.0), choose(0.0)) == ("B", "C", None)
    fused = fused_differences({"bm25": [2.0, -4.0], "vector": [0.1, 0.1]})  # vector has no spread: left as is
    assert fused == pytest.approx([2 / 3 + 0.1, -4 / 3 + 0.1])
    assert accuracy([1.0, 0.0, -2.0], ["B", "B", "B"]) == {"accuracy": 0.3333, "correct": 1, "wrong": 1, "ties": 1}


def test_bm25_picks_the_candidate_that_shares_the_facts():
    report = evaluate_triplets(TINY / "triplets.jsonl", IngestCaseParser(), embedder="fake")
    assert report["triplets"] == 4 and report["distinct_texts"]["B_or_C"] == 8
    assert report["modes"]["bm25"] == {"accuracy": 1.0, "correct": 4, "wrong": 0, "ties": 0}
    assert set(report["modes"]) == {"bm25", "vector", "hybrid"}
    assert report["modes"]["hybrid"]["correct"] + report["modes"]["hybrid"]["wrong"] \
        + report["modes"]["hybrid"]["ties"] == 4


# --- the command line ----------------------------------------------------------------------------------

def test_cli_prints_json_with_the_three_modes_and_writes_a_run_file(tmp_path: Path):
    run_file = tmp_path / "run.txt"
    result = CliRunner().invoke(main, ["--embedder", "fake", "eval", str(TINY), "--json", "--run-out", str(run_file)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["modes"]) == {"bm25", "vector", "hybrid"}
    assert data["command"].startswith("kb --embedder fake eval ") and "--json" in data["command"]
    assert data["machine"]["cores"] >= 1 and data["date"] and data["runtime_s"]["total"] >= 0
    tags = {line.split()[5] for line in run_file.read_text(encoding="utf-8").splitlines()}
    assert tags == {"bm25", "vector", "hybrid"}


def test_cli_reports_malformed_input_and_exits_1(tiny: Path):
    (tiny / "qrels.tsv").write_text("q-tm\ttm-1\t2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--embedder", "fake", "eval", str(tiny)])
    assert result.exit_code == 1
    assert "qrels.tsv:1: expected a header" in result.output


def test_cli_triplets_table():
    result = CliRunner().invoke(main, ["--embedder", "fake", "eval", "--triplets", str(TINY / "triplets.jsonl"),
                                       "--modes", "bm25"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("bm25"))
    assert row.split()[1:] == ["1.0000", "4", "0", "0"]
