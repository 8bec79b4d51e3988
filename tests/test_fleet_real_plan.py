"""Exports and the fleet through the real planner (`hwdock.plan.make_plan`) on the vLLM-shaped
source tree in tests/fixtures/trees/vllm-current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hwdock.fleet.inventory import FleetHost
from hwdock.fleet.plan import fleet_bake, fleet_manifests, plan_fleet
from tests.support.export_plans import amd_host, cpu_host, nvidia_host
from tests.support.node_labels import node_labels, selects

make = pytest.importorskip("hwdock.plan.make", reason="the planner is not on this branch")
from hwdock.plan import make_plan  # noqa: E402
from hwdock.plan.options import PlanOptions  # noqa: E402

TREE = Path(__file__).parent / "fixtures" / "trees" / "vllm-current"
kv = pytest.importorskip("kubernetes_validate")


def planner(host):
    return make_plan(host, PlanOptions(source=TREE, recipe="vllm", model=Path("/srv/models/m")))


def reports() -> list:
    return [
        amd_host("mi300-a", "gfx942", "0x74a1", count=8),
        amd_host("mi300-b", "gfx942", "0x74a1", count=8),
        amd_host("w7900", "gfx1100", "0x7448"),
        nvidia_host("h100", "9.0"),
        nvidia_host("l40s", "8.9", device_id="0x26b9"),
        nvidia_host("b200", "10.0", device_id="0x2901", driver="580.65.06", cuda="13.0"),
        cpu_host("cpu-a", isa="avx512"),
    ]


def test_fleet_with_the_real_planner() -> None:
    fp = plan_fleet([FleetHost(r.hostname, r, "t") for r in reports()], planner)
    by_host = {h: v for h, v, _ in fp.host_table()}
    assert by_host["mi300-a"] == by_host["w7900"] == "rocm-gfx1100-gfx942"
    assert by_host["h100"] == by_host["l40s"] == "cuda-sm89-sm90"
    assert by_host["b200"] == "cuda-sm100"
    assert by_host["cpu-a"] == "cpu-avx512"
    rocm = next(v for v in fp.variants if v.name == "rocm-gfx1100-gfx942")
    final = rocm.plan.steps[-1]
    arch_values = " ".join(final.build_args.values())
    assert "gfx942" in arch_values and "gfx1100" in arch_values  # the fat arch list
    cuda = next(v for v in fp.variants if v.name == "cuda-sm89-sm90")
    assert "8.9" in " ".join(cuda.plan.steps[-1].build_args.values())
    images = [v.image for v in fp.variants]
    assert len(images) == len(set(images))
    bake = json.loads(fleet_bake(fp).json_text)
    assert len(bake["group"]["hwdock"]["targets"]) == len(fp.variants)
    deployments = {}
    for path, text in fleet_manifests(fp).items():
        docs = list(yaml.safe_load_all(text))
        for d in docs:
            kv.validate(d, "1.37.0", strict=True)
        deployments[path] = next(d for d in docs if d["kind"] == "Deployment")
    for r in reports():
        picked = [p for p, d in deployments.items() if selects(d, node_labels(r))]
        assert picked == [f"k8s/vllm-{by_host[r.hostname]}.yaml"]


def test_export_cli_with_the_real_planner(tmp_path: Path, capsys) -> None:
    from hwdock.cli import main

    host = tmp_path / "host.json"
    host.write_text(json.dumps(amd_host("mi300-a", "gfx942", "0x74a1", count=2).to_dict()))
    out = tmp_path / "deploy" / "compose.yaml"
    out.parent.mkdir()
    with pytest.raises(SystemExit) as e:
        main(
            [
                "export",
                "compose",
                str(TREE),
                "--host",
                str(host),
                "--model",
                "/srv/m",
                "--out",
                str(out),
            ]
        )
    assert e.value.code in (0, None), capsys.readouterr().err
    svc = yaml.safe_load(out.read_text())["services"]["vllm"]
    assert "/dev/kfd:/dev/kfd" in svc["devices"]
    # the build context is relative to the Compose file's directory
    assert (out.parent / svc["build"]["context"]).resolve() == TREE.resolve()
    assert any(v.get("source") == "/srv/m" and v.get("read_only") is True for v in svc["volumes"])
