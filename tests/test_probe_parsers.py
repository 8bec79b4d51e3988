"""The probe's file parsers: examples from real shapes, then hypothesis over arbitrary input."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hwdock.probe.amd import (
    decode_gfx_target_version,
    encode_gfx_target,
    location_to_address,
    parse_properties,
)
from hwdock.probe.cdi import CdiError, parse_cdi
from hwdock.probe.cpu import parse_cpuinfo, parse_meminfo
from hwdock.probe.engines import parse_buildx_version, parse_ctk_version, parse_docker_version
from hwdock.probe.nvidia import (
    SMI_FIELDS,
    parse_information,
    parse_proc_version,
    parse_smi_csv,
)
from hwdock.probe.pci import normalize_address
from hwdock.probe.system import parse_os_release

texts = st.text(max_size=400) | st.binary(max_size=400).map(
    lambda b: b.decode("utf-8", errors="replace")
)


@pytest.mark.parametrize(
    ("value", "gfx"),
    [
        (90010, "gfx90a"),
        (90402, "gfx942"),
        (110000, "gfx1100"),
        (100300, "gfx1030"),
        (90008, "gfx908"),
        (110501, "gfx1151"),
        (100306, "gfx1036"),
        (90500, "gfx950"),
        (90012, "gfx90c"),
        (120001, "gfx1201"),
        (0, None),
        (-5, None),
        (None, None),
        (91600, None),
    ],
)
def test_gfx_decode(value: int | None, gfx: str | None) -> None:
    assert decode_gfx_target_version(value) == gfx


@given(st.integers(min_value=1, max_value=99), st.integers(0, 15), st.integers(0, 15))
def test_gfx_encode_decode_roundtrip(major: int, minor: int, step: int) -> None:
    v = major * 10000 + minor * 100 + step
    gfx = decode_gfx_target_version(v)
    assert gfx is not None and encode_gfx_target(gfx) == v


def test_location_id() -> None:
    assert location_to_address(0, 0xC100) == "0000:c1:00.0"
    assert location_to_address(1, (0x2A << 8) | (3 << 3) | 1) == "0001:2a:03.1"
    assert location_to_address(None, 0x0300) == "0000:03:00.0"
    assert location_to_address(0, None) is None and location_to_address(0, 0x10000) is None


def test_properties_example() -> None:
    text = "cpu_cores_count 0\nsimd_count 1216\ngfx_target_version 90402\nbogus\nname x y\nz abc\n"
    assert parse_properties(text) == {
        "cpu_cores_count": 0,
        "simd_count": 1216,
        "gfx_target_version": 90402,
    }


@given(texts)
def test_properties_never_raise(text: str) -> None:
    out = parse_properties(text)
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in out.items())


@given(
    st.dictionaries(
        st.text(string.ascii_lowercase + "_", min_size=1, max_size=20), st.integers(-(2**63), 2**63)
    )
)
def test_properties_roundtrip(props: dict[str, int]) -> None:
    assert parse_properties("".join(f"{k} {v}\n" for k, v in props.items())) == props


def test_cpuinfo_x86_two_sockets() -> None:
    blocks = []
    for i in range(8):
        blocks.append(
            f"processor\t: {i}\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654\n"
            f"physical id\t: {i // 4}\ncore id\t\t: {i % 2}\n"
            "flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_bf16 amx_bf16\n"
        )
    cpu = parse_cpuinfo("\n".join(blocks))
    assert (cpu.logical_cores, cpu.sockets, cpu.physical_cores) == (8, 2, 4)
    assert cpu.isa_level == "avx512" and cpu.architecture == "x86_64"
    assert cpu.isa_flags == ["sse4_2", "avx", "avx2", "avx512f", "avx512_bf16", "amx_bf16"]
    assert parse_cpuinfo("processor: 0\nflags: sse4_2 avx avx2 fma\n").isa_level == "avx2"


def test_cpuinfo_aarch64() -> None:
    cpu = parse_cpuinfo(
        "processor\t: 0\nBogoMIPS\t: 2000\nFeatures\t: fp asimd sve sve2 bf16\n"
        "CPU implementer\t: 0x41\n\nprocessor\t: 1\nFeatures\t: fp asimd\n"
    )
    assert (cpu.architecture, cpu.isa_level, cpu.vendor, cpu.logical_cores) == (
        "aarch64",
        "sve2",
        "ARM",
        2,
    )
    assert cpu.isa_flags == ["asimd", "sve", "sve2", "bf16"]


@given(texts)
def test_cpuinfo_never_raises(text: str) -> None:
    cpu = parse_cpuinfo(text)
    assert cpu.logical_cores is None or cpu.logical_cores >= 1
    assert set(cpu.isa_flags) <= set(text.split())


def test_meminfo() -> None:
    out = parse_meminfo("MemTotal:       65536 kB\nMemAvailable:  1024 kB\nHugePages_Total: 4\nx\n")
    assert out == {"MemTotal": 65536 * 1024, "MemAvailable": 1024 * 1024, "HugePages_Total": 4}


@given(
    st.dictionaries(
        st.text(string.ascii_letters + "_()", min_size=1, max_size=20), st.integers(0, 2**50)
    ),
    texts,
)
def test_meminfo_roundtrip_and_garbage(values: dict[str, int], junk: str) -> None:
    text = "".join(f"{k}:   {v} kB\n" for k, v in values.items())
    assert parse_meminfo(text) == {k: v * 1024 for k, v in values.items()}
    assert all(v >= 0 for v in parse_meminfo(junk).values())


@pytest.mark.parametrize(
    ("text", "version", "flavor", "arch"),
    [
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  "
            "Tue Mar  5 22:23:56 UTC 2024\n",
            "550.54.15",
            "proprietary",
            "x86_64",
        ),
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  "
            "(dvs-builder@U16)  Thu Jan 23 2025\n",
            "570.86.15",
            "open",
            "x86_64",
        ),
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  540.3.0  Release Build  "
            "(buildbrain@mobile)  Tue Jan 9 2024\n",
            "540.3.0",
            "open",
            "aarch64",
        ),
        (
            "NVRM version: NVIDIA UNIX aarch64 Kernel Module  550.54.15  Tue Mar 5 2024\n",
            "550.54.15",
            "proprietary",
            "aarch64",
        ),
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  390.157  Wed Oct 12 2022\n",
            "390.157",
            "proprietary",
            "x86_64",
        ),
    ],
)
def test_proc_version_shapes(text: str, version: str, flavor: str, arch: str) -> None:
    mv = parse_proc_version(text)
    assert mv is not None and (mv.version, mv.flavor, mv.arch) == (version, flavor, arch)


@given(texts)
def test_proc_version_never_raises(text: str) -> None:
    mv = parse_proc_version(text)
    assert mv is None or mv.version in text


def test_information() -> None:
    info = parse_information(
        "Model: \t\t NVIDIA A100-SXM4-80GB\nBus Location: \t 0000:07:00.0\n"
        "Device Minor: \t 3\nGPU Excluded:\t No\n"
    )
    assert info["Model"] == "NVIDIA A100-SXM4-80GB" and info["Device Minor"] == "3"
    assert info["Bus Location"] == "0000:07:00.0"


@given(texts)
def test_information_never_raises(text: str) -> None:
    assert all(k and ":" not in k for k in parse_information(text))


def test_smi_csv() -> None:
    (g,) = parse_smi_csv(
        "00000000:C1:00.0, NVIDIA H200, 9.0, 143771, 570.124.06, GPU-e1\ngarbage line\n, , , , , \n"
    )
    assert (g.pci_address, g.name, g.compute_capability, g.memory_total_bytes) == (
        "0000:c1:00.0",
        "NVIDIA H200",
        "9.0",
        143771 * 1024**2,
    )
    assert (g.driver_version, g.uuid) == ("570.124.06", "GPU-e1")


@given(texts)
def test_smi_csv_never_raises(text: str) -> None:
    for g in parse_smi_csv(text):
        assert g.pci_address is not None and len(g.pci_address) == 12
        assert g.memory_total_bytes is None or g.memory_total_bytes >= 0


@given(
    st.lists(
        st.tuples(
            st.integers(0, 255),
            st.integers(0, 31),
            st.integers(0, 7),
            st.text(string.ascii_letters + " -", min_size=1, max_size=30).filter(
                lambda s: s.strip() and s.strip().lower() != "n/a"
            ),
            st.integers(0, 10**6),
        ),
        max_size=8,
    )
)
def test_smi_csv_roundtrip(rows: list[tuple[int, int, int, str, int]]) -> None:
    text = "".join(
        f"00000000:{b:02X}:{d:02X}.{f}, {n}, 8.0, {m}, 550.1, GPU-x\n" for b, d, f, n, m in rows
    )
    got = parse_smi_csv(text, SMI_FIELDS)
    assert [(g.pci_address, g.name, g.memory_total_bytes) for g in got] == [
        (f"0000:{b:02x}:{d:02x}.{f}", n.strip(), m * 1024**2) for b, d, f, n, m in rows
    ]


CDI_YAML = """\
---
cdiVersion: 0.5.0
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
devices:
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
  name: "0"
