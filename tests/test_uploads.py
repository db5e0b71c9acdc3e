"""kb.uploads: what a browser sends as a file name never decides where bytes land."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.readers import SUPPORTED_SUFFIXES
from kb.errors import EmptyDocumentError, FileTooLargeError, InputError, UnsafePathError, UnsupportedFormatError
from kb.uploads import (
    UPLOAD_SUFFIXES,
    discard_upload,
    display_name,
    store_upload,
    upload_metadata,
)

TEXT = "经审理查明：被告人未经注册商标所有人许可，在同一种商品上使用与其注册商标相同的商标。".encode("utf-8")


def _inside(path: Path, home: Path) -> bool:
    return path.resolve().parent == (home / "uploads").resolve()


def test_suffixes_match_what_the_readers_accept():
    assert UPLOAD_SUFFIXES == SUPPORTED_SUFFIXES


def test_stores_under_a_generated_name_and_keeps_the_original_as_metadata(tmp_path):
    path = store_upload(tmp_path, "判决书（2015）.TXT", TEXT)
    assert _inside(path, tmp_path)
    assert path.suffix == ".txt"
    assert "判决书" not in path.name and len(path.stem) == 32
    assert path.read_bytes() == TEXT
    meta = upload_metadata(path)
    assert meta["original_name"] == "判决书（2015）.TXT"
    assert meta["bytes"] == len(TEXT)
    assert not list((tmp_path / "uploads").glob("*.part")) and not list((tmp_path / "uploads").glob(".*.part"))


@pytest.mark.parametrize("name", [
    "../../etc/passwd.txt", "/etc/cron.d/evil.txt", "..\\..\\windows\\x.txt", "....//....//a.txt",
    "a\x00b.txt", "名\n称\r\t.txt", "\x1b[31mred.txt", "x" * 5000 + ".txt", "\u202etxt.exe.txt",
])
def test_hostile_names_are_harmless(tmp_path, name):
    path = store_upload(tmp_path, name, TEXT)
    assert _inside(path, tmp_path)
    shown = upload_metadata(path)["original_name"]
    assert "/" not in shown and "\\" not in shown
    assert not any(ord(c) < 32 or c == "\u202e" for c in shown)
    assert len(shown) <= 200
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir() if p.is_file()) == [path.name]


@pytest.mark.parametrize("name", ["evil.exe", "script.sh", "archive.tar.gz", "noext", "..", "", "a.txt\x00.exe",
                                  "doc.pdf.py"])
def test_suffix_outside_the_readers_is_refused(tmp_path, name):
    with pytest.raises(UnsupportedFormatError) as info:
        store_upload(tmp_path, name, TEXT)
    assert "supported" in info.value.reason
    assert not any(p.is_file() for p in (tmp_path / "uploads").rglob("*"))


def test_size_limit_and_empty_files(tmp_path):
    with pytest.raises(FileTooLargeError) as info:
        store_upload(tmp_path, "big.txt", b"x" * 101, max_bytes=100)
    assert info.value.path == "big.txt" and "100" in info.value.reason
    assert store_upload(tmp_path, "fits.txt", b"x" * 100, max_bytes=100).stat().st_size == 100
    with pytest.raises(EmptyDocumentError):
        store_upload(tmp_path, "empty.txt", b"")


def test_uploads_folder_redirected_by_a_link_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    os.symlink(outside, home / "uploads")
    with pytest.raises(UnsafePathError):
        store_upload(home, "a.txt", TEXT)
    assert list(outside.iterdir()) == []


def test_two_uploads_of_one_name_never_overwrite(tmp_path):
    first = store_upload(tmp_path, "same.txt", b"one")
    second = store_upload(tmp_path, "same.txt", b"two")
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")


def test_discard_removes_only_the_upload_and_its_sidecar(tmp_path):
    keep = store_upload(tmp_path, "keep.txt", b"keep")
    drop = store_upload(tmp_path, "drop.txt", b"drop")
    assert discard_upload(tmp_path, drop) is True
    assert not drop.exists() and upload_metadata(drop) == {}
    assert keep.exists() and upload_metadata(keep)["original_name"] == "keep.txt"
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    with pytest.raises(UnsafePathError):
        discard_upload(tmp_path, victim)
    assert victim.exists()


def test_display_name_keeps_the_suffix_of_long_names():
    shown = display_name("长" * 1000 + ".pdf")
    assert shown.endswith(".pdf") and len(shown) <= 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=0, max_size=300), suffix=st.sampled_from(["", ".txt", ".pdf", ".exe", ".TXT"]))
def test_any_name_lands_inside_uploads_or_is_refused(tmp_path, name, suffix):
    try:
        path = store_upload(tmp_path, name + suffix, b"data")
    except InputError:
        return
    assert _inside(path, tmp_path)
    assert path.suffix in UPLOAD_SUFFIXES
    assert json.loads((tmp_path / "uploads" / ".meta" / f"{path.stem}.json").read_text())["bytes"] == 4
