"""`hwdock fleet plan` end to end over the recorded hosts of tests/fixtures/hosts (captures).

All 14 recorded hosts go in as capture folders, through the real CLI in a subprocess and
through the in-process API (`load_hosts` + `plan_fleet` with the CLI's planner), with and
without the vLLM-shaped source tree tests/fixtures/trees/vllm-current.

`mi300x-unbound` is the `mi300x-8` server recorded again after amdgpu failed to init, so both
captures carry the hostname `mi300x-node`; the copy here renames it (`mi300x-unbound`), as a
user must (two hosts with one name are an error, tested in test_fleet_plan.py).

What each host's image needs (hwdock.fleet.needs; facts from each folder's expected.json):

| host (folder)                   | needs                                       |
|---------------------------------|---------------------------------------------|
| mi300x-node (mi300x-8)          | rocm gfx942, x86_64                         |
| mi250-node (mi250-2gcd)         | rocm gfx90a (both GCDs)                     |
| gpu-mi100 (amd-old-kernel)      | rocm gfx908 (target from the device id)     |
| workstation (rx7900xtx-igpu)    | rocm gfx1100 (the Raphael iGPU gfx1036 is left out)  |
| halo (strix-halo)               | rocm gfx1151 (APU: the only GPU)            |
| hgx-h100 (h100-8-no-nvml)       | cuda 9.0, driver 565 → cuda12               |
| rig (rtx4090)                   | cuda 8.9, driver 550 → cuda12               |
| LAPTOP-7Q2K (wsl2-nvidia)       | cuda 8.9, driver 551 (Windows) → cuda12     |
| v100-vm (v100-old-driver)       | cuda 7.0, driver 470 → cuda11               |
| ip-172-31-20-7 (cpu-avx512)     | cpu avx512                                  |
| zen3-box (cpu-avx2)             | cpu avx2                                    |
| arc-box (intel-arc-igpu)        | xpu: Arc A380 (0x56a5; UHD 630 iGPU left out) |
| orin (jetson-orin)              | excluded: Jetson, needs an L4T image built for it |
| mi300x-unbound                  | excluded: no kernel driver bound to its GPUs |

Merging (hwdock.fleet.cost, knowledge/data/fleet_costs.toml): only groups with the same
platform, CPU architecture, CUDA driver class and ISA may share a fat image; the cost of a
group with a arches and n hosts is
    (V + p·a)·(1 + n) + (Bf + Bp·a)·0.1        (registry + pulls + build time)
ROCm: V=6, p=1.2, Bf=40, Bp=25. One host, one arch: 7.2·2 + 6.5 = 20.9.
  The five ROCm groups have one host each, so every pair first saves the same:
    2·20.9 − (8.4·3 + 9.0) = 41.8 − 34.2 = 7.6; ties break by arch order (sorted strings:
    gfx1100 < gfx1151 < gfx908 < gfx90a < gfx942): gfx1100+gfx1151, then gfx908+gfx90a.
  gfx942 (20.9) + gfx1100+gfx1151 (34.2) → a=3, n=3: 9.6·4 + 11.5 = 49.9, saves 5.2, as much
    as with gfx908+gfx90a; the first pair in order wins: gfx1100+gfx1151+gfx942.
  gfx908+gfx90a (34.2) + the three (49.9) → a=5, n=5: 12·6 + 16.5 = 88.5, costs 4.4 more:
    kept narrow.
  But the fat gfx1100+gfx1151+gfx942 image cannot work on halo: the tree's base is ROCm 7.0
    and gfx1151 needs ROCm >= 7.0.2 (the plan's error verdict rocm-too-old). A fleet never
    places a host on an image its plan says fails there, so the fat group is taken apart:
    the parts that work on their own (gfx942, gfx1100) are grouped again by the same cost
    model — one image saves 2·20.9 − 34.2 = 7.6, so gfx1100+gfx942 share one — and halo,
    whose own plan has the same verdict, is excluded with it and its fix. → two ROCm
    variants (gfx1100+gfx942 on the published base, which covers both; gfx908+gfx90a with
    its own base build, as gfx908 is not in the base's list).
CUDA: V=4, p=0.25, Bf=20, Bp=15. 8.9 (2 hosts): 4.25·3 + 3.5 = 16.25; 9.0 (1 host):
  4.25·2 + 3.5 = 12; merged (a=2, n=3): 4.5·4 + 5 = 23, saves 5.25 → one sm89+sm90 variant.
  The V100's cuda11 driver class keeps it apart whatever the figures, and its own plan says
  the tree's CUDA 12 image fails on driver 470 (driver-too-old): excluded with that reason.
CPU: AVX-512 and AVX2 differ in ISA → two variants (an AVX-512 build dies with "Illegal
instruction" on AVX2).

Without a source tree nothing can be built, so a variant needs a published image: the planner
finds one for CUDA 8.9/9.0 (vllm/vllm-openai) and for gfx942 and gfx90a (rocm/vllm); the fat
ROCm groups have none, so the fleet plans their narrow parts on their own (gfx942 and gfx90a
get rocm/vllm:latest, the rest are excluded with the planner's reason).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hwdock.fleet.inventory import load_hosts
from hwdock.fleet.plan import fleet_bake, fleet_manifests, plan_fleet
from tests.support.node_labels import node_labels, selects

kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
pytest.importorskip("hwdock.plan.make", reason="the planner is not on this branch")

K8S_VERSION = "1.37.0"
ROOT = Path(__file__).resolve().parent.parent
HOSTS = ROOT / "tests" / "fixtures" / "hosts"
TREE = ROOT / "tests" / "fixtures" / "trees" / "vllm-current"
FOLDERS = [
    "mi300x-8",
    "mi250-2gcd",
    "amd-old-kernel",
    "rx7900xtx-igpu",
    "strix-halo",
    "h100-8-no-nvml",
    "rtx4090",
    "wsl2-nvidia",
    "v100-old-driver",
    "cpu-avx512",
    "cpu-avx2",
    "intel-arc-igpu",
    "jetson-orin",
    "mi300x-unbound",
]

FAT_ROCM = "rocm-gfx1100-gfx1151-gfx942"  # chosen by cost, then regrouped without halo
# variant → (platform, archs, driver class, isa, hosts, image) with the source tree
WITH_TREE: dict[str, tuple[str, list[str], str | None, str | None, set[str], str]] = {
    "rocm-gfx1100-gfx942": (
        "rocm",
        ["gfx1100", "gfx942"],
        None,
        None,
        {"workstation", "mi300x-node"},
        "vllm-rocm:gfx1100-gfx942-local",
    ),
    "rocm-gfx908-gfx90a": (
        "rocm",
        ["gfx908", "gfx90a"],
        None,
        None,
        {"gpu-mi100", "mi250-node"},
        "vllm-rocm:gfx908-gfx90a-local",
    ),
    "cuda-sm89-sm90": (
        "cuda",
        ["8.9", "9.0"],
        "cuda12",
        None,
        {"hgx-h100", "rig", "LAPTOP-7Q2K"},
        "vllm-cuda:sm89-sm90-local",
    ),
    "cpu-avx512": ("cpu", [], None, "avx512", {"ip-172-31-20-7"}, "vllm-cpu:avx512-local"),
    "cpu-avx2": ("cpu", [], None, "avx2", {"zen3-box"}, "vllm-cpu:avx2-local"),
    # the Arc A380 is device 0x56a5; no arch list for Intel (the variant is named by device)
    "xpu-0x56a5": ("xpu", ["0x56a5"], None, None, {"arc-box"}, "vllm-xpu:xpu-local"),
}
# the narrowed arch list each built variant passes to its build (bake args of its targets)
ARCH_ARGS = {
    # built on the published base, which covers both archs: only the app's list narrows
    "rocm-gfx1100-gfx942": {"ARG_PYTORCH_ROCM_ARCH": "gfx1100;gfx942"},
    "rocm-gfx908-gfx90a": {"PYTORCH_ROCM_ARCH": "gfx908;gfx90a"},
    "cuda-sm89-sm90": {"torch_cuda_arch_list": "8.9 9.0"},
    "cpu-avx512": {"VLLM_CPU_DISABLE_AVX512": "false"},
    "cpu-avx2": {"VLLM_CPU_DISABLE_AVX512": "true"},
    "xpu-0x56a5": {},
}
EXCLUDED_ALWAYS = {
    "orin": ("Jetson (L4T R35.3.1)", "L4T-based image"),
    "mi300x-unbound": ("no kernel driver bound", "0000:cd:00.0", "modprobe amdgpu"),
}
# excluded only when a source tree is planned: its images cannot work on these hosts
EXCLUDED_WITH_TREE = {
    "v100-vm": ("cannot work on its hosts", "driver-too-old", "470.182.03"),
    "halo": ("cannot work on its hosts", "rocm-too-old", "gfx1151", "fix:"),
}
# without a source tree: published images only
WITHOUT_TREE = {
    "cuda-sm89-sm90": ({"hgx-h100", "rig", "LAPTOP-7Q2K"}, "vllm/vllm-openai:latest"),
    "rocm-gfx942": ({"mi300x-node"}, "rocm/vllm:latest"),
    "rocm-gfx90a": ({"mi250-node"}, "rocm/vllm:latest"),
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("fleet-hosts")
    out = []
    for folder in FOLDERS:
        dst = base / folder
        shutil.copytree(HOSTS / folder, dst, symlinks=True)
        out.append(dst)
    meta = base / "mi300x-unbound" / "meta.json"
    doc = json.loads(meta.read_text())
    assert doc["hostname"] == "mi300x-node"  # the same server as mi300x-8
    doc["hostname"] = "mi300x-unbound"
    meta.write_text(json.dumps(doc))
    return out


def run_cli(*args: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS=str(columns), NO_COLOR="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "hwdock", "fleet", "plan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def deployments(out: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    """variant manifest path → its Deployment, after validating every document offline."""
    found = {}
    for name in files:
        if not name.startswith("k8s/"):
            continue
        docs = list(yaml.safe_load_all((out / name).read_text()))
        for d in docs:
            kv.validate(d, K8S_VERSION, strict=True)
        assert sorted(d["kind"] for d in docs) == ["Deployment", "Service"]
        found[name] = next(d for d in docs if d["kind"] == "Deployment")
    return found


def check_placement(
    doc: dict[str, Any], deps: dict[str, dict[str, Any]], captures: list[Path]
) -> None:
    """Each host's simulated node labels select exactly its variant's Deployment; an excluded
    host's node none."""
    from hwdock.probe.capture import replay

    variant_of = {h["host"]: h["variant"] for h in doc["hosts"]}
    for cap in captures:
        report = replay(cap)
        name = json.loads((cap / "meta.json").read_text())["hostname"]
        labels = node_labels(report)
        picked = sorted(p for p, d in deps.items() if selects(d, labels))
        want = [] if variant_of[name] is None else [f"k8s/vllm-{variant_of[name]}.yaml"]
        assert picked == want, (name, labels)


