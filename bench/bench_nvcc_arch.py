"""How much device code a narrowed arch list saves: compile a sample kernel file with the
-gencode flags of one capability vs vLLM's default list, compare compile time and fatbin size.

    python3 bench/bench_nvcc_arch.py [--nvcc PATH] [--runs 3]

Needs nvcc (not a test; CI has none). The default list is the one vLLM's docker/Dockerfile
passes as torch_cuda_arch_list ('7.0 7.5 8.0 8.9 9.0 10.0 12.0'); capabilities the installed
nvcc cannot build (CUDA 13 dropped 7.0) are left out and named in the output.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from hwdock.plan.facts import parse_cuda_arch_list  # noqa: E402

VLLM_DEFAULT = "7.0 7.5 8.0 8.9 9.0 10.0 12.0"
NARROW = "9.0"


def gencode(arch_list: str, supported: set[str]) -> tuple[list[str], list[str]]:
    flags: list[str] = []
    skipped: list[str] = []
    for cc, ptx in parse_cuda_arch_list(arch_list):
        num = cc.replace(".", "")
        if f"sm_{num}" not in supported:
            skipped.append(cc)
            continue
        flags += ["-gencode", f"arch=compute_{num},code=sm_{num}"]
        if ptx:
            flags += ["-gencode", f"arch=compute_{num},code=compute_{num}"]
    return flags, skipped


def compile_once(nvcc: str, flags: list[str], src: Path, out: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [nvcc, "--threads", "1", "-fatbin", "-o", str(out), *flags, str(src)],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvcc", default=shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(args.nvcc):
        print("nvcc not found: nothing to measure")
        return 0
    version = subprocess.run([args.nvcc, "--version"], capture_output=True, text=True).stdout
    supported = set(
        subprocess.run(
            [args.nvcc, "--list-gpu-code"], capture_output=True, text=True
        ).stdout.split()
    )
    src = HERE / "sample_kernels.cu"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, arch in (("narrowed", NARROW), ("vLLM default", VLLM_DEFAULT)):
            flags, skipped = gencode(arch, supported)
            walls, cpus, size = [], [], 0
            for i in range(args.runs):
                wall, cpu, size = compile_once(args.nvcc, flags, src, Path(tmp) / f"{i}.fatbin")
                walls.append(wall)
                cpus.append(cpu)
            n = len(flags) // 2
            rows.append(
                (label, arch, skipped, n, statistics.median(walls), statistics.median(cpus), size)
            )
    print(version.strip().splitlines()[-1])
    print(f"{'list':14} {'targets':>7} {'wall s':>8} {'cpu s':>8} {'fatbin bytes':>13}  arch list")
    for label, arch, skipped, n, wall, cpu, size in rows:
        note = f" (left out, unsupported by this nvcc: {' '.join(skipped)})" if skipped else ""
        print(f"{label:14} {n:>7} {wall:>8.2f} {cpu:>8.2f} {size:>13}  '{arch}'{note}")
    (_, _, _, _, w1, c1, s1), (_, _, _, _, w2, c2, s2) = rows
    print(f"default/narrowed: wall {w2 / w1:.1f}x, cpu {c2 / c1:.1f}x, fatbin {s2 / s1:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
