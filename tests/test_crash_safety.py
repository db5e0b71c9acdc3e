"""Crash safety: a writer killed with SIGKILL anywhere leaves a knowledge base that opens,
shows only complete documents, and is completed by the next run.

Three kinds of evidence:
- random kills of ``kb ingest corpus/`` (seeded delays), each run resuming the last;
- deterministic kills at each named point of the write protocol (fault injection in a
  child process, see reliability_helpers.FAULT_POINTS), during a first ingest, a
  replace (re-ingest of a changed file) and ``kb delete``;
- inconsistent states made directly with the library (a PENDING document, an index
  entry without a live document, a live document missing from the index or without
  vectors): ``kb check`` reports each and ``kb check --repair`` fixes each.

All with the fake embedder.
"""
from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pytest
from reliability_helpers import (
    CORPUS,
    LIVE,
    Child,
    assert_consistent_and_unique,
    assert_only_complete_documents,
    check_json,
    copy_corpus_subset,
    expected_documents,
    fault_command,
    kb_command,
    lexical_ids,
    run,
    run_kb,
    store_rows,
)

SEED = 20261126
RANDOM_KILLS = 8
MAX_DELAY = 4.0
"""Each run is killed 0.2–4 s after it starts (startup included); each resumes the last, so
the kill points spread over the whole ingest however fast the machine is."""

SET_A = ("guiding-cases/指导案例20号.json", "guiding-cases/指导案例29号.json", "laws/专利法(2020-10-17).md",
         "judgments/lecardv2_ip_criminal.jsonl")
SET_B = ("judgments/cail2018_ip_criminal_facts.jsonl",)
"""A: documents stored before the crash (must never be lost). B: what the killed run was adding."""


def assert_after_kill(home: Path, survivors: dict[str, str]) -> dict:
    """What must hold right after a writer died: returns ``kb check --json``'s report."""
    report = check_json(home)
    assert report["missing_in_lexical"] == [] and report["missing_vectors"] == [], report
    rows = store_rows(home)
    for doc_id, digest in survivors.items():
        assert rows.get(doc_id) == (LIVE, digest), f"{doc_id} was stored before the crash and is not now"
    assert_only_complete_documents(home)
    return report


# --- random kill points during kb ingest corpus/ ---------------------------------------------

@pytest.mark.slow
def test_random_kills_during_ingest_of_the_corpus_then_resume(tmp_path):
    expected = expected_documents([CORPUS])
    home = tmp_path / "kb"
    rng = random.Random(SEED)
    outcomes = []
    while sum(1 for o in outcomes if o["interrupted"]) < RANDOM_KILLS:
        delay = rng.uniform(0.2, MAX_DELAY)
        child = Child(kb_command(home, "ingest", CORPUS), tmp_path / "logs", f"run{len(outcomes)}")
        time.sleep(delay)
        interrupted = child.kill()
        finished = child.wait()
        outcome = {"delay": round(delay, 2), "interrupted": interrupted, "returncode": finished.returncode}
        outcomes.append(outcome)
        if not interrupted:  # the ingest finished first: it must be complete, then start over
            assert finished.returncode == 0, finished.stderr
            assert assert_consistent_and_unique(home) == expected
            shutil.rmtree(home)
            continue
        assert finished.returncode == -9
        if not (home / "kb.sqlite").exists():
            outcome["state"] = "killed before the store existed"
            continue
        report = assert_after_kill(home, {})
        rows = store_rows(home)
        outcome["state"] = {"live": sum(1 for s, _ in rows.values() if s == LIVE),
                            "pending": len(report["pending"]), "deleting": len(report["deleting"])}
    done = run_kb(home, "ingest", CORPUS)
    assert done.returncode == 0, done.stderr
    assert assert_consistent_and_unique(home) == expected, outcomes
    assert sum(1 for o in outcomes if o["interrupted"]) >= RANDOM_KILLS


