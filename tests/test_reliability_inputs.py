"""Bad input end to end: ``kb ingest`` on a folder of good real documents mixed with bad files.

The reader-level behaviour of each bad file is in test_bad_input_readers.py; here the
whole path is checked through the command line into a knowledge base: one stderr
line per bad file or record (naming it, with the reason), exit status 1, every good
document stored and showable, re-runs a no-op for the good files, and nothing stored
earlier lost when a later batch fails.

Inputs are generated in ``tmp_path``. Good documents are real corpus files, copied or
re-encoded (GB18030, UTF-16, mixed line endings: same real text, other bytes). Bad
ones are labelled: random bytes and hand-built archives are synthetic; the PDFs lay
real corpus text out with readers_helpers (then truncate, encrypt, ...).
"""
from __future__ import annotations

import os
import random
import shutil
import unicodedata
from pathlib import Path

import pytest
from reliability_helpers import (
    CORPUS,
    build_bad,
    build_good,
    expected_documents,
    fact_excerpts,
    kb_command,
    run_kb,
    run_measured,
    store_rows,
)

MB = 1024 * 1024



def _line_names(line: str, name: str) -> bool:
    """Whether one output line names ``name``: every printable run of the name appears in it,
    in order (control characters may be escaped any way, but not break the line)."""
    pieces = [p for p in "".join(c if c.isprintable() else "\0" for c in name).split("\0") if p]
    pos = 0
    for piece in pieces:
        pos = line.find(piece, pos)
        if pos < 0:
            return False
        pos += len(piece)
    return True


