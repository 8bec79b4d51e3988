"""Hosts and plans built in code for doctor/verify tests (shapes of the recorded hosts)."""

from __future__ import annotations

from hwdock.plan.model import ImageStep, Plan, RunSpec
from hwdock.probe.model import (
    Accelerator,
    CdiSpec,
    ContainerSide,
    Cpu,
    DeviceAccess,
    Disk,
    Driver,
    Engine,
    HostReport,
)

GB = 10**9
GIB = 1024**3


def docker(**kw: object) -> Engine:
    base: dict = dict(
        name="docker",
        client_path="/usr/bin/docker",
        client_version="27.3.1",
        server_version="27.3.1",
        buildx_version="0.17.1",
        buildkit_usable=True,
        rootless=False,
        runtimes=["runc"],
        data_root="/var/lib/docker",
        cdi_enabled=False,
    )
    base.update(kw)
    return Engine(**base)


def access(
    path: str,
    *,
    ok: bool = True,
    exists: bool = True,
    gid: int = 109,
    group: str = "render",
    mode: str = "0660",
) -> DeviceAccess:
    return DeviceAccess(
        path=path,
        exists=exists,
        readable=ok and exists,
        writable=ok and exists,
        group=group if exists else None,
        gid=gid if exists else None,
        mode=mode if exists else None,
    )


def amd_gpu(
    pci: str,
    gfx: str,
    render: int,
    kfd_node: int,
    *,
    integrated: bool = False,
    name: str = "AMD GPU",
) -> Accelerator:
    return Accelerator(
        vendor="amd",
        pci_address=pci,
        name=name,
        kernel_driver="amdgpu",
        integrated=integrated,
        gfx_target=gfx,
        kfd_node=kfd_node,
        render_node=f"/dev/dri/renderD{render}",
        device_nodes=["/dev/kfd", f"/dev/dri/renderD{render}"],
    )


def rx7900_with_igpu(*, kfd_ok: bool = True) -> HostReport:
    """RX 7900 XTX (gfx1100) beside a Raphael iGPU (gfx1036) that KFD lists first."""
    igpu = amd_gpu("0000:12:00.0", "gfx1036", 129, 1, integrated=True, name="AMD Radeon Graphics")
    dgpu = amd_gpu("0000:03:00.0", "gfx1100", 128, 2, name="AMD Radeon RX 7900 XTX")
    return HostReport(
        hostname="desk",
        accelerators=[igpu, dgpu],
        drivers=[Driver(vendor="amd", version="6.8.5", flavor="dkms")],
        cpu=Cpu(
            architecture="x86_64",
            logical_cores=32,
            memory_total_bytes=64 * GIB,
            memory_available_bytes=48 * GIB,
            isa_level="avx512",
        ),
        disks=[Disk(path="/var/lib/docker", total_bytes=1000 * GB, free_bytes=400 * GB)],
        container=ContainerSide(engines=[docker()]),
        device_access=[
            access("/dev/kfd", ok=kfd_ok),
            access("/dev/dri/renderD128", ok=kfd_ok),
            access("/dev/dri/renderD129", ok=kfd_ok),
        ],
        user_groups=[1000, 44, 109] if kfd_ok else [1000],
    )


def h100x8(*, cuda_driver: str = "12.4", toolkit: bool = True, cdi: bool = False) -> HostReport:
    gpus = [
        Accelerator(
            vendor="nvidia",
            pci_address=f"0000:{0x18 + i:02x}:00.0",
            name="NVIDIA H100 80GB HBM3",
            kernel_driver="nvidia",
            compute_capability="9.0",
            minor_number=i,
        )
        for i in range(8)
    ]
    return HostReport(
        hostname="dgx",
        accelerators=gpus,
        drivers=[
            Driver(
                vendor="nvidia",
                version="550.54.15",
                flavor="proprietary",
                cuda_driver_version=cuda_driver,
            )
        ],
        cpu=Cpu(
            architecture="x86_64",
            logical_cores=224,
            memory_total_bytes=2000 * GIB,
            memory_available_bytes=1900 * GIB,
        ),
        disks=[Disk(path="/var/lib/docker", total_bytes=3000 * GB, free_bytes=2000 * GB)],
        container=ContainerSide(
            engines=[docker(runtimes=["runc", "nvidia"] if toolkit else ["runc"])],
            nvidia_ctk_version="1.16.2" if toolkit else None,
            nvidia_container_runtime="/usr/bin/nvidia-container-runtime" if toolkit else None,
            cdi_specs=[
                CdiSpec(
                    path="/etc/cdi/nvidia.yaml",
                    kind="nvidia.com/gpu",
                    devices=[f"nvidia.com/gpu={i}" for i in range(8)] + ["nvidia.com/gpu=all"],
                )
            ]
            if cdi
            else [],
        ),
        device_access=[
            access("/dev/nvidiactl", gid=0, group="root", mode="0666"),
            access("/dev/nvidia-uvm", gid=0, group="root", mode="0666"),
        ]
        + [access(f"/dev/nvidia{i}", gid=0, group="root", mode="0666") for i in range(8)],
    )


def rocm_plan(
    host: HostReport,
    keys: list[str],
    *,
    arch: str = "gfx1100",
    max_jobs: str = "8",
    run: RunSpec | None = None,
) -> Plan:
    renders = [a.render_node for a in host.accelerators if a.key in keys and a.render_node]
    return Plan(
        recipe="vllm",
        platform="rocm",
        route="build-app-on-published-base",
        host=host.hostname,
        accelerators=keys,
        steps=[
            ImageStep(
                id="base", action="pull", image="rocm/vllm-dev:base", reason="published base"
            ),
            ImageStep(
                id="app",
                action="build",
                image=f"vllm-rocm:{arch}",
                reason="app on the base",
                dockerfile="docker/Dockerfile.rocm",
                build_args={"PYTORCH_ROCM_ARCH": arch, "MAX_JOBS": max_jobs},
                needs_buildkit=True,
                depends_on=["base"],
            ),
        ],
        run=run
        or RunSpec(
            image=f"vllm-rocm:{arch}",
            devices=["/dev/kfd", *renders],
            group_add=[109, 44],
            ipc="host",
            command=["--model", "/models/m"],
        ),
    )


def cuda_plan(
    host: HostReport,
    *,
    cuda: str = "12.8.1",
    tp: int = 8,
    run: RunSpec | None = None,
    arch_list: str = "9.0",
) -> Plan:
    return Plan(
        recipe="vllm",
        platform="cuda",
        route="build-base-and-app",
        host=host.hostname,
        accelerators=[a.key for a in host.accelerators],
        steps=[
            ImageStep(
                id="app",
                action="build",
                image="vllm-cuda:sm90",
                reason="build",
                build_args={
                    "CUDA_VERSION": cuda,
                    "torch_cuda_arch_list": arch_list,
                    "max_jobs": "32",
                    "nvcc_threads": "2",
                },
                needs_buildkit=True,
            )
        ],
        run=run
        or RunSpec(
            image="vllm-cuda:sm90",
            gpus="all",
            ipc="host",
            command=["--tensor-parallel-size", str(tp)],
        ),
    )