# --- deterministic kill points -----------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A knowledge base holding set A, built once; tests copy it."""
    root = tmp_path_factory.mktemp("crash_base")
    folder_a = copy_corpus_subset(root / "a", SET_A)
    folder_b = copy_corpus_subset(root / "b", SET_B)
    home = root / "kb"
    done = run_kb(home, "ingest", folder_a)
    assert done.returncode == 0, done.stderr
    return {"home": home, "a": folder_a, "b": folder_b,
            "expected_a": expected_documents([folder_a]), "expected_b": expected_documents([folder_b])}


def copy_base(base, tmp_path: Path) -> Path:
    home = tmp_path / "kb"
    shutil.copytree(base["home"], home)
    return home


INGEST_POINTS = {
    # point: (which call dies, whether B's documents are PENDING after the kill, in the lexical index)
    "embedding": (1, False, False),
    "store_transaction": (5, False, False),   # inside put_pending's transaction: rolled back
    "indexing": (1, True, False),
    "lexical_commit": (1, True, False),       # segment written, table of contents not
    "after_lexical_commit": (1, True, True),
    "mark_live": (1, True, True),
    "record_source": (1, False, True),        # documents live, their file not yet recorded
}


@pytest.mark.parametrize("point", list(INGEST_POINTS))
def test_kill_at_each_point_of_an_ingest_then_resume(base, tmp_path, point):
    nth, pending, indexed = INGEST_POINTS[point]
    home = copy_base(base, tmp_path)
    killed = run(fault_command(home, point, nth, "ingest", base["b"]))
    assert killed.returncode == -9, f"the fault at {point} did not fire: {killed.stderr}"
    report = assert_after_kill(home, base["expected_a"])
    b_ids = set(base["expected_b"])
    assert (set(report["pending"]) == b_ids) is pending, report
    assert (b_ids <= lexical_ids(home)) is indexed
    if not pending:
        assert report["pending"] == []
    resumed = run_kb(home, "ingest", base["b"])
    assert resumed.returncode == 0, resumed.stderr
    if pending:
        assert "recovered an interrupted write" in resumed.stderr
    assert assert_consistent_and_unique(home) == base["expected_a"] | base["expected_b"]


def test_kill_during_recovery_is_recovered_by_the_next_run(base, tmp_path):
    home = copy_base(base, tmp_path)
    assert run(fault_command(home, "mark_live", 1, "ingest", base["b"])).returncode == -9
    # the next writer starts by finishing that work, and is killed while doing so
    assert run(fault_command(home, "mark_live", 1, "ingest", base["b"])).returncode == -9
    assert_after_kill(home, base["expected_a"])
    assert run_kb(home, "ingest", base["b"]).returncode == 0
    assert assert_consistent_and_unique(home) == base["expected_a"] | base["expected_b"]


def _edited_guiding_case(path: Path) -> None:
    """SYNTHETIC change of a real document: its last paragraph removed (a corrected version)."""
    record = json.loads(path.read_text(encoding="utf-8"))
    record["text"] = record["text"].rstrip("\n").rsplit("\n", 1)[0]
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.mark.parametrize("point", ["indexing", "mark_live"])
def test_kill_during_replace_of_a_changed_file(base, tmp_path, point):
    home = copy_base(base, tmp_path)
    folder = tmp_path / "a"
    shutil.copytree(base["a"], folder)
    assert run_kb(home, "ingest", folder).returncode == 0  # same files under a new path: no change
    changed = folder / "guiding-cases" / "指导案例20号.json"
    _edited_guiding_case(changed)
    new = expected_documents([folder])
    assert new["指导案例20号"] != base["expected_a"]["指导案例20号"]
    killed = run(fault_command(home, point, 1, "ingest", folder))
    assert killed.returncode == -9
    others = {d: h for d, h in base["expected_a"].items() if d != "指导案例20号"}
    report = assert_after_kill(home, others)
    assert report["pending"] == ["指导案例20号"]  # hidden, neither version shown, until finished
    resumed = run_kb(home, "ingest", "--json", folder)
    assert resumed.returncode == 0, resumed.stderr
    assert assert_consistent_and_unique(home) == new
    shown = run_kb(home, "show", "指导案例20号", "--json", embedder=None).json()
    assert shown["text"] == json.loads(changed.read_text(encoding="utf-8"))["text"]


