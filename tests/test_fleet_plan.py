"""`hwdock fleet plan`: grouping, the narrow/fat decision, bake + manifests, the CLI, bad input.

The fleet: 9 hosts of mixed vendors and generations, built as host reports (probe JSON shape):
two MI300X (gfx942), one Radeon PRO W7900 (gfx1100), an H100 (9.0), an A100 (8.0), a B200
(10.0) on a CUDA 13 driver, a GH200 (9.0, aarch64), and two CPU-only hosts (AVX-512, AVX2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hwdock.errors import InputError
from hwdock.fleet.cost import Group, choose_variants, group_cost
from hwdock.fleet.inventory import FleetHost, load_hosts
from hwdock.fleet.needs import Exclusion, Needs, chosen_accelerators, host_needs
from hwdock.fleet.plan import fleet_bake, fleet_manifests, plan_fleet
from hwdock.plan.model import Plan
from tests.support.export_plans import (
    amd_host,
    cpu_host,
    cpu_plan,
    cuda_plan,
    nvidia_host,
    rocm_plan,
)
from tests.support.node_labels import node_labels, selects

kv = pytest.importorskip("kubernetes_validate")


def fleet_reports() -> list:
    return [
        amd_host("mi300-a", "gfx942", "0x74a1", count=8, product="AMD Instinct MI300X"),
        amd_host("mi300-b", "gfx942", "0x74a1", count=8, product="AMD Instinct MI300X"),
        amd_host("w7900", "gfx1100", "0x7448", product="AMD Radeon PRO W7900"),
        nvidia_host("h100", "9.0", product="NVIDIA H100 80GB HBM3"),
        nvidia_host("a100", "8.0", device_id="0x20b2", driver="535.161.08", cuda="12.2"),
        nvidia_host("b200", "10.0", device_id="0x2901", driver="580.65.06", cuda="13.0"),
        nvidia_host("gh200", "9.0", device_id="0x2342", arch="aarch64"),
        cpu_host("cpu-sapphire", isa="avx512"),
        cpu_host("cpu-old", isa="avx2"),
    ]


def fake_planner(host) -> Plan:
    """Stands in for hwdock.plan.make_plan: arch list and tag from the (representative) host."""
    accs = chosen_accelerators(host)
    if not accs:
        return cpu_plan(image=f"vllm-cpu:{host.cpu.isa_level}", host=host.hostname)
    if accs[0].vendor == "amd":
        gfx = sorted({a.gfx_target for a in accs})
        plan = rocm_plan(image=f"vllm-rocm:{'-'.join(gfx)}", host=host.hostname)
        for s in plan.steps:
            s.build_args["PYTORCH_ROCM_ARCH"] = ";".join(gfx)
        plan.accelerators = [a.key for a in accs]
        return plan
    ccs = sorted({a.compute_capability for a in accs})
    return cuda_plan(
        image=f"vllm-cuda:{'-'.join('sm' + c.replace('.', '') for c in ccs)}",
        arch=" ".join(ccs),
        host=host.hostname,
    )


def hosts() -> list[FleetHost]:
    return [FleetHost(r.hostname, r, "test") for r in fleet_reports()]


def test_needs_of_each_host() -> None:
    got = {r.hostname: host_needs(r) for r in fleet_reports()}
    assert got["mi300-a"] == Needs("rocm", ("gfx942",), "x86_64")
    assert got["h100"] == Needs("cuda", ("9.0",), "x86_64", "cuda12")
    assert got["b200"] == Needs("cuda", ("10.0",), "x86_64", "cuda13")
    assert got["gh200"] == Needs("cuda", ("9.0",), "aarch64", "cuda12")
    assert got["cpu-old"] == Needs("cpu", (), "x86_64", None, "avx2")


def test_mixed_fleet_expected_variants() -> None:
    fp = plan_fleet(hosts(), fake_planner)
    table = {h: (v, img) for h, v, img in fp.host_table()}
    assert table == {
        # 3 ROCm hosts: one fat gfx942+gfx1100 image is cheaper than two narrow ones
        "mi300-a": ("rocm-gfx1100-gfx942", "vllm-rocm:gfx1100-gfx942"),
        "mi300-b": ("rocm-gfx1100-gfx942", "vllm-rocm:gfx1100-gfx942"),
        "w7900": ("rocm-gfx1100-gfx942", "vllm-rocm:gfx1100-gfx942"),
        # CUDA 12 x86 hosts share a fat 8.0+9.0 image; B200's CUDA 13 driver and the aarch64
        # GH200 need images of their own
        "a100": ("cuda-sm80-sm90", "vllm-cuda:sm80-sm90"),
        "h100": ("cuda-sm80-sm90", "vllm-cuda:sm80-sm90"),
        "b200": ("cuda-sm100", "vllm-cuda:sm100"),
        "gh200": ("cuda-sm90", "vllm-cuda:sm90"),
        # an AVX-512 image dies with "Illegal instruction" on AVX2: two CPU variants
        "cpu-sapphire": ("cpu-avx512", "vllm-cpu:avx512"),
        "cpu-old": ("cpu-avx2", "vllm-cpu:avx2"),
    }
    rocm = next(v for v in fp.variants if v.name == "rocm-gfx1100-gfx942")
    assert any("fat image" in w and "saves" in w for w in rocm.why)
    assert rocm.gpu_count == 1  # fits the 1-GPU W7900 as well as the 8-GPU MI300X hosts
    assert rocm.plan.steps[-1].build_args["PYTORCH_ROCM_ARCH"] == "gfx1100;gfx942"
    a100_h100 = next(v for v in fp.variants if v.name == "cuda-sm80-sm90")
    # the fat CUDA variant was planned for the oldest driver among its hosts (A100's 535)
    assert a100_h100.placement.terms[0][-1].values == ["534"]
    assert fp.excluded == []


def test_many_hosts_per_arch_keep_images_narrow() -> None:
    reports = [amd_host(f"mi{i}", "gfx942", "0x74a1") for i in range(6)]
    reports += [amd_host(f"navi{i}", "gfx1100", "0x744c") for i in range(6)]
    fp = plan_fleet([FleetHost(r.hostname, r, "t") for r in reports], fake_planner)
    assert sorted(v.name for v in fp.variants) == ["rocm-gfx1100", "rocm-gfx942"]
    assert any("kept narrow" in w for v in fp.variants for w in v.why)


def test_decision_follows_the_cost_formula() -> None:
    costs = {
        "build_minute_gib": 0.0,
        "platform": {"rocm": {"variant_gib": 10.0, "per_arch_gib": 2.0}},
    }
    a = Needs("rocm", ("gfx942",), "x86_64")
    b = Needs("rocm", ("gfx1100",), "x86_64")
    # cost of a group: (10 + 2 * archs) * (1 + hosts)
    assert group_cost(Group(a, ["h1", "h2"]), costs) == pytest.approx(36.0)
    # merging saves one variant (10) and costs 2 * (2*1 + 2*1) = 8 more in pulls → merge
    merged = choose_variants({a: ["h1", "h2"], b: ["h3", "h4"]}, costs)
    assert [g.archs for g in merged] == [("gfx1100", "gfx942")]
    # with 3 + 3 hosts pulls cost 12 > 10 → stay narrow
    narrow = choose_variants({a: ["1", "2", "3"], b: ["4", "5", "6"]}, costs)
    assert sorted(g.archs for g in narrow) == [("gfx1100",), ("gfx942",)]


def test_each_node_is_selected_by_exactly_its_variant() -> None:
    fp = plan_fleet(hosts(), fake_planner)
    manifests = fleet_manifests(fp)
    deployments = {}
    for path, text in manifests.items():
        docs = list(yaml.safe_load_all(text))
        for d in docs:
            kv.validate(d, "1.37.0", strict=True)
        deployments[path] = next(d for d in docs if d["kind"] == "Deployment")
    assert len(deployments) == len(fp.variants)
    variant_of = {h: v for h, v, _ in fp.host_table()}
    for report in fleet_reports():
        labels = node_labels(report)
        picked = [p for p, d in deployments.items() if selects(d, labels)]
        assert picked == [f"k8s/vllm-{variant_of[report.hostname]}.yaml"], report.hostname


def test_fleet_bake_has_one_target_per_variant() -> None:
    fp = plan_fleet(hosts(), fake_planner)
    bake = fleet_bake(fp)
    doc = json.loads(bake.json_text)
    finals = doc["group"]["hwdock"]["targets"]
    assert sorted(finals) == sorted(f"{v.name}-app" for v in fp.variants)
    tags = {doc["target"][t]["tags"][0] for t in finals}
    assert tags == {v.image for v in fp.variants}
    import jsonschema

    schema = json.loads((Path(__file__).parent / "support" / "bake.schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_cpu_hosts_can_be_excluded_with_a_reason() -> None:
    fp = plan_fleet(hosts(), fake_planner, allow_cpu=False)
    assert {e.host for e in fp.excluded} == {"cpu-sapphire", "cpu-old"}
    assert all("CPU-only" in e.reason for e in fp.excluded)
    assert all(v.needs.platform != "cpu" for v in fp.variants)


def test_unknown_gfx_is_excluded_not_guessed() -> None:
    r = amd_host("mystery", "gfx942", "0x74a1")
    r.accelerators[0].gfx_target = None
    got = host_needs(r)
    assert isinstance(got, Exclusion) and "gfx target" in got.reason


def test_integrated_gpu_ignored_when_a_discrete_one_is_there() -> None:
    r = amd_host("ws", "gfx1100", "0x744c")
    igpu = amd_host("x", "gfx1036", "0x164e").accelerators[0]
    igpu.integrated = True
    r.accelerators.append(igpu)
    assert host_needs(r) == Needs("rocm", ("gfx1100",), "x86_64")


# ---- inventory: bad input ---------------------------------------------------------------------


def write_reports(tmp_path: Path, reports: list) -> list[Path]:
    paths = []
    for i, r in enumerate(reports):
        p = tmp_path / f"host{i}.json"
        p.write_text(json.dumps(r.to_dict()))
        paths.append(p)
    return paths


def test_duplicate_host_names_are_an_error(tmp_path: Path) -> None:
    paths = write_reports(
        tmp_path, [nvidia_host("same", "9.0"), amd_host("same", "gfx942", "0x74a1")]
    )
    with pytest.raises(InputError, match="two hosts are named 'same'"):
        load_hosts(paths)


def test_older_and_newer_schema_versions(tmp_path: Path) -> None:
    doc = nvidia_host("h", "9.0").to_dict()
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**doc, "schema_version": 0}))
    with pytest.raises(InputError, match="older than this hwdock reads") as e:
        load_hosts([old])
    assert "hwdock probe --json" in str(e.value)
    new = tmp_path / "new.json"
    new.write_text(json.dumps({**doc, "schema_version": 99}))
    with pytest.raises(InputError, match="newer than this hwdock"):
        load_hosts([new])


def test_not_a_report(tmp_path: Path) -> None:
    p = tmp_path / "plan.json"
    p.write_text(json.dumps({"kind": "plan", "schema_version": 1}))
    with pytest.raises(InputError, match="not a host report"):
        load_hosts([p])
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "host-report",\n "schema_version": 1,,}')
    with pytest.raises(InputError, match=r"bad.json:2: not JSON"):
        load_hosts([bad])


# ---- CLI ----------------------------------------------------------------------------------------


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from hwdock.cli import main

    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out, out.err


@pytest.fixture
def patched_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    import hwdock.commands.export as cmd

    monkeypatch.setattr(cmd, "fleet_planner", lambda source, common: fake_planner)


def test_cli_fleet_plan_writes_bake_manifests_and_table(
    tmp_path: Path, capsys, patched_planner: None
) -> None:
    paths = write_reports(tmp_path, fleet_reports())
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["fleet", "plan", *map(str, paths), "--out", str(out)], capsys)
    assert code == 0
    for host in ("mi300-a", "w7900", "b200", "cpu-old"):
        assert host in stdout
    assert "vllm-rocm:gfx1100-gfx942" in stdout
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert "docker-bake.hwdock.hcl" in names and "fleet.json" in names
    assert sum(n.startswith("k8s/") for n in names) == 6
    doc = json.loads((out / "fleet.json").read_text())
    assert doc["kind"] == "fleet-plan" and doc["schema_version"] == 1
    assert {h["host"]: h["variant"] for h in doc["hosts"]}["gh200"] == "cuda-sm90"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_cli_fleet_plan_json_and_project_bake(
    tmp_path: Path, capsys, patched_planner: None
) -> None:
    from tests.test_export_bake import PROJECT_BAKE

    src = tmp_path / "vllm"
    (src / "docker").mkdir(parents=True)
    (src / "docker" / "docker-bake.hcl").write_text(PROJECT_BAKE)
    paths = write_reports(tmp_path, [nvidia_host("h100", "9.0"), nvidia_host("l40s", "8.9")])
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        ["fleet", "plan", *map(str, paths), "--source", str(src), "--out", str(out), "--json"],
        capsys,
    )
    assert code == 0
    doc = json.loads(stdout)
    assert [v["name"] for v in doc["variants"]] == ["cuda-sm89-sm90"]
    bake = json.loads((out / "docker-bake.hwdock.json").read_text())
    assert bake["target"]["cuda-sm89-sm90-app"]["inherits"] == ["openai"]
    assert (
        "docker-bake.hcl -f docker-bake.hwdock.hcl" in (out / "docker-bake.hwdock.hcl").read_text()
    )


def test_cli_error_writes_nothing(tmp_path: Path, capsys, patched_planner: None) -> None:
    paths = write_reports(tmp_path, [nvidia_host("dup", "9.0"), nvidia_host("dup", "8.0")])
    out = tmp_path / "out"
    code, _, err = run_cli(["fleet", "plan", *map(str, paths), "--out", str(out)], capsys)
    assert code == 3
    assert "two hosts are named 'dup'" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["host0.json", "host1.json"]


def test_capture_directory_as_a_host(tmp_path: Path, capsys, patched_planner: None) -> None:
    """A `hwdock capture` of this (GPU-less) machine joins the fleet as a CPU host."""
    from hwdock.probe.capture import replay

    cap = tmp_path / "cap"
    code, _, err = run_cli(["capture", str(cap)], capsys)
    assert code == 0, err
    report = replay(cap)
    gpu_host = write_reports(tmp_path, [nvidia_host("h100", "9.0")])[0]
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        ["fleet", "plan", str(cap), str(gpu_host), "--out", str(out), "--json"], capsys
    )
    assert code == 0, err
    doc = json.loads(stdout)
    rows = {h["host"]: h for h in doc["hosts"]}
    assert rows["h100"]["variant"] == "cuda-sm90"
    me = rows[report.hostname]
    if report.cpu.isa_level in ("avx512", "avx2", "avx", "sse4.2"):
        assert me["variant"] == f"cpu-{report.cpu.isa_level}"
    else:
        assert me["variant"] is None and "ISA" in me["image"]


def test_hostile_host_names_stay_data(tmp_path: Path, capsys, patched_planner: None) -> None:
    names = ["web 01 ☃", 'it\'s "$(id)"', "x\ny"]
    reports = [nvidia_host(n, "9.0") for n in names]
    paths = write_reports(tmp_path, reports)
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        ["fleet", "plan", *map(str, paths), "--out", str(out), "--json"], capsys
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert sorted(h["host"] for h in doc["hosts"]) == sorted(names)
    assert doc["variants"][0]["name"] == "cuda-sm90"
    for f in (out / "k8s").iterdir():
        for d in yaml.safe_load_all(f.read_text()):
            kv.validate(d, "1.37.0", strict=True)


def test_a_variant_the_planner_refuses_is_excluded_with_its_reason() -> None:
    from hwdock.errors import HwdockError

    def picky(host):
        if any(a.vendor == "amd" for a in host.accelerators):
            raise HwdockError("no ROCm base image covers gfx1100 and gfx942")
        return fake_planner(host)

    fp = plan_fleet(hosts(), picky)
    excluded = {e.host: e.reason for e in fp.excluded}
    assert set(excluded) == {"mi300-a", "mi300-b", "w7900"}
    assert all("no ROCm base image" in r for r in excluded.values())
    assert all(v.needs.platform != "rocm" for v in fp.variants)


def test_rerun_replaces_manifests_of_vanished_variants(
    tmp_path: Path, capsys, patched_planner: None
) -> None:
    out = tmp_path / "out"
    first = write_reports(tmp_path, [nvidia_host("h100", "9.0"), cpu_host("c1")])
    assert run_cli(["fleet", "plan", *map(str, first), "--out", str(out)], capsys)[0] == 0
    assert (out / "k8s" / "vllm-cpu-avx512.yaml").exists()
    (out / "README.txt").write_text("mine")  # not hwdock's: left alone
    second = tmp_path / "only-gpu"
    second.mkdir()
    paths = write_reports(second, [nvidia_host("h100", "9.0")])
    assert run_cli(["fleet", "plan", *map(str, paths), "--out", str(out)], capsys)[0] == 0
    assert sorted(p.name for p in (out / "k8s").iterdir()) == ["vllm-cuda-sm90.yaml"]
    assert (out / "README.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_fat_variant_without_a_plan_falls_back_to_its_narrow_groups() -> None:
    """No image covers gfx942+gfx1100 at once, but a published one fits each: the fleet plans
    the narrow groups on their own and both pull that image under its real tag."""
    from hwdock.errors import HwdockError

    def published_only(host):
        gfx = sorted({a.gfx_target for a in chosen_accelerators(host) if a.vendor == "amd"})
        if len(gfx) > 1:
            raise HwdockError(f"no published image fits {'-'.join(gfx)}")
        plan = fake_planner(host)
        if gfx:
            plan.steps = [plan.steps[-1]]
            plan.steps[0].action = "pull"
            plan.steps[0].image = "rocm/vllm:latest"
            plan.steps[0].depends_on = []
            plan.run.image = "rocm/vllm:latest"
        return plan

    fp = plan_fleet(hosts(), published_only)
    rocm = {v.name: v for v in fp.variants if v.needs.platform == "rocm"}
    assert {n: (sorted(v.hosts), v.image) for n, v in rocm.items()} == {
        "rocm-gfx942": (["mi300-a", "mi300-b"], "rocm/vllm:latest"),
        "rocm-gfx1100": (["w7900"], "rocm/vllm:latest"),
    }
    assert all(any("planned on its own" in w for w in v.why) for v in rocm.values())
    assert any("both run the published rocm/vllm:latest" in n for n in fp.notes)
    assert fp.excluded == []


def test_equal_savings_break_by_arch_not_by_the_hosts_order() -> None:
    # five one-host ROCm groups: every first pair saves the same (see test_fleet_recorded.py
    # for the figures), so the hosts' order used to decide which ones shared an image
    reports = [
        amd_host("mi300", "gfx942", "0x74a1"),
        amd_host("mi250", "gfx90a", "0x740c"),
        amd_host("mi100", "gfx908", "0x738c"),
        amd_host("w7900", "gfx1100", "0x7448"),
        amd_host("halo", "gfx1151", "0x1586"),
    ]
    fleet = [FleetHost(r.hostname, r, "t") for r in reports]
    forward = plan_fleet(fleet, fake_planner)
    backward = plan_fleet(list(reversed(fleet)), fake_planner)
    assert forward.host_table() == backward.host_table()
    # sorted arch strings (gfx1100 < gfx1151 < gfx908 < gfx90a < gfx942) decide the ties
    assert sorted(v.name for v in forward.variants) == [
        "rocm-gfx1100-gfx1151-gfx942",
        "rocm-gfx908-gfx90a",
    ]


def test_a_failed_fat_variant_regroups_the_parts_that_work_and_ends() -> None:
    """gfx942+gfx1100+gfx90a is one fat image by cost; gfx90a's plan fails (say, a toolkit
    too old for it): the two that work are grouped again and still share an image, and the
    host that fails is excluded with its own plan's reason. When the regrouped pair fails
    too (only when all three are together here, so it does not), the parts go alone."""
    from hwdock.findings import Finding

    reports = [
        *fleet_reports()[:3],
        amd_host("mi250", "gfx90a", "0x740c", product="AMD Instinct MI250X/MI250"),
    ]

    def gfx90a_fails(host):
        plan = fake_planner(host)
        if any(a.gfx_target == "gfx90a" for a in chosen_accelerators(host)):
            plan.verdicts.append(
                Finding("rocm-too-old", "gfx90a needs a newer ROCm", "error", fix="newer base")
            )
        return plan

    fp = plan_fleet([FleetHost(r.hostname, r, "test") for r in reports], gfx90a_fails)
    rocm = {v.name: sorted(v.hosts) for v in fp.variants if v.needs.platform == "rocm"}
    assert rocm == {"rocm-gfx1100-gfx942": ["mi300-a", "mi300-b", "w7900"]}
    (v,) = [v for v in fp.variants if v.name == "rocm-gfx1100-gfx942"]
    assert any(w.startswith("grouped again without gfx90a:") for w in v.why), v.why
    assert [(e.host, "rocm-too-old" in e.reason) for e in fp.excluded] == [("mi250", True)]

    def no_fat_image(host):  # every multi-arch image fails: each part goes alone
        plan = gfx90a_fails(host)
        if len({a.gfx_target for a in chosen_accelerators(host)}) > 1:
            plan.verdicts.append(Finding("no-image", "no fat image here", "error"))
        return plan

    fp = plan_fleet([FleetHost(r.hostname, r, "test") for r in reports], no_fat_image)
    rocm = {v.name: sorted(v.hosts) for v in fp.variants if v.needs.platform == "rocm"}
    assert rocm == {"rocm-gfx942": ["mi300-a", "mi300-b"], "rocm-gfx1100": ["w7900"]}
