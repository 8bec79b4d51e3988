"""`hwdock plan --json` as a whole process vs `python3 -c pass`, in the same run.

    python3 bench/bench_plan.py [--runs 15]

The host is a recorded report (the 8×MI300X shape, written from tests/support/hosts.py, or
tests/fixtures/hosts/<name> when a capture is given with --from-capture); the tree is
tests/fixtures/trees/vllm-current. Goal (issue 4): median under 10× `python3 -c pass`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def medians(cmds: list[list[str]], runs: int, env: dict[str, str]) -> list[tuple[float, float]]:
    """(median wall time, median CPU time) of each command, measured round-robin so that
    load from other processes on the machine falls on all of them alike. CPU time (user +
    sys of the child) is the steadier figure on a shared machine."""
    wall: list[list[float]] = [[] for _ in cmds]
    cpu: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, argv in enumerate(cmds):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            wall[i].append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[i].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu, strict=True)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--from-capture", help="plan for a capture folder instead of a report")
    args = ap.parse_args()
    from tests.support.hosts import mi300x_8

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # As installed: bytecode is cached (pip compiles it at install time). Warm-up writes it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        host = Path(tmp) / "host.json"
        host.write_text(json.dumps(mi300x_8().to_dict()))
        where = ["--from", args.from_capture] if args.from_capture else ["--host", str(host)]
        plan = [
            sys.executable,
            "-m",
            "hwdock",
            "plan",
            str(ROOT / "tests/fixtures/trees/vllm-current"),
            *where,
            "--json",
        ]
        subprocess.run(plan, check=True, capture_output=True, env=env)  # warm the caches
        base, typer, t_plan = medians(
            [[sys.executable, "-c", "pass"], [sys.executable, "-c", "import typer"], plan],
            args.runs,
            env,
        )
        import typer as typer_mod
    print(f"python {sys.version.split()[0]}, typer {typer_mod.__version__}, {args.runs} runs")
    print(f"{'':27} {'wall ms':>8} {'ratio':>6} {'cpu ms':>8} {'ratio':>6}")
    for label, (w, c) in (
        ("python3 -c pass", base),
        ("python3 -c 'import typer'", typer),
        ("hwdock plan --json", t_plan),
    ):
        print(f"{label:27} {w * 1000:8.1f} {w / base[0]:5.1f}x {c * 1000:8.1f} {c / base[1]:5.1f}x")
    print("goal: hwdock plan --json < 10x python3 -c pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
