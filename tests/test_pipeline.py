"""The ingest pipeline's bookkeeping: no-op re-runs, replacement, removal, limits.
Texts are short synthetic judgments (labelled synthetic), ingested with the fake embedder."""
from __future__ import annotations

import pytest

from ingest.pipeline import ingest_paths
from kb.knowledge import KnowledgeBase

CASE = "原告诉称：被告未经许可使用其注册商标。经审理查明：被告在同一种商品上使用了相同商标。{}"


@pytest.fixture
def kb(tmp_path):
    with KnowledgeBase.open(tmp_path / "home", embedder="fake") as opened:
        yield opened


def _ingest(kb, *paths, **kw):
    with kb.writing():
        return ingest_paths(kb, list(paths), **kw)


def test_rerun_is_a_noop_and_a_changed_file_replaces(kb, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    f = folder / "a.txt"
    f.write_text(CASE.format("本院认为：构成侵权。"), encoding="utf-8")
    first = _ingest(kb, folder)
    assert len(first.added) == 1 and first.ok
    again = _ingest(kb, folder)
    assert again.added == [] and again.skipped_files == 1
    f.write_text(CASE.format("本院认为：被告的行为构成侵害商标权。"), encoding="utf-8")
    changed = _ingest(kb, folder)
    assert changed.added + changed.replaced + changed.removed  # the old text is gone either way
    assert kb.store.live_ids() and all("侵害商标权" in kb.get(i).text for i in kb.store.live_ids())


def test_a_vanished_file_takes_its_documents_but_not_a_twin_files(kb, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(CASE.format("甲。"), encoding="utf-8")
    (folder / "b.txt").write_text(CASE.format("甲。"), encoding="utf-8")  # same content, other name
    (folder / "c.txt").write_text(CASE.format("乙。"), encoding="utf-8")
    report = _ingest(kb, folder)
    assert len(kb.store.live_ids()) == 2 and len(report.added) == 2
    (folder / "a.txt").unlink()
    _ingest(kb, folder)
    assert len(kb.store.live_ids()) == 2  # b.txt still holds the document
    (folder / "c.txt").unlink()
    removed = _ingest(kb, folder)
    assert len(removed.removed) == 1 and len(kb.store.live_ids()) == 1


def test_one_overlong_document_is_refused_and_the_rest_go_in(kb, tmp_path):
    long_file = tmp_path / "long.txt"
    long_file.write_text(CASE.format("事实" * 600), encoding="utf-8")
    ok_file = tmp_path / "ok.txt"
    ok_file.write_text(CASE.format("丙。"), encoding="utf-8")
    report = _ingest(kb, long_file, ok_file, max_chars=1000)
    assert [f for f, _ in report.failures] == [str(long_file)]
    assert "over the 1,000-character limit" in report.failures[0][1]
    assert len(report.added) == 1
