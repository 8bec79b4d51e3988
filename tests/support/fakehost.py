"""Synthetic recorded hosts for probe tests: a capture directory built file by file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hwdock.probe.capture import replay
from hwdock.probe.model import HostReport

X86_FLAGS_AVX512 = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c avx512f avx512bw avx512_bf16"


class FakeHost:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.root = directory / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.devices: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {
            "format": "hwdock-capture",
            "version": 1,
            "hostname": "fake",
            "kernel": "6.8.0-test",
            "env": {},
            "user": {"uid": 1000, "gid": 1000, "groups": [1000]},
        }

    # -- raw pieces ------------------------------------------------------------------------
    def file(self, path: str, content: str | bytes) -> FakeHost:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return self

    def link(self, path: str, to: str) -> FakeHost:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(to, target)
        return self

    def dir_(self, path: str) -> FakeHost:
        (self.root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return self

    def device(
        self,
        path: str,
        *,
        major: int = 226,
        minor: int = 128,
        mode: str = "0660",
        uid: int = 0,
        gid: int = 109,
        group: str | None = "render",
    ) -> FakeHost:
        self.devices.append(
            {
                "path": path,
                "type": "char",
                "major": major,
                "minor": minor,
                "mode": mode,
                "uid": uid,
                "gid": gid,
                "group": group,
            }
        )
        return self

    def command(
        self,
        argv: list[str],
        stdout: str = "",
        *,
        returncode: int = 0,
        stderr: str = "",
        timed_out: bool = False,
    ) -> FakeHost:
        self.commands.append(
            {
                "argv": argv,
                "stdout": stdout,
                "stderr": stderr,
                "returncode": returncode,
                "timed_out": timed_out,
            }
        )
        return self

    # -- composed pieces -------------------------------------------------------------------
    def pci(
        self,
        address: str,
        vendor: str,
        device: str,
        cls: str,
        *,
        driver: str | None = None,
        numa: int = -1,
        drm: list[str] | None = None,
        **attrs: str,
    ) -> FakeHost:
        base = f"/sys/bus/pci/devices/{address}"
        self.file(f"{base}/vendor", f"{vendor}\n").file(f"{base}/device", f"{device}\n")
        self.file(f"{base}/class", f"{cls}\n").file(f"{base}/numa_node", f"{numa}\n")
        self.file(f"{base}/subsystem_vendor", f"{vendor}\n")
        self.file(f"{base}/subsystem_device", "0x0001\n")
        if driver:
            self.link(f"{base}/driver", f"../../../bus/pci/drivers/{driver}")
        for entry in drm or []:
            self.dir_(f"{base}/drm/{entry}")
        for name, value in attrs.items():
            self.file(f"{base}/{name}", f"{value}\n")
        return self

    def kfd_node(
        self, n: int, props: dict[str, int], banks: list[tuple[int, int]] = ()
    ) -> FakeHost:
        base = f"/sys/class/kfd/kfd/topology/nodes/{n}"
        self.file(f"{base}/properties", "".join(f"{k} {v}\n" for k, v in props.items()))
        for i, (heap, size) in enumerate(banks):
            self.file(
                f"{base}/mem_banks/{i}/properties",
                f"heap_type {heap}\nsize_in_bytes {size}\nflags 0\nwidth 4096\n",
            )
        return self

    def kfd_cpu_node(self, n: int = 0) -> FakeHost:
        return self.kfd_node(n, {"cpu_cores_count": 64, "simd_count": 0, "gfx_target_version": 0})

    def cpu(
        self, count: int = 4, flags: str = X86_FLAGS_AVX512, mem_kb: int = 65536000
    ) -> FakeHost:
        blocks = [
            f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Fake Xeon\n"
            f"physical id\t: 0\ncore id\t\t: {i}\nflags\t\t: {flags}\n"
            for i in range(count)
        ]
        self.file("/proc/cpuinfo", "\n".join(blocks))
        self.file(
            "/proc/meminfo", f"MemTotal:       {mem_kb} kB\nMemAvailable:   {mem_kb // 2} kB\n"
        )
        return self

    # -- out -------------------------------------------------------------------------------
    def write(self) -> Path:
        (self.dir / "meta.json").write_text(json.dumps(self.meta))
        (self.dir / "devices.json").write_text(json.dumps(self.devices))
        (self.dir / "commands.json").write_text(json.dumps(self.commands))
        return self.dir

    def report(self) -> HostReport:
        return replay(self.write())


def by_address(report: HostReport) -> dict[str, Any]:
    return {a.pci_address: a for a in report.accelerators}


def codes(report: HostReport) -> list[str]:
    return [f.code for f in report.findings]