def assert_failure_lines(stderr: str, bad: dict[str, str]) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == len(bad), "expected one stderr line per bad file:\n" + stderr
    for line in lines:  # a name must not smuggle terminal controls (or bidi overrides) onto the screen
        assert not [c for c in line if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")], \
            f"control character in {line!r}"
    for name, reason in bad.items():
        matching = [line for line in lines if _line_names(line, name)]
        assert len(matching) == 1, f"{name!r}: {len(matching)} lines name it:\n{stderr}"
        assert reason in matching[0], f"{name!r}: reason missing in {matching[0]!r}"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """One folder of good and bad files, ingested once; returns (home, folder, good ids, bad, first run)."""
    base = tmp_path_factory.mktemp("mixed")
    folder = base / "in"
    good_paths = build_good(folder)
    bad = build_bad(folder)
    expected = expected_documents(good_paths)
    expected.update(expected_documents([folder / "one bad line.jsonl"]))
    home = base / "kb"
    first = run_kb(home, "ingest", "--json", folder)
    return home, folder, expected, bad, first


def test_mixed_folder_reports_each_bad_input_once_and_exits_1(mixed):
    _, _, _, bad, first = mixed
    assert first.returncode == 1, first.stderr
    assert_failure_lines(first.stderr, bad)
    assert len(first.json()["failures"]) == len(bad)


def test_mixed_folder_stores_every_good_document(mixed):
    home, _, expected, _, _ = mixed
    assert len(expected) == 13  # 3 copies + 3 encodings + 1 line endings + 3 odd names + 3 good records
    stats = run_kb(home, "stats", "--json", embedder=None).json()
    assert stats["documents"] == len(expected)
    assert {d: h for d, (_, h) in store_rows(home).items()} == expected
    for doc_id in expected:
        shown = run_kb(home, "show", doc_id, "--json", embedder=None)
        assert shown.returncode == 0, shown.stderr
        assert shown.json()["id"] == doc_id


def test_rerun_is_a_no_op_for_good_files_and_reports_bad_ones_again(mixed):
    home, folder, expected, bad, first = mixed
    before = store_rows(home)
    again = run_kb(home, "ingest", "--json", folder)
    assert again.returncode == 1
    report = again.json()
    failures = {(f["file"], f["reason"]) for f in report["failures"]}
    assert failures == {(f["file"], f["reason"]) for f in first.json()["failures"]}
    assert len(failures) == len(bad)
    assert report["added"] == [] and report["replaced"] == [] and report["removed"] == []
    assert report["unchanged"] == len(expected)
    assert store_rows(home) == before


def test_a_failing_batch_loses_nothing_stored_before(tmp_path):
    good, bad_folder = tmp_path / "a", tmp_path / "b"
    expected = expected_documents(build_good(good))
    bad = build_bad(bad_folder)
    home = tmp_path / "kb"
    assert run_kb(home, "ingest", good).returncode == 0
    failed = run_kb(home, "ingest", "--json", bad_folder)
    assert failed.returncode == 1
    assert len(failed.json()["failures"]) == len(bad)
    expected.update(expected_documents([bad_folder / "one bad line.jsonl"]))  # its good records
    assert {d: h for d, (_, h) in store_rows(home).items()} == expected
    found = run_kb(home, "search", "--json", "-k", "50", "--mode", "bm25", "专利 商标 著作权 判决 被告").json()
    assert {"指导案例20号", "专利法(2020)", "商标法(2019)"} <= {h["id"] for h in found}


def _two_copies(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    original = CORPUS / "guiding-cases" / "指导案例20号.json"
    shutil.copy2(original, folder / "指导案例20号.json")
    shutil.copy2(original, folder / "副本 指导案例20号.json")
    return folder, tmp_path / "kb"


def test_duplicate_under_another_name_is_stored_and_counted_once(tmp_path):
    folder, home = _two_copies(tmp_path)
    first = run_kb(home, "ingest", "--json", folder)
    assert first.returncode == 0, first.stderr
    assert set(store_rows(home)) == {"指导案例20号"}
    added = first.json()["added"]
    assert len(added) == len(set(added)), f"one document counted twice: {added}"


@pytest.mark.parametrize("removed", ["副本 指导案例20号.json", "指导案例20号.json"], ids=["copy", "original"])
def test_removing_one_of_two_files_holding_a_document_keeps_it(tmp_path, removed):
    folder, home = _two_copies(tmp_path)
    assert run_kb(home, "ingest", folder).returncode == 0
    (folder / removed).unlink()
    second = run_kb(home, "ingest", "--json", folder)
    assert second.returncode == 0
    assert set(store_rows(home)) == {"指导案例20号"}, \
        f"removing {removed} deleted the document the other file still holds: {second.json()['removed']}"


def test_non_utf8_file_name_is_handled_not_an_internal_error(tmp_path):
    """A name in GBK bytes (an archive unpacked from Windows): stored, or refused with a clear reason."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode("国家知识产权局判决".encode("gbk") + b".txt")
    (folder / name).write_text(fact_excerpts()[15]["text"], encoding="utf-8")
    shutil.copy2(CORPUS / "guiding-cases" / "指导案例20号.json", folder / "指导案例20号.json")
    home = tmp_path / "kb"
    done = run_kb(home, "ingest", folder)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert "指导案例20号" in store_rows(home)
    stored = len(store_rows(home)) == 2
    refused = done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert stored or refused, done.stderr


def test_dotdot_and_absolute_paths_name_one_source(tmp_path):
    """The same file named as ``dir/sub/../file`` and by its absolute path is one source, ingested once."""
    folder = tmp_path / "in" / "sub"
    folder.mkdir(parents=True)
    shutil.copy2(CORPUS / "laws" / "专利法(2020-10-17).md", folder / "专利法.md")
    home = tmp_path / "kb"
    dotted = tmp_path / "in" / "sub" / ".." / "sub" / "专利法.md"
    first = run_kb(home, "ingest", "--json", dotted)
    assert first.returncode == 0 and first.json()["added"] == ["专利法(2020)"]
    second = run_kb(home, "ingest", "--json", (folder / "专利法.md").resolve())
    assert second.returncode == 0
    assert second.json()["added"] == [] and second.json()["skipped_files"] == 1
    assert set(store_rows(home)) == {"专利法(2020)"}


def test_100mb_file_refused_by_default_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(100 * MB)
    done = run_measured(kb_command(tmp_path / "kb", "ingest", path), tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == f"{path}: file is {100 * MB:,} bytes, over the {50 * MB:,}-byte limit"
    # reading it would put 100 MB in memory; refusing by size keeps the process far below
    assert done.peak_rss < 100 * MB, f"peak RSS {done.peak_rss / MB:.0f} MB"


def test_100mb_file_under_a_raised_cap_is_read_with_memory_bounded_by_its_size(tmp_path):
    """With --max-mb 200 the sparse file (all NUL bytes) is read and refused as binary.

    A single document is not streamed: the reader holds the file's bytes and their
    decoding at once. The bound here is that memory stays a small multiple of the
    file size (baseline + 3x), i.e. the cap bounds memory; docs/reliability.md has
    the figures for 100 MB of real text.
    """
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(100 * MB)
    done = run_measured(kb_command(tmp_path / "kb", "ingest", "--max-mb", "200", path), tmp_path)
    baseline = run_measured(kb_command(tmp_path / "kb2", "ingest", tmp_path / "missing.txt"), tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == f"{path}: binary data, not text"
    assert done.peak_rss >= 100 * MB  # it really was read
    assert done.peak_rss < baseline.peak_rss + 3 * 100 * MB, \
        f"peak RSS {done.peak_rss / MB:.0f} MB (baseline {baseline.peak_rss / MB:.0f} MB)"


def test_app_upload_path_with_hostile_names_stores_and_ingests_safely(tmp_path):
    """The app's import: kb.uploads.store_upload (generated names) then the same pipeline.

    Hostile original names never reach the file system; the uploads folder can be
    ingested again by ``kb ingest`` as a no-op (the metadata sidecars are not documents).
    """
    from ingest.pipeline import ingest_paths
    from kb.knowledge import KnowledgeBase
    from kb.uploads import store_upload, upload_metadata

    home = tmp_path / "kb"
    law = (CORPUS / "laws" / "专利法(2020-10-17).md").read_bytes()
    case = (CORPUS / "guiding-cases" / "指导案例20号.json").read_bytes()
    uploads = {
        "../../../etc/passwd.md": law,
        "/abs/path/\n\x01案例.json": case,
        "..\\..\\坏.pdf": random.Random(3).randbytes(3000),  # synthetic garbage
    }
    with KnowledgeBase.open(home, embedder="fake") as kb:
        stored = [store_upload(home, name, data) for name, data in uploads.items()]
        for path in stored:
            assert path.parent == (home / "uploads").resolve()
            assert "/" not in upload_metadata(path)["original_name"]
        with kb.writing():
            report = ingest_paths(kb, stored)
    assert sorted(report.added) == ["专利法(2020)", "指导案例20号"]
    assert len(report.failures) == 1 and report.failures[0][0].endswith(".pdf")
    assert not list(tmp_path.glob("**/passwd*")) and not (tmp_path / "abs").exists()
    again = run_kb(home, "ingest", "--json", home / "uploads")
    assert again.json()["added"] == [] and again.json()["files"] == 3  # the sidecars are not read
    assert set(store_rows(home)) == {"专利法(2020)", "指导案例20号"}
