"""Fixtures shared across test modules. Keep this file small: one clearly named fixture per need.

- ``corpus_kb``: the home of a knowledge base built once per session from the real
  ``corpus/`` with the fake embedder (instant, deterministic vectors). Treat it as
  read-only: a test that writes (uploads, course packs, ingests) copies it first
  (``shutil.copytree(corpus_kb, tmp_path / "kb")``). Tests that run the app point
  ``KB_HOME`` at it (and ``IPKB_EMBEDDER=fake``) with ``monkeypatch.setenv``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Home of a knowledge base of the shipped corpus (fake embedder), built once per session."""
    from ingest.pipeline import ingest_paths
    from kb.knowledge import KnowledgeBase

    home = tmp_path_factory.mktemp("corpus_kb")
    with KnowledgeBase.open(home, embedder="fake") as kb, kb.writing():
        report = ingest_paths(kb, [REPO / "corpus"])
    assert report.ok, f"the shipped corpus must ingest cleanly: {report.failures[:5]}"
    assert report.added, "the shipped corpus produced no documents"
    return home
