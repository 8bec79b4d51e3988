"""Benchmark for `hwdock explain` (see BENCHMARKS.md, section explain).

1. In-process, on the same Dockerfiles, side by side in one run (the three interleaved in every
   round, so load changes hit them alike; median of the rounds):
   - dockerfile-parse: `DockerfileParser(fileobj=...)`, then `.structure` (parse),
     `.baseimage` (the last FROM with ARGs substituted) and `.args` (the final stage's ARGs,
     through its ARG/ENV replacement);
   - hwdock resolve: `analyze(..., checks=False)`: BuildKit's parse, ARG scoping, every stage's
     base image (expanded, normalised), every stage's ARG/ENV/LABEL values, stage dependencies
     and `--target` pruning (the same class of work, done for every stage);
   - hwdock analyze: `analyze(...)`, all of the above plus the build checks, BuildKit-feature
     detection, known-ARG notes and the external image list (what `hwdock explain` runs).
   Goal: hwdock at least 5x faster than dockerfile-parse.
2. Whole process: `hwdock explain --json --no-engine` on a 300-line Dockerfile against
   `python -c pass` with the same interpreter. Goal: under 8x.

Run: PYTHONPATH=src .venv/bin/python bench/bench_explain.py [--rounds N] [--loops N] [--procs N]
     [--breakdown]  (each step alone, per pass: where the time goes)
     [--cpu]        (in-process figures in CPU time of this process instead of wall time:
                     steadier on a shared machine; the whole-process part stays wall time)
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


def ours_resolve(data: bytes, path: str) -> object:
    return analyze(data, path, {}, None, None, checks=False)


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


CLOCK = time.perf_counter  # time.process_time with --cpu


def timed(fn) -> float:
    t0 = CLOCK()
    fn()
    return CLOCK() - t0


def median_run(argv: list[str], n: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def breakdown(files: list[tuple[str, bytes]], rounds: int) -> None:
    """Each step alone, in ms per pass over the files (median of the rounds, interleaved)."""
    from dockerfile_parse import DockerfileParser

    from hwdock.dockerfile.parser import parse

    def peer_structure(data: bytes, path: str) -> object:
        return DockerfileParser(fileobj=io.BytesIO(data)).structure

    steps = {
        "dockerfile-parse .structure only": peer_structure,
        "dockerfile-parse, all three": lambda data, path: theirs(data),
        "hwdock parse only": parse,
        "hwdock resolve (parse included)": ours_resolve,
        "hwdock analyze (parse included)": ours,
    }
    loops = 10

    def one_pass(fn) -> float:
        t0 = CLOCK()
        for _ in range(loops):
            for path, data in files:
                fn(data, path)
        return (CLOCK() - t0) / loops

    for fn in steps.values():
        one_pass(fn)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            times[name].append(one_pass(fn))
    instructions = sum(len(parse(data, path).children) for path, data in files)
    clock = " (CPU time)" if CLOCK is time.process_time else ""
    print(
        f"{len(files)} Dockerfiles, {instructions} instructions; ms per pass, "
        f"median of {rounds}{clock}"
    )
    for name, ts in times.items():
        print(f"  {name:34} {statistics.median(ts) * 1000:7.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--loops", type=int, default=20)
    ap.add_argument("--procs", type=int, default=15)
    ap.add_argument(
        "--breakdown",
        action="store_true",
        help="only time each step alone (per pass over the files) and exit",
    )
    ap.add_argument(
        "--cpu", action="store_true", help="in-process figures in CPU time instead of wall time"
    )
    a = ap.parse_args()
    global CLOCK
    if a.cpu:
        CLOCK = time.process_time

    files = usable(corpus())
    if a.breakdown:
        breakdown(files, a.rounds)
        return
    lines = sum(d.count(b"\n") for _, d in files)

    def run_ours() -> None:
        for _ in range(a.loops):
            for path, data in files:
                ours(data, path)

    def run_resolve() -> None:
        for _ in range(a.loops):
            for path, data in files:
                ours_resolve(data, path)

    def run_theirs() -> None:
        for _ in range(a.loops):
            for _path, data in files:
                theirs(data)

    run_theirs(), run_resolve(), run_ours()  # warm-up: imports, knowledge file, regex caches
    rounds: list[tuple[float, float, float]] = []
    for _ in range(a.rounds):
        rounds.append((timed(run_theirs), timed(run_resolve), timed(run_ours)))
    t_theirs, t_resolve, t_ours = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(
        f"in-process: {len(files)} Dockerfiles, {lines} lines, x{a.loops} loops, "
        f"median of {a.rounds} interleaved rounds" + (" (CPU time)" if a.cpu else "")
    )
    print(f"  dockerfile-parse       {t_theirs * 1000:9.1f} ms")
    print(
        f"  hwdock resolve         {t_resolve * 1000:9.1f} ms   "
        f"{t_theirs / t_resolve:5.1f}x faster (goal >= 5x)"
    )
    print(
        f"  hwdock analyze         {t_ours * 1000:9.1f} ms   "
        f"{t_theirs / t_ours:5.1f}x faster (with checks, features, image list)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Dockerfile").write_text(dockerfile_300())
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        # as installed: byte-code cached (an installer compiles it), not compiled every run
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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
