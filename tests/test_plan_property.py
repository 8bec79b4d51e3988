"""Property: a plan never recommends an image whose arch list misses the chosen GPU.

For random hosts (vendors, gfx targets, compute capabilities, drivers, integrated or not)
and every tree, any step whose arch list is known covers every chosen GPU, unless the plan
carries an `arch-not-covered` error; a pulled image (published or local) always covers.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hwdock.errors import UsageError
from hwdock.plan import facts as kb
from hwdock.plan import make_plan
from hwdock.plan.decide_route import ARCH_LABEL
from hwdock.plan.options import PlanOptions
from hwdock.probe.model import Accelerator, Cpu, Driver, HostReport

TREES = Path(__file__).parent / "fixtures" / "trees"
GFX = [
    "gfx908",
    "gfx90a",
    "gfx942",
    "gfx950",
    "gfx1030",
    "gfx1036",
    "gfx1100",
    "gfx1101",
    "gfx1151",
    "gfx1201",
    "gfx803",
]
CCS = ["6.1", "7.0", "7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0"]
DRIVERS = [
    ("470.82.01", "11.4"),
    ("535.104.05", "12.2"),
    ("550.54.15", "12.4"),
    ("570.86.10", "12.8"),
    ("580.82.07", "13.0"),
]


@st.composite
def hosts(draw):
    vendor = draw(st.sampled_from(["amd", "nvidia", "none"]))
    n = draw(st.integers(1, 4)) if vendor != "none" else 0
    accs = []
    for i in range(n):
        integrated = draw(st.booleans())
        if vendor == "amd":
            accs.append(
                Accelerator(
                    vendor="amd",
                    pci_address=f"0000:{i + 1:02x}:00.0",
                    gfx_target=draw(st.sampled_from(GFX)),
                    integrated=integrated,
                    render_node=f"/dev/dri/renderD{128 + i}",
                )
            )
        else:
            accs.append(
                Accelerator(
                    vendor="nvidia",
                    pci_address=f"0000:{i + 1:02x}:00.0",
                    compute_capability=draw(st.sampled_from(CCS)),
                    integrated=integrated,
                )
            )
    drivers = []
    if vendor == "nvidia":
        ver, cuda = draw(st.sampled_from(DRIVERS))
        drivers.append(Driver("nvidia", ver, "proprietary", cuda))
    flags = draw(st.sampled_from([["avx2"], ["avx2", "avx512f", "avx512_bf16"], ["avx"]]))
    cpu = Cpu(
        architecture="x86_64",
        logical_cores=draw(st.integers(1, 256)),
        isa_flags=flags,
        memory_available_bytes=draw(st.integers(1, 4096)) * 1024**3,
    )
    return HostReport(hostname="h", accelerators=accs, drivers=drivers, cpu=cpu)


def covers(platform: str, arch: str, acc: Accelerator) -> bool:
    if platform == "rocm":
        return acc.gfx_target in kb.rocm_list(arch)
    return kb.cuda_list_covers(arch, acc.compute_capability or "")


@settings(max_examples=300, deadline=None)
@given(
    hosts(),
    st.sampled_from(["vllm-current", "vllm-old", "vllm-cuda13", "generic", None]),
    st.sampled_from([{}, {"PYTORCH_ROCM_ARCH": "gfx942"}, {"TORCH_CUDA_ARCH_LIST": "8.0"}]),
    st.booleans(),
)
def test_never_recommends_uncovered_image(host, tree, local_env, local):
    opts = PlanOptions(source=TREES / tree if tree else None)
    try:
        plan = make_plan(
            host,
            opts,
            local_images=lambda ref: local,
            image_env=lambda ref: dict(local_env),
        )
    except UsageError:
        return  # no image at all is fine: nothing is recommended
    chosen = [a for a in host.accelerators if a.key in plan.accelerators]
    errors = {v.code for v in plan.verdicts if v.severity == "error"}
    for step in plan.steps:
        arch = step.labels.get(ARCH_LABEL)
        if arch is None or plan.platform not in ("cuda", "rocm"):
            continue
        ok = all(
            covers(plan.platform, arch, a) for a in chosen if a.gfx_target or a.compute_capability
        )
        if step.action != "build":
            assert ok or "arch-not-covered" in errors, (step, chosen)
            if plan.route == "pull":
                assert ok, (step, chosen)
        elif not ok:
            assert "arch-not-covered" in errors
    # integrated GPUs are left out when a discrete one is present
    if any(not a.integrated for a in host.accelerators) and not opts.gpu:
        assert all(not a.integrated for a in chosen)