- name: GPU-4cf8db2d  # a comment
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
- containerEdits: {}
  name: all
kind: nvidia.com/gpu
"""


def test_cdi_yaml_and_json() -> None:
    assert parse_cdi(CDI_YAML, "x.yaml") == ("nvidia.com/gpu", ["0", "GPU-4cf8db2d", "all"])
    doc = yaml.safe_load(CDI_YAML)
    import json

    assert parse_cdi(json.dumps(doc), "x.json") == ("nvidia.com/gpu", ["0", "GPU-4cf8db2d", "all"])
    with pytest.raises(CdiError):
        parse_cdi("devices: [{name: a}]\nkind: x\n")
    with pytest.raises(CdiError):
        parse_cdi("{not json", "a.json")


names = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=20)


@settings(max_examples=150)
@given(
    st.sampled_from(["nvidia.com/gpu", "amd.com/gpu", "vendor.example/dev"]),
    st.lists(names, max_size=6),
    st.integers(0, 2),
)
def test_cdi_yaml_subset_agrees_with_pyyaml(kind: str, devs: list[str], style: int) -> None:
    spec = {
        "cdiVersion": "0.6.0",
        "kind": kind,
        "devices": [
            {"name": n, "containerEdits": {"deviceNodes": [{"path": f"/dev/{i}"}]}}
            for i, n in enumerate(devs)
        ],
    }
    text = yaml.safe_dump(spec, sort_keys=style == 0, indent=2 + style, default_flow_style=False)
    assert parse_cdi(text, "s.yaml") == (kind, devs)


@given(texts)
def test_cdi_never_raises_anything_but_cdierror(text: str) -> None:
    try:
        kind, devs = parse_cdi(text, "s.yaml")
    except CdiError:
        return
    assert kind and all(isinstance(d, str) for d in devs)


def test_os_release_and_addresses() -> None:
    osr = parse_os_release('NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n# c\nID=ubuntu\n')
    assert osr["PRETTY_NAME"] == "Ubuntu 22.04.4 LTS" and osr["ID"] == "ubuntu"
    assert normalize_address("00000000:C1:00.0") == "0000:c1:00.0"
    assert normalize_address("0000:c1:00.9") is None and normalize_address("junk") is None


@given(texts)
def test_small_parsers_never_raise(text: str) -> None:
    parse_os_release(text)
    parse_docker_version(text)
    parse_buildx_version(text)
    parse_ctk_version(text)
    assert normalize_address(text) is None or len(normalize_address(text) or "") == 12


def test_engine_version_strings() -> None:
    assert parse_docker_version('{"Client":{"Version":"28.2.2"},"Server":null}') == ("28.2.2", None)
    assert parse_docker_version(
        '{"Client":{"Version":"24.0.7"},"Server":{"Version":"24.0.7"}}'
    ) == ("24.0.7", "24.0.7")
    assert parse_buildx_version("github.com/docker/buildx v0.12.1 30feaa1\n") == "0.12.1"
    assert parse_buildx_version("docker: 'buildx' is not a docker command.") is None
    assert (
        parse_ctk_version("NVIDIA Container Toolkit CLI version 1.14.6\ncommit: 5605d19\n")
        == "1.14.6"
    )
