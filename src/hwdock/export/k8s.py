"""Kubernetes manifests for a plan: a Deployment and a Service, pinned to nodes that fit.

- GPUs through the device plugins' extended resources (`nvidia.com/gpu`, `amd.com/gpu`), never
  host device paths or privileged pods.
- `/dev/shm` as a memory-backed emptyDir with a sizeLimit (PyTorch/NCCL need more than the
  64 MiB default), instead of hostIPC.
- the model read-only from a PersistentVolumeClaim or a hostPath; the Hugging Face cache;
  `HF_TOKEN` from a Secret (secretKeyRef), never a value in the manifest.
- probes on vLLM's health endpoint (startup probe with a long budget while weights load).
- node affinity from the labels GPU Feature Discovery / the AMD node labeller / NFD publish,
  given as `Placement` (hwdock.fleet.labels computes it from host reports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hwdock.export import yamltext
from hwdock.export.compose import container_port
from hwdock.export.names import dns1123_label
from hwdock.knowledge import load
from hwdock.plan.model import Mount, Plan


@dataclass
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.operator not in ("Exists", "DoesNotExist"):
            d["values"] = list(self.values)
        return d


@dataclass
class Placement:
    """Node selector terms (ORed); each term's requirements are ANDed."""

    terms: list[list[Requirement]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class K8sOptions:
    name: str | None = None
    namespace: str | None = None
    model_pvc: str | None = None  # claim name; else the model mount's source as a hostPath
    hf_token_secret: str = "hf-token"
    hf_token_key: str = "HF_TOKEN"
    replicas: int = 1
    gpu_count: int | None = None  # default: the plan's accelerators


@dataclass
class K8sResult:
    docs: list[dict[str, Any]]
    text: str
    name: str
    notes: list[str] = field(default_factory=list)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)[iI]?[bB]?\s*$")


def k8s_quantity(size: str) -> str:
    """Docker's `16g` as a Kubernetes quantity (`16Gi`)."""
    m = _SIZE.fullmatch(size)
    if not m:
        from hwdock.errors import InputError

        raise InputError(f"cannot read the size {size!r} (expected e.g. 16g)")
    num, unit = m.groups()
    suffix = {"": "", "k": "Ki", "m": "Mi", "g": "Gi", "t": "Ti"}[unit.lower()]
    return f"{num}{suffix}"


def _volume_name(i: int, m: Mount) -> str:
    return "model" if m.read_only and i == 0 else f"data-{i}"


def _runtime_class(runtime: str | None, notes: list[str]) -> tuple[str | None, set[str]]:
    """The pod's RuntimeClass for the plan's OCI runtime, and the env names the device plugin
    sets itself. Jetson's `nvidia` runtime: RuntimeClass `nvidia`, and no NVIDIA_VISIBLE_DEVICES
    (the NVIDIA device plugin passes the allocated GPU in it; knowledge: cuda.toml
    [jetson_container]). Any other runtime has no sourced RuntimeClass: left out, said so."""
    if not runtime:
        return None, set()
    jc = load("cuda")["jetson_container"]
    if runtime != jc["runtime"]:
        notes.append(
            f"the plan runs the container under the OCI runtime {runtime!r}; set the pod's "
            "runtimeClassName to the RuntimeClass that maps to it on your nodes"
        )
        return None, set()
    notes.append(
        f"Jetson: the pod runs under the RuntimeClass {jc['k8s_runtime_class']!r} (its CSV-mode "
        "NVIDIA runtime injects the iGPU); define it (handler nvidia) when nvidia is not the "
        f"node's default runtime, see {jc['k8s_source']}; the NVIDIA device plugin exposes a "
        f"Tegra iGPU as nvidia.com/gpu from v0.13.0 ({jc['k8s_tegra_source']}) and sets "
        f"{jc['env_name']} itself"
    )
    return jc["k8s_runtime_class"], {jc["env_name"]}


