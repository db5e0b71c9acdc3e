"""Concurrent use: readers never wait for or see half of a writer, one writer at a time,
and a long-lived reader (the app) sees what another process committed.

The writer is a real ``kb ingest`` subprocess (fake embedder); the readers are this
process (a KnowledgeBase kept open, as the app keeps one) and ``kb search`` subprocesses.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from reliability_helpers import (
    LIVE,
    Child,
    assert_consistent_and_unique,
    copy_corpus_subset,
    expected_documents,
    kb_command,
    live_ids,
    lock_holder,
    run_kb,
    store_rows,
    wait_until,
)

SEED_SET = ("laws/专利法(2020-10-17).md", "judgments/lecardv2_ip_criminal.jsonl")
WRITER_SET = ("judgments", "guiding-cases")
"""The ingest that runs while the readers poll: 335 real documents, several batches."""

QUERIES = ("专利 侵权", "商标", "假冒注册商标罪", "著作权 信息网络传播权", "不正当竞争", "指导案例")


def _open(home: Path):
    from kb.knowledge import KnowledgeBase
    return KnowledgeBase.open(home, embedder="fake", create=False)


@pytest.fixture()
def seeded(tmp_path):
    seed = copy_corpus_subset(tmp_path / "seed", SEED_SET)
    writer = copy_corpus_subset(tmp_path / "writer", WRITER_SET)
    home = tmp_path / "kb"
    assert run_kb(home, "ingest", seed).returncode == 0
    return home, seed, writer


@pytest.mark.slow
def test_searches_work_during_an_ingest_and_a_second_ingest_is_refused(seeded, tmp_path):
    home, seed, writer = seeded
    expected = expected_documents([seed, writer])
    reader = _open(home)  # opened before the writer starts and kept, as the app keeps one
    seen_counts = [reader.lexical.doc_count()]
    child = Child(kb_command(home, "ingest", writer), tmp_path / "logs", "writer")
    try:
        assert wait_until(lambda: f"pid {child.pid}" in lock_holder(home), timeout=60), "the writer never took the lock"

        # a second writer is refused at once, naming the holder, while the first goes on
        second = run_kb(home, "ingest", seed)
        assert second.returncode == 1
        assert f"pid {child.pid}" in second.stderr and "another ingest" in second.stderr, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert child.running(), "the first ingest should still be running (the second was not queued behind it)"

        searches = cli_searches = 0
        while True:  # at least one round, then as long as the writer runs
            writer_running = child.running()
            seen_counts.append(reader.lexical.doc_count())
            for query in QUERIES:
                for mode in ("bm25", "hybrid"):
                    for hit in reader.search(query, k=10, mode=mode).hits:
                        assert reader.store.state_of(hit.id) == LIVE
                        assert reader.get(hit.id).title == hit.title
                        assert reader.passages(hit.id)
                    searches += 1
            if cli_searches < 3:
                found = run_kb(home, "search", "--json", "-k", "20", QUERIES[cli_searches], embedder=None)
                assert found.returncode == 0, found.stderr
                assert {h["id"] for h in found.json()} <= live_ids(home)
                cli_searches += 1
            if not writer_running:
                break
        finished = child.wait()
        assert finished.returncode == 0, finished.stderr
        # the long-lived reader now sees everything the other process committed
        assert reader.lexical.doc_count() == len(expected)
        assert {h.id for h in reader.search('id:"指导案例20号"', k=5, mode="bm25").hits} == {"指导案例20号"}
    finally:
        child.kill()
        reader.close()
    assert len(set(seen_counts)) >= 2, f"the open reader never saw the index grow: {seen_counts}"
    assert assert_consistent_and_unique(home) == expected


def test_open_reader_sees_documents_added_and_deleted_by_another_process(seeded, tmp_path):
    home, _, _ = seeded
    new_file = copy_corpus_subset(tmp_path / "more", ["guiding-cases/指导案例46号.json"])
    new_id = "指导案例46号"
    with _open(home) as kb:
        assert new_id not in {h.id for h in kb.search(f'id:"{new_id}"', k=5, mode="bm25").hits}
        vectors_before = len(kb.vectors)
        assert run_kb(home, "ingest", new_file).returncode == 0  # process B
        # lexical side: the reader's snapshot refreshes on the new commit
        assert new_id in {h.id for h in kb.search(f'id:"{new_id}"', k=5, mode="bm25").hits}
        # vector side: the cache reloads on the store's new generation
        assert len(kb.vectors) > vectors_before
        passage = next(p for p in kb.passages(new_id) if p.embed)
        top = kb.search(passage.text[:300], k=3, mode="vector").hits
        assert top and top[0].id == new_id
        assert run_kb(home, "delete", new_id).returncode == 0  # process B again
        assert new_id not in {h.id for h in kb.search(f'id:"{new_id}"', k=5, mode="bm25").hits}
        assert new_id not in {h.id for h in kb.search(passage.text[:300], k=10, mode="vector").hits}
        assert len(kb.vectors) == vectors_before
    assert new_id not in store_rows(home)


def test_a_reader_never_holds_up_a_writer(seeded, tmp_path):
    """An open reader (with a warm snapshot) does not stop ``kb ingest`` or ``kb delete``."""
    home, _, _ = seeded
    more = copy_corpus_subset(tmp_path / "more", ["guiding-cases/指导案例47号.json"])
    with _open(home) as kb:
        kb.search("专利", k=5)
        done = run_kb(home, "ingest", more)  # a writer blocked by the reader would fail with
        assert done.returncode == 0, done.stderr  # "locked"/"database is locked" here
        assert "指导案例47号" in {h.id for h in kb.search('id:"指导案例47号"', k=5, mode="bm25").hits}
        assert run_kb(home, "delete", "指导案例47号").returncode == 0
        assert "指导案例47号" not in {h.id for h in kb.search('id:"指导案例47号"', k=5, mode="bm25").hits}