def test_cli_with_source_tree(captures: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    res = run_cli(*map(str, captures), "--source", str(TREE), "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["kind"] == "fleet-plan" and doc["schema_version"] == 1
    assert doc == json.loads((out / "fleet.json").read_text()) | {"out": str(out)}

    got = {
        v["name"]: (
            v["platform"],
            v["archs"],
            v["driver_class"],
            v["isa"],
            set(v["hosts"]),
            v["image"],
        )
        for v in doc["variants"]
    }
    assert got == WITH_TREE
    # every host on exactly one variant, or excluded with its reason
    table = {h["host"]: (h["variant"], h["image"]) for h in doc["hosts"]}
    assert len(doc["hosts"]) == len(table) == len(FOLDERS)
    for name, (_, _, _, _, hosts, image) in WITH_TREE.items():
        for h in hosts:
            assert table[h] == (name, image)
    excluded = {e["host"]: e["reason"] for e in doc["excluded"]}
    assert set(excluded) == set(EXCLUDED_ALWAYS) | set(EXCLUDED_WITH_TREE)
    for host, words in (EXCLUDED_ALWAYS | EXCLUDED_WITH_TREE).items():
        assert table[host][0] is None
        assert all(w in excluded[host] for w in words), excluded[host]

    # the fat ROCm image was chosen by cost, then taken apart because it cannot work on halo;
    # the parts that work alone were grouped again by the cost model
    why = next(v for v in doc["variants"] if v["name"] == "rocm-gfx1100-gfx942")["why"]
    fat = FAT_ROCM[5:].replace("-", "+")
    assert any(
        w.startswith("grouped again without gfx1151:")
        and f"the fat image for {fat} cannot work" in w
        and "rocm-too-old" in w
        for w in why
    )
    assert any("one fat image for gfx1100 with gfx942 saves 7.6 GiB-eq" in w for w in why)
    narrow = next(v for v in doc["variants"] if v["name"] == "rocm-gfx908-gfx90a")
    assert any("kept narrow" in w and "4.4 GiB-eq more" in w for w in narrow["why"])
    assert narrow["gpu_count"] == 1  # the 1-GPU MI100 and the 2-GCD MI250
    cuda = next(v for v in doc["variants"] if v["name"] == "cuda-sm89-sm90")
    assert any("saves 5.2 GiB-eq" in w for w in cuda["why"])

    # bake: one app target per variant, tagged with its image, with its narrowed arch list
    bake = json.loads((out / "docker-bake.hwdock.json").read_text())
    targets = bake["target"]
    assert sorted(bake["group"]["hwdock"]["targets"]) == sorted(f"{v}-app" for v in WITH_TREE)
    for name, args in ARCH_ARGS.items():
        app = targets[f"{name}-app"]
        assert app["tags"] == [WITH_TREE[name][5]]
        both = dict(app.get("args", {}))
        base = targets.get(f"{name}-base")
        if base is not None:  # ROCm: the arch list goes to the base image (PyTorch, kernels)
            both |= base["args"]
            assert app["contexts"] == {base["tags"][0]: f"target:{name}-base"}
            assert app["args"]["ARG_PYTORCH_ROCM_ARCH"] == args["PYTORCH_ROCM_ARCH"]
        assert args.items() <= both.items(), (name, both)
    assert targets["xpu-0x56a5-app"]["dockerfile"] == "docker/Dockerfile.xpu"

    deps = deployments(out, doc["files"])
    assert sorted(deps) == sorted(f"k8s/vllm-{v}.yaml" for v in WITH_TREE)
    for name in WITH_TREE:
        container = deps[f"k8s/vllm-{name}.yaml"]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == WITH_TREE[name][5]
    check_placement(doc, deps, captures)


def test_cli_without_source_tree(captures: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    res = run_cli(*map(str, captures), "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    got = {v["name"]: (set(v["hosts"]), v["image"]) for v in doc["variants"]}
    assert got == WITHOUT_TREE
    # the fat ROCm groups had no published image: their narrow parts were planned alone
    gfx942 = next(v for v in doc["variants"] if v["name"] == "rocm-gfx942")
    assert any(f"the fat image for {FAT_ROCM[5:].replace('-', '+')}" in w for w in gfx942["why"])
    # one published image for two variants: pulled as it is, never retagged
    assert any("both run the published rocm/vllm:latest" in n for n in doc["notes"])
    excluded = {e["host"]: e["reason"] for e in doc["excluded"]}
    placed = set().union(*(hosts for hosts, _ in WITHOUT_TREE.values()))
    assert set(excluded) == set(FOLDERS_HOSTNAMES) - placed
    for host in set(excluded) - set(EXCLUDED_ALWAYS):
        assert excluded[host].startswith("its variant's image has no plan"), excluded[host]
        assert "source" in excluded[host].lower()  # what to do: give a vLLM checkout
    bake = json.loads((out / "docker-bake.hwdock.json").read_text())
    assert bake["group"]["hwdock"]["targets"] == []  # nothing to build
    deps = deployments(out, doc["files"])
    assert sorted(deps) == sorted(f"k8s/vllm-{v}.yaml" for v in WITHOUT_TREE)
    check_placement(doc, deps, captures)


FOLDERS_HOSTNAMES = (
    {h for variant in WITH_TREE.values() for h in variant[4]}
    | set(EXCLUDED_ALWAYS)
    | set(EXCLUDED_WITH_TREE)
)


def test_table_for_people(captures: list[Path], tmp_path: Path) -> None:
    res = run_cli(
        *map(str, captures), "--source", str(TREE), "--out", str(tmp_path / "f"), columns=400
    )
    assert res.returncode == 0, res.stderr
    rows = {}
    for line in res.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 3 and cells[0] in FOLDERS_HOSTNAMES:
            rows[cells[0]] = (cells[1], cells[2])
    assert set(rows) == FOLDERS_HOSTNAMES
    for name, (_, _, _, _, hosts, image) in WITH_TREE.items():
        for h in hosts:
            assert rows[h] == (name, image)
    assert rows["orin"][0] == "-" and rows["orin"][1].startswith("excluded: Jetson")
    # host data is printed as it is: "0000:cd:00.0" once came out as "0000💿00.0" (emoji code)
    assert rows["mi300x-unbound"][0] == "-"
    assert "0000:cd:00.0" in rows["mi300x-unbound"][1]
    assert f"fleet: {len(FOLDERS)} hosts, {len(WITH_TREE)} variants" in res.stdout


def test_in_process_api_matches_and_ignores_host_order(captures: list[Path]) -> None:
    from hwdock.commands.export import fleet_planner

    planner = fleet_planner(TREE, {})
    fp = plan_fleet(load_hosts(captures), planner)
    by_variant = {v.name: (set(v.hosts), v.image, list(v.needs.archs)) for v in fp.variants}
    assert by_variant == {k: (v[4], v[5], v[1]) for k, v in WITH_TREE.items()}
    assert {e.host for e in fp.excluded} == set(EXCLUDED_ALWAYS) | set(EXCLUDED_WITH_TREE)
    # a fat ROCm variant is planned for a representative carrying every arch, the APU's
    # gfx1151 included (an iGPU beside the dGPUs is not left out of a fleet variant)
    from types import SimpleNamespace

    from hwdock.fleet.plan import representative

    reports = {h.name: h.report for h in load_hosts(captures)}
    group = SimpleNamespace(
        hosts=["mi300x-node", "workstation", "halo"], needs=SimpleNamespace(platform="rocm")
    )
    rep = representative(group, reports)
    assert sorted(a.gfx_target for a in rep.accelerators) == ["gfx1100", "gfx1151", "gfx942"]
    assert not any(a.integrated for a in rep.accelerators)
    # ties between equal savings break by arch order, not by the order hosts were given
    again = plan_fleet(load_hosts(list(reversed(captures))), planner)
    assert sorted(again.host_table()) == sorted(fp.host_table())
    # bake and manifests from the API are those the CLI wrote
    bake = json.loads(fleet_bake(fp).json_text)
    assert len(bake["group"]["hwdock"]["targets"]) == len(fp.variants)
    manifests = fleet_manifests(fp)
    assert sorted(manifests) == sorted(f"k8s/vllm-{v}.yaml" for v in WITH_TREE)
    xpu = yaml.safe_load_all(manifests["k8s/vllm-xpu-0x56a5.yaml"])
    deploy = next(d for d in xpu if d["kind"] == "Deployment")
    limits = deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"gpu.intel.com/i915": 1}


def test_hostnames_match_the_captures() -> None:
    """The expectations above name hosts by their recorded hostnames."""
    names = {
        json.loads((HOSTS / f / "meta.json").read_text())["hostname"]
        for f in FOLDERS
        if f != "mi300x-unbound"
    }
    assert names | {"mi300x-unbound"} == FOLDERS_HOSTNAMES
