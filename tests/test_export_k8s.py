"""Kubernetes export: every manifest validates against the official schemas (bundled by the
kubernetes-validate package, offline, strict), and the labels and resource names are the ones
the operators document."""

from __future__ import annotations

import pytest
import yaml

from hwdock.export.k8s import K8sOptions, k8s_quantity, render_k8s
from hwdock.export.names import dns1123_label
from hwdock.fleet.labels import placement
from hwdock.fleet.needs import host_needs
from hwdock.knowledge import load
from tests.support.export_plans import (
    amd_host,
    cpu_host,
    cpu_plan,
    cuda_plan,
    nvidia_host,
    rocm_plan,
)

kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
K8S_VERSION = "1.37.0"

# Values as the operators document them (see knowledge/data/k8s_labels.toml for the pages):
# GPU Feature Discovery's "Generated Labels" table; the AMD labeller's example for MI300X
# (amd.com/gpu.device-id=74a1); NFD's cpu-cpuid.<flag>; the device plugins' resources.
DOCUMENTED = {
    "nvidia.com/gpu",
    "amd.com/gpu",
    "nvidia.com/gpu.compute.major",
    "nvidia.com/gpu.compute.minor",
    "nvidia.com/cuda.driver.major",
    "nvidia.com/gpu.present",
    "amd.com/gpu.device-id",
    "feature.node.kubernetes.io/amd-gpu",
    "feature.node.kubernetes.io/cpu-cpuid.AVX512F",
    "feature.node.kubernetes.io/cpu-cpuid.AVX2",
    "kubernetes.io/arch",
    # Intel's device plugins: the GPU plugin README (resource, NFD rule label) and labels.md
    "gpu.intel.com/i915",
    "intel.feature.node.kubernetes.io/gpu",
    "gpu.intel.com/device-id.0300-56a5.present",
}


def validate_all(text: str) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    assert docs
    for d in docs:
        kv.validate(d, K8S_VERSION, strict=True)
    return docs


def _terms(deploy: dict) -> list[list[dict]]:
    aff = deploy["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    terms = aff["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return [t["matchExpressions"] for t in terms]


def test_rocm_deployment_and_service_validate() -> None:
    host = amd_host("mi300-a", "gfx942", "0x74a1", count=2)
    place = placement(host_needs(host), [host])
    res = render_k8s(rocm_plan(), place)
    deploy, svc = validate_all(res.text)
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"] == {"amd.com/gpu": 2}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["ports"][0]["containerPort"] == 8000
    tok = next(e for e in c["env"] if e["name"] == "HF_TOKEN")
    assert tok["valueFrom"]["secretKeyRef"] == {
        "name": "hf-token",
        "key": "HF_TOKEN",
        "optional": True,
    }
    assert "value" not in tok
    vols = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["dshm"]["mountPath"] == "/dev/shm"
    assert mounts["model"]["readOnly"] is True
    (term,) = _terms(deploy)
    assert {"key": "amd.com/gpu.device-id", "operator": "In", "values": ["74a1"]} in term
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]} in term
    assert svc["spec"]["ports"][0] == {
        "name": "http",
        "port": 8000,
        "targetPort": "http",
        "protocol": "TCP",
    }
    assert svc["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]


def test_cuda_deployment_pins_compute_capability_and_driver() -> None:
    host = nvidia_host("h100", "9.0", driver="550.54.15")
    res = render_k8s(
        cuda_plan(),
        placement(host_needs(host), [host]),
        K8sOptions(model_pvc="Models PVC", namespace="ml"),
    )
    deploy, _ = validate_all(res.text)
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"] == {"nvidia.com/gpu": 1}
    (term,) = _terms(deploy)
    assert {"key": "nvidia.com/gpu.compute.major", "operator": "In", "values": ["9"]} in term
    assert {"key": "nvidia.com/gpu.compute.minor", "operator": "In", "values": ["0"]} in term
    assert {"key": "nvidia.com/cuda.driver.major", "operator": "Gt", "values": ["549"]} in term
    vols = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert vols["model"]["persistentVolumeClaim"]["readOnly"] is True
    claim = vols["model"]["persistentVolumeClaim"]["claimName"]
    assert claim.startswith("models-pvc-")
    assert any("Models PVC" in n for n in res.notes)
    # ipc=host becomes a sized memory-backed /dev/shm, never hostIPC
    assert "hostIPC" not in deploy["spec"]["template"]["spec"]
    assert vols["dshm"]["emptyDir"]["medium"] == "Memory"


def test_cpu_deployment_needs_the_isa_and_avoids_gpu_nodes() -> None:
    host = cpu_host("c1", isa="avx512")
    deploy, _ = validate_all(render_k8s(cpu_plan(), placement(host_needs(host), [host])).text)
    (term,) = _terms(deploy)
    keys = {(r["key"], r["operator"]) for r in term}
    assert ("feature.node.kubernetes.io/cpu-cpuid.AVX512F", "In") in keys
    assert ("nvidia.com/gpu.present", "DoesNotExist") in keys
    assert ("feature.node.kubernetes.io/amd-gpu", "DoesNotExist") in keys
    assert "resources" not in deploy["spec"]["template"]["spec"]["containers"][0]


def test_every_label_key_used_is_documented() -> None:
    hosts = [
        amd_host("a", "gfx942", "0x74a1"),
        nvidia_host("n", "8.0"),
        cpu_host("c"),
        cpu_host("c2", isa="avx2"),
    ]
    used: set[str] = set()
    for h in hosts:
        for term in placement(host_needs(h), [h], wider_isas=("avx512",)).terms:
            used |= {r.key for r in term}
    data = load("k8s_labels")
    used |= {data["resources"]["nvidia"], data["resources"]["amd"], data["resources"]["intel"]}
    assert used <= DOCUMENTED
    for section in ("nvidia", "amd", "intel", "nfd", "kubernetes"):
        assert data[section]["source"].startswith("https://")


HOSTILE_NAMES = ["My Model (v2)", "ünïcødé-☃", "a" * 80, "--", "x\ny", "$(id)", "UPPER_case.name"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_become_valid_dns_labels(name: str) -> None:
    res = render_k8s(rocm_plan(name=name))
    deploy, svc = validate_all(res.text)
    got = deploy["metadata"]["name"]
    assert svc["metadata"]["name"] == got
    assert got == dns1123_label(name)[0]
    import re

    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", got) and len(got) <= 63
    assert any("DNS-1123" in n for n in res.notes)


def test_sanitised_names_do_not_collide() -> None:
    assert dns1123_label("Model A")[0] != dns1123_label("model-a!")[0]
    assert dns1123_label("vllm") == ("vllm", None)


def test_hostile_values_survive_yaml() -> None:
    plan = rocm_plan(model='/models/it\'s a "model"\n# not a comment: {x}')
    deploy, _ = validate_all(render_k8s(plan).text)
    vols = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert vols["model"]["hostPath"]["path"] == '/models/it\'s a "model"\n# not a comment: {x}'


def test_quantities() -> None:
    assert k8s_quantity("16g") == "16Gi"
    assert k8s_quantity("512m") == "512Mi"
    assert k8s_quantity("1.5G") == "1.5Gi"