def render_k8s(
    plan: Plan, placement: Placement | None = None, options: K8sOptions | None = None
) -> K8sResult:
    from hwdock.errors import InputError

    if plan.run is None:
        raise InputError("the plan has no run step: nothing for a Deployment to run")
    opts = options or K8sOptions()
    spec = plan.run
    labels_data = load("k8s_labels")
    notes: list[str] = []
    name, note = dns1123_label(opts.name or spec.name or f"{plan.recipe}-{plan.platform}")
    if note:
        notes.append(note)
    namespace = None
    if opts.namespace:
        namespace, note = dns1123_label(opts.namespace)
        if note:
            notes.append(note)
    port = container_port(spec)
    app_labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "hwdock"}

    container: dict[str, Any] = {"name": "server", "image": spec.image}
    if spec.command:
        container["args"] = list(spec.command)
    container["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    runtime_class, dropped_env = _runtime_class(spec.runtime, notes)
    env: list[dict[str, Any]] = [
        {"name": k, "value": v} for k, v in spec.env.items() if k not in dropped_env
    ]
    for var in spec.env_passthrough:
        if var == "HF_TOKEN":
            ref = {"name": opts.hf_token_secret, "key": opts.hf_token_key, "optional": True}
        else:
            secret, _ = dns1123_label(var.lower().replace("_", "-"))
            ref = {"name": secret, "key": var, "optional": True}
            notes.append(f"{var} is read from the Secret {secret!r}, key {var!r}")
        env.append({"name": var, "valueFrom": {"secretKeyRef": ref}})
    if env:
        container["env"] = env

    gpu_count = opts.gpu_count if opts.gpu_count is not None else len(plan.accelerators)
    resource = labels_data["resources"].get(
        {"cuda": "nvidia", "rocm": "amd", "xpu": "intel"}.get(plan.platform, ""), None
    )
    if resource and gpu_count > 0:
        container["resources"] = {"limits": {resource: gpu_count}}
    elif plan.platform in ("cuda", "rocm", "xpu"):
        notes.append("no GPU count in the plan: set resources.limits by hand")

    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    shm = spec.shm_size or ("16g" if spec.ipc == "host" else None)
    if shm:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append(
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": k8s_quantity(shm)}}
        )
        if spec.ipc == "host":
            notes.append(
                "--ipc=host becomes a memory-backed /dev/shm of 16Gi (hostIPC is not used)"
            )
    model_done = False
    for i, m in enumerate(spec.mounts):
        if m.kind == "tmpfs":
            vol_name = f"tmp-{i}"
            volumes.append({"name": vol_name, "emptyDir": {"medium": "Memory"}})
        elif m.read_only and not model_done:
            vol_name = "model"
            model_done = True
            if opts.model_pvc:
                claim, note = dns1123_label(opts.model_pvc)
                if note:
                    notes.append(note)
                volumes.append(
                    {
                        "name": vol_name,
                        "persistentVolumeClaim": {"claimName": claim, "readOnly": True},
                    }
                )
            else:
                volumes.append(
                    {"name": vol_name, "hostPath": {"path": m.source, "type": "Directory"}}
                )
                notes.append(
                    f"the model comes from the hostPath {m.source!r} on each node; "
                    "use --model-pvc for a PersistentVolumeClaim"
                )
        else:
            vol_name = f"data-{i}"
            volumes.append(
                {"name": vol_name, "hostPath": {"path": m.source, "type": "DirectoryOrCreate"}}
            )
        entry: dict[str, Any] = {"name": vol_name, "mountPath": m.target}
        if m.read_only:
            entry["readOnly"] = True
        mounts.append(entry)
    if mounts:
        container["volumeMounts"] = mounts
    if spec.health_path:
        get = {"path": spec.health_path, "port": "http"}
        container["startupProbe"] = {
            "httpGet": get,
            "periodSeconds": 10,
            "failureThreshold": 180,
        }
        container["readinessProbe"] = {
            "httpGet": get,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }
        container["livenessProbe"] = {
            "httpGet": get,
            "periodSeconds": 30,
            "timeoutSeconds": 10,
            "failureThreshold": 5,
        }
    security: dict[str, Any] = {}
    if spec.cap_add:
        security["capabilities"] = {"add": list(spec.cap_add)}
    if spec.privileged:
        security["privileged"] = True
        notes.append("the plan asked for a privileged container; review before applying")
    if security:
        container["securityContext"] = security

    pod: dict[str, Any] = {"containers": [container]}
    if runtime_class:
        pod["runtimeClassName"] = runtime_class
    if spec.group_add:
        pod["securityContext"] = {"supplementalGroups": list(spec.group_add)}
    if volumes:
        pod["volumes"] = volumes
    if placement and placement.terms:
        pod["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [r.to_dict() for r in term]}
                        for term in placement.terms
                    ]
                }
            }
        }
    meta: dict[str, Any] = {"name": name, "labels": dict(app_labels)}
    if namespace:
        meta["namespace"] = namespace
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": dict(app_labels)}, "spec": pod},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": dict(meta),
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    docs = [deployment, service]
    header = "# Generated by hwdock\n"
    header += "".join(
        f"# {' '.join(r.split())}\n" for r in (placement.reasons if placement else [])
    )
    header += "".join(f"# note: {' '.join(n.split())}\n" for n in notes)
    return K8sResult(docs=docs, text=header + yamltext.dump_all(docs), name=name, notes=notes)
