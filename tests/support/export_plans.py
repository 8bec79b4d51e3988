"""Plans and host reports built by hand for the exporter and fleet tests.

Shapes follow what the plan helper produces (hwdock.plan.model); values are ours.
"""

from __future__ import annotations

from hwdock.findings import Finding
from hwdock.plan.model import Decision, ImageStep, Mount, Plan, RunSpec
from hwdock.probe.model import Accelerator, Cpu, Driver, HostReport


def rocm_plan(
    *,
    image: str = "vllm-rocm:gfx942-0.9",
    name: str | None = "vllm",
    model: str = "/models/llama",
    host: str | None = "mi300-a",
    base: bool = True,
) -> Plan:
    steps = []
    if base:
        steps.append(
            ImageStep(
                id="base",
                action="build",
                image="rocm/vllm-dev:base",
                reason="published base lacks gfx942",
                dockerfile="docker/Dockerfile.rocm_base",
                context=".",
                build_args={"PYTORCH_ROCM_ARCH": "gfx942"},
                skip_if_present=True,
            )
        )
    steps.append(
        ImageStep(
            id="app",
            action="build",
            image=image,
            reason="vLLM for gfx942 on the ROCm base",
            dockerfile="docker/Dockerfile.rocm",
            context=".",
            target="final",
            build_args={
                "BASE_IMAGE": "rocm/vllm-dev:base",
                "PYTORCH_ROCM_ARCH": "gfx942",
                "MAX_JOBS": "16",
            },
            secrets=["HF_TOKEN"],
            labels={"dev.hwdock.gfx": "gfx942"},
            depends_on=["base"] if base else [],
            needs_buildkit=True,
        )
    )
    return Plan(
        recipe="vllm",
        platform="rocm",
        route="build-base-and-app" if base else "build-app-on-published-base",
        host=host,
        accelerators=["0000:c1:00.0", "0000:c2:00.0"],
        decisions=[Decision("platform", "rocm", "AMD Instinct MI300X present", ["sysfs"])],
        steps=steps,
        run=RunSpec(
            image=image,
            name=name,
            devices=["/dev/kfd", "/dev/dri/renderD128", "/dev/dri/renderD136"],
            group_add=[44, 109],
            ipc=None,
            shm_size="16g",
            mounts=[
                Mount(source=model, target="/models/llama", read_only=True),
                Mount(source="/root/.cache/huggingface", target="/root/.cache/huggingface"),
            ],
            env={"VLLM_LOGGING_LEVEL": "INFO"},
            env_passthrough=["HF_TOKEN"],
            ports=[(8000, 8000)],
            command=["--model", "/models/llama", "--port", "8000"],
            health_path="/health",
        ),
        warnings=[Finding(code="x", message="y")],
    )


def cuda_plan(
    *,
    image: str = "vllm-cuda:sm90-0.9",
    gpus: str | None = "all",
    cdi: list[str] | None = None,
    host: str | None = "h100-a",
    arch: str = "9.0",
) -> Plan:
    return Plan(
        recipe="vllm",
        platform="cuda",
        route="build",
        host=host,
        accelerators=["0000:17:00.0"],
        steps=[
            ImageStep(
                id="app",
                action="build",
                image=image,
                reason="arch list narrowed",
                dockerfile="docker/Dockerfile",
                context=".",
                target="vllm-openai",
                build_args={"torch_cuda_arch_list": arch, "max_jobs": "8", "nvcc_threads": "2"},
                secrets=["HF_TOKEN"],
            )
        ],
        run=RunSpec(
            image=image,
            name="vllm",
            gpus=None if cdi else gpus,
            cdi_devices=list(cdi or []),
            ipc="host",
            mounts=[Mount(source="/srv/models/m", target="/model", read_only=True)],
            env_passthrough=["HF_TOKEN"],
            ports=[(8000, 8000)],
            command=["--model", "/model"],
            health_path="/health",
        ),
    )


def cpu_plan(*, image: str = "vllm-cpu:avx512-0.9", host: str | None = "cpu-a") -> Plan:
    return Plan(
        recipe="vllm",
        platform="cpu",
        route="build",
        host=host,
        steps=[
            ImageStep(
                id="app",
                action="build",
                image=image,
                reason="CPU image for AVX-512",
                dockerfile="docker/Dockerfile.cpu",
                context=".",
                target="vllm-openai",
                build_args={"VLLM_CPU_AVX512": "true"},
            )
        ],
        run=RunSpec(
            image=image, name="vllm", shm_size="4g", ports=[(8000, 8000)], health_path="/health"
        ),
    )


# ---- host reports -------------------------------------------------------------------------


def amd_host(
    name: str,
    gfx: str,
    device_id: str,
    *,
    count: int = 1,
    product: str = "AMD GPU",
    isa: str = "avx512",
) -> HostReport:
    accs = [
        Accelerator(
            vendor="amd",
            pci_address=f"0000:{0xC1 + i:02x}:00.0",
            vendor_id="0x1002",
            device_id=device_id,
            name=product,
            kernel_driver="amdgpu",
            gfx_target=gfx,
            render_node=f"/dev/dri/renderD{128 + 8 * i}",
            device_nodes=["/dev/kfd", f"/dev/dri/renderD{128 + 8 * i}"],
        )
        for i in range(count)
    ]
    return HostReport(
        hostname=name,
        accelerators=accs,
        drivers=[Driver(vendor="amd", version="6.8.5")],
        cpu=Cpu(architecture="x86_64", isa_level=isa, isa_flags=_flags(isa), logical_cores=64),
    )


def nvidia_host(
    name: str,
    cc: str,
    *,
    driver: str = "550.54.15",
    cuda: str = "12.4",
    count: int = 1,
    product: str = "NVIDIA GPU",
    device_id: str = "0x2330",
    arch: str = "x86_64",
    isa: str = "avx512",
) -> HostReport:
    accs = [
        Accelerator(
            vendor="nvidia",
            pci_address=f"0000:{0x17 + i:02x}:00.0",
            vendor_id="0x10de",
            device_id=device_id,
            name=product,
            kernel_driver="nvidia",
            compute_capability=cc,
            minor_number=i,
        )
        for i in range(count)
    ]
    return HostReport(
        hostname=name,
        accelerators=accs,
        drivers=[Driver(vendor="nvidia", version=driver, cuda_driver_version=cuda)],
        cpu=Cpu(
            architecture=arch,
            isa_level=isa if arch == "x86_64" else "neon",
            isa_flags=_flags(isa) if arch == "x86_64" else [],
        ),
    )


def cpu_host(name: str, *, isa: str = "avx512") -> HostReport:
    return HostReport(
        hostname=name,
        cpu=Cpu(architecture="x86_64", isa_level=isa, isa_flags=_flags(isa), logical_cores=32),
    )


def _flags(isa: str) -> list[str]:
    flags = ["sse4_2", "avx"]
    if isa in ("avx2", "avx512"):
        flags.append("avx2")
    if isa == "avx512":
        flags += ["avx512f", "avx512_bf16"]
    return flags
