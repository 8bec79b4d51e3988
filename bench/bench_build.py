"""Benchmark: a second `hwdock build` with nothing changed vs `docker build` of the same.

Goal (issue 5): on a context of 50,000 files / 500 MB, hwdock answers "up to date" at least
10x faster than `DOCKER_BUILDKIT=1 docker build`, both measured side by side in one run.
hwdock computes its plan hash from a metadata digest of the context and compares it with
the image's label, so the context is never sent; docker (BuildKit) must sync the context to
the daemon and consult its cache for every step. hwdock's first build starts the context's
watcher, so the timed runs get the digest from it; the same runs with HWDOCK_WATCH=0 (a walk
of the context each time) are timed alongside.

    PYTHONPATH=src python bench/bench_build.py [--files 50000] [--size-mb 500] [--runs 5]

The context is generated under /tmp (never in the repository) and removed afterwards with
the images (unless --keep). Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import engine as eng  # noqa: E402  (base image made locally, nothing pulled)

DOCKER = "/usr/bin/docker"


def make_context(root: Path, files: int, size_mb: int) -> None:
    per_dir = 100
    avg = size_mb * 1024 * 1024 // files
    block = os.urandom(64 * 1024)
    for i in range(files):
        d = root / f"pkg{i // per_dir:04d}" / f"mod{(i // 10) % 10}"
        if i % 10 == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = avg // 2 + (i * 7919) % avg  # between avg/2 and 1.5*avg, mean about avg
        header = f"file {i}\n".encode()
        reps = size // len(block) + 1
        (d / f"f{i}.py").write_bytes((header + block * reps)[:size])
    (root / ".dockerignore").write_text("**/__pycache__\n*.tmp\n")


def timed(argv: list[str], env: dict[str, str], checks: list[str] | None = None) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{out.stderr[-2000:]}")
    if checks is not None:  # how each hwdock run had its context digest
        for line in out.stdout.splitlines():
            if '"step-done"' in line:
                ev = json.loads(line)
                assert ev["result"] == "up-to-date", f"not skipped: {ev}"
                checks.append(ev.get("context_check", "?"))
    return dt


def _digest_seconds(ctx: Path) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    from hwdock.engine.context import context_digest

    t0 = time.perf_counter()
    context_digest(ctx)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hwdock-bench-build-", dir="/tmp"))
    ctx = work / "ctx"
    ctx.mkdir()
    base = eng.ensure_image(DOCKER, eng.BUSYBOX_IMAGE, work)
    tag_h, tag_d = "hwdock-bench-build/hwdock:1", "hwdock-bench-build/docker:1"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HWDOCK_STATE_DIR": str(work / "state")}
    # as installed: with byte code (an installer compiles it; the first run below writes it)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    denv = {**os.environ, "DOCKER_BUILDKIT": "1"}
    try:
        t0 = time.perf_counter()
        make_context(ctx, args.files, args.size_mb)
        (ctx / "Dockerfile").write_text(f"FROM {base}\nCOPY . /src\n")
        gen = time.perf_counter() - t0
        total = sum(f.stat().st_size for f in ctx.rglob("*") if f.is_file())
        plan = {
            "kind": "plan",
            "schema_version": 1,
            "recipe": "generic",
            "platform": "cpu",
            "route": "build",
            "steps": [
                {
                    "id": "app",
                    "action": "build",
                    "image": tag_h,
                    "reason": "bench",
                    "context": str(ctx),
                }
            ],
        }
        (work / "plan.json").write_text(json.dumps(plan))
        hw = [
            sys.executable,
            "-m",
            "hwdock",
            "build",
            "--plan",
            str(work / "plan.json"),
            "--network",
            "none",
            "--json",
        ]
        dk = [DOCKER, "build", "--network", "none", "--progress=plain", "-t", tag_d, str(ctx)]
        walk_env = {**env, "HWDOCK_WATCH": "0"}  # the same check with the watcher off
        env["HWDOCK_WATCH"] = "1"
        first_h = timed(hw, env)  # first builds (cold), then only "nothing changed" runs
        first_d = timed(dk, denv)
        time.sleep(2)  # the watcher the first build started takes its digest meanwhile
        hs, ws, ds = [], [], []
        checks: list[str] = []
        walks: list[str] = []
        for _ in range(args.runs):
            hs.append(timed(hw, env, checks))
            ws.append(timed(hw, walk_env, walks))
            ds.append(timed(dk, denv))
        # where hwdock's time goes: interpreter, CLI start-up, the context digest alone
        bare = statistics.median(timed([sys.executable, "-c", "pass"], env) for _ in range(5))
        startup = statistics.median(
            timed([sys.executable, "-m", "hwdock", "--version"], env) for _ in range(5)
        )
        digest = statistics.median(_digest_seconds(ctx) for _ in range(5))
        mh, mw, md = statistics.median(hs), statistics.median(ws), statistics.median(ds)
        print(f"context: {args.files} files, {total / 1e6:.0f} MB (generated in {gen:.1f}s)")
        print(f"first build: hwdock {first_h:.1f}s, docker build {first_d:.1f}s")
        print(f"| second build, nothing changed | median of {args.runs} | min | max |")
        print("| --- | --- | --- | --- |")
        print(
            f"| `hwdock build --plan` (skipped; the watcher vouches) | {mh:.3f}s | "
            f"{min(hs):.3f}s | {max(hs):.3f}s |"
        )
        print(
            f"| `hwdock build --plan`, `HWDOCK_WATCH=0` (skipped; walks the context) | "
            f"{mw:.3f}s | {min(ws):.3f}s | {max(ws):.3f}s |"
        )
        print(
            f"| `DOCKER_BUILDKIT=1 docker build` (all cached) | {md:.2f}s | {min(ds):.2f}s | "
            f"{max(ds):.2f}s |"
        )
        print(f"| ratio, docker / hwdock | **{md / mh:.1f}x** | | |")
        print(f"| ratio, docker / hwdock with HWDOCK_WATCH=0 | {md / mw:.1f}x | | |")
        print(
            f"context digest of the timed hwdock runs: {checks.count('watcher')} from the "
            f"watcher, {checks.count('walk')} walked; with HWDOCK_WATCH=0: "
            f"{walks.count('walk')} walked"
        )
        print(
            f"python -c pass: {bare:.3f}s; `hwdock --version` (through typer): "
            f"{startup:.3f}s; the context digest alone (in-process): {digest:.3f}s"
        )
    finally:
        stop = [sys.executable, "-m", "hwdock", "watch", "stop", str(ctx)]
        subprocess.run(stop, capture_output=True, env=env)
        if not args.keep:
            subprocess.run([DOCKER, "image", "rm", "-f", tag_h, tag_d], capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