@pytest.mark.parametrize("point", ["delete_lexical", "delete_purge"])
def test_kill_during_delete_is_finished_by_check_repair(base, tmp_path, point):
    home = copy_base(base, tmp_path)
    victim = "指导案例29号"
    killed = run(fault_command(home, point, 1, "delete", victim))
    assert killed.returncode == -9
    others = {d: h for d, h in base["expected_a"].items() if d != victim}
    report = assert_after_kill(home, others)
    assert report["deleting"] == [victim] and report["exit"] == 1
    assert run_kb(home, "show", victim, embedder=None).returncode == 1  # already invisible
    repaired = run_kb(home, "check", "--repair", "--json", embedder=None)
    assert repaired.returncode == 0, repaired.stderr
    assert assert_consistent_and_unique(home) == others
    assert victim not in lexical_ids(home)


# --- inconsistent states made directly -----------------------------------------------------------

def _open(home: Path):
    from kb.knowledge import KnowledgeBase
    return KnowledgeBase.open(home, embedder="fake", create=False)


def _leave_pending(home: Path) -> str:
    """A document written to the store (step 1) and never indexed or marked live."""
    from ingest.pipeline import prepare
    from ingest.readers import read_path
    raw = read_path(CORPUS / "guiding-cases" / "指导案例30号.json").docs[0]
    doc, passages = prepare(raw)
    with _open(home) as kb:
        vectors = kb.embedder.embed_passages([p.text for p in passages if p.embed])
        kb.store.put_pending([(doc, passages, vectors)])
    return doc.id


def _index_without_store(home: Path) -> str:
    """A document in the full-text index that the store does not hold."""
    from ingest.pipeline import prepare
    from ingest.readers import read_path
    doc, _ = prepare(read_path(CORPUS / "guiding-cases" / "指导案例46号.json").docs[0])
    with _open(home) as kb:
        kb.lexical.add([doc])
        kb.lexical.commit()
    return doc.id


def _drop_from_index(home: Path) -> str:
    with _open(home) as kb:
        kb.lexical.delete(["指导案例20号"])
        kb.lexical.commit()
    return "指导案例20号"


def _drop_vectors(home: Path) -> str:
    with _open(home) as kb:
        kb.store.db.execute("DELETE FROM vectors WHERE doc_id = ?", ("专利法(2020)",))
    return "专利法(2020)"


BROKEN_STATES = {
    "pending": (_leave_pending, "pending"),
    "extra_in_lexical": (_index_without_store, "extra_in_lexical"),
    "missing_in_lexical": (_drop_from_index, "missing_in_lexical"),
    "missing_vectors": (_drop_vectors, "missing_vectors"),
}


@pytest.mark.parametrize("state", list(BROKEN_STATES))
def test_check_reports_and_repair_fixes(base, tmp_path, state):
    home = copy_base(base, tmp_path)
    make, field = BROKEN_STATES[state]
    doc_id = make(home)
    found = check_json(home)
    assert found["exit"] == 1 and not found["ok"]
    assert found[field] == [doc_id], found
    repaired = run_kb(home, "check", "--repair", "--json", embedder=None)
    assert repaired.returncode == 0, repaired.stderr
    fixed = repaired.json()
    assert fixed["repaired"] and fixed["actions"], f"repair of {state} says it did nothing: {fixed}"
    expected = dict(base["expected_a"])
    if state == "pending":
        expected[doc_id] = store_rows(home)[doc_id][1]
    assert assert_consistent_and_unique(home) == expected
    if state != "extra_in_lexical":
        hits = run_kb(home, "search", "--json", "-k", "50", "--mode", "bm25", f'id:"{doc_id}"').json()
        assert [h["id"] for h in hits] == [doc_id]
        with _open(home) as kb:
            assert kb.store.vector_doc_ids() >= set(expected)
    else:
        assert doc_id not in lexical_ids(home)
