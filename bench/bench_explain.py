"""Benchmark for `hwdock explain` (see BENCHMARKS.md, section explain).

1. In-process: hwdock's parse + resolve (`hwdock.dockerfile.analyze`) against dockerfile-parse
   (its parse, `structure`, `baseimage` and `args`) on the same Dockerfiles, side by side in one
   run. Goal: hwdock at least 5x faster.
2. Whole process: `hwdock explain --json --no-engine` on a 300-line Dockerfile against
   `python -c pass` with the same interpreter. Goal: under 8x.

Run: PYTHONPATH=src .venv/bin/python bench/bench_explain.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from hwdock.dockerfile.graph import analyze  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "dockerfiles"
GOLDEN = ROOT.parent / "shared" / "conformance" / "buildkit" / "frontend" / "dockerfile"


def dockerfile_300() -> str:
    """A 300-line multi-stage Dockerfile shaped like the big GPU recipes."""
    out = [
        "# syntax=docker/dockerfile:1",
        "ARG CUDA_VERSION=12.8.1",
        "ARG BASE_IMAGE=nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04",
        "ARG PYTHON_VERSION=3.12",
    ]
    stage = 0
    while len(out) < 296:
        base = "${BASE_IMAGE}" if stage == 0 else f"s{stage - 1}"
        out += [f"FROM {base} AS s{stage}", "ARG PYTHON_VERSION", f"ARG max_jobs={stage + 2}"]
        out += ["ENV MAX_JOBS=${max_jobs} TORCH_CUDA_ARCH_LIST='8.0 9.0+PTX'"]
        for i in range(8):
            out += [
                f"RUN --mount=type=cache,target=/root/.cache/{i} \\",
                f"    apt-get install -y pkg{i} python${{PYTHON_VERSION}} \\",
                f"    && echo step {i} ${{MAX_JOBS:-1}}",
            ]
        if stage:
            out.append(f"COPY --from=s{stage - 1} /opt /opt")
        out.append(f"LABEL stage=s{stage}")
        stage += 1
    out += ["FROM ubuntu:22.04 AS final", "COPY --from=s0 /opt /opt", 'CMD ["bash"]']
    return "\n".join(out[:300]) + "\n"


def corpus() -> list[tuple[str, bytes]]:
    files = [(str(p), p.read_bytes()) for p in sorted(FIXTURES.rglob("Dockerfile*"))]
    if GOLDEN.is_dir():
        for p in sorted((GOLDEN / "parser" / "testfiles").glob("*/Dockerfile")):
            files.append((str(p), p.read_bytes()))
    files.append(("generated-300-lines", dockerfile_300().encode()))
    return files


def ours(data: bytes, path: str) -> object:
    return analyze(data, path, {}, None, None)


def theirs(data: bytes) -> object:
    from dockerfile_parse import DockerfileParser

    p = DockerfileParser(fileobj=io.BytesIO(data))
    return (p.structure, p.baseimage, p.args)


def usable(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Files both tools read without an error (the comparison is on the same set)."""
    keep = []
    for path, data in files:
        try:
            ours(data, path)
            theirs(data)
        except Exception:  # a file either tool refuses is left out
            continue
        keep.append((path, data))
    return keep


def best_of(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def median_run(argv: list[str], n: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loops", type=int, default=20)
    ap.add_argument("--procs", type=int, default=15)
    a = ap.parse_args()

    files = usable(corpus())
    lines = sum(d.count(b"\n") for _, d in files)

    def run_ours() -> None:
        for _ in range(a.loops):
            for path, data in files:
                ours(data, path)

    def run_theirs() -> None:
        for _ in range(a.loops):
            for _path, data in files:
                theirs(data)

    t_ours = best_of(run_ours, a.rounds)
    t_theirs = best_of(run_theirs, a.rounds)
    print(
        f"in-process: {len(files)} Dockerfiles, {lines} lines, x{a.loops} loops, best of {a.rounds}"
    )
    print(f"  hwdock analyze         {t_ours * 1000:9.1f} ms")
    print(f"  dockerfile-parse       {t_theirs * 1000:9.1f} ms")
    print(f"  speed-up               {t_theirs / t_ours:9.1f}x   (goal >= 5x)")

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Dockerfile").write_text(dockerfile_300())
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        base = [sys.executable, "-c", "pass"]
        cmd = [sys.executable, "-m", "hwdock", "explain", "--json", "--no-engine", tmp]
        median_run(cmd, 2, env)  # warm the page cache and .pyc files
        t_base = median_run(base, a.procs, env)
        t_cmd = median_run(cmd, a.procs, env)
    print(f"whole process: median of {a.procs} runs, 300-line Dockerfile")
    print(f"  python -c pass         {t_base * 1000:9.1f} ms")
    print(f"  hwdock explain --json  {t_cmd * 1000:9.1f} ms")
    print(f"  ratio                  {t_cmd / t_base:9.1f}x   (goal < 8x)")


if __name__ == "__main__":
    main()
