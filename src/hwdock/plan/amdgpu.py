"""The amdgpu kernel driver against the image's ROCm: pure look-ups in rocm.toml.

`rocm_driver_compat(driver_version, image_rocm)` says whether the host's amdgpu driver (the
DKMS version it reports) suits the ROCm user space in the image, by AMD's rule that a kernel
driver works with user space up to two releases either side of its own, and names what AMD
tested. Used by the plan's verdicts and by doctor's driver check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hwdock.knowledge import load

Verdict = Literal["ok", "driver-too-old", "driver-too-new", "unknown"]
IMAGE_ROCM = "image ROCm "  # evidence prefix of the plan's rocm-driver-* verdicts (doctor reads it)


def image_rocm_from_verdicts(evidence: list[str]) -> str | None:
    """The image's ROCm version a plan's rocm-driver-* verdict recorded, if any."""
    for e in evidence:
        if e.startswith(IMAGE_ROCM):
            return e[len(IMAGE_ROCM) :].split(":", 1)[0].strip() or None
    return None


@dataclass
class DriverCompat:
    verdict: Verdict
    message: str
    kmd_rocm: str | None = None  # the ROCm release the driver shipped with
    fix: str | None = None
    sources: list[str] = field(default_factory=list)


def _mm(version: str) -> str | None:
    parts = version.strip().split(".")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return f"{int(parts[0])}.{int(parts[1])}"


def kmd_release(driver_version: str | None) -> tuple[str, str] | None:
    """(ROCm release, source) of the DKMS amdgpu driver reporting `driver_version`."""
    if not driver_version:
        return None
    want = driver_version.strip().split("-")[0]
    for row in load("rocm").get("amdgpu_dkms", []):
        if row["version"] == want:
            return row["rocm"], row["source"]
    return None


def rocm_driver_compat(driver_version: str | None, image_rocm: str | None) -> DriverCompat:
    doc = load("rocm")
    window = doc["kmd_window"]
    if not driver_version:
        return DriverCompat(
            "unknown",
            "the amdgpu driver is the kernel's own (no DKMS version): which ROCm releases it "
            "suits cannot be known from it; AMD supports ROCm on its DKMS amdgpu driver",
            fix="if the GPU is not found in the container, install AMD's amdgpu-dkms driver "
            "of the image's ROCm release (amdgpu-install --usecase=dkms)",
            sources=[window["source"]],
        )
    kmd = kmd_release(driver_version)
    if kmd is None:
        return DriverCompat(
            "unknown",
            f"amdgpu {driver_version} is not in hwdock's driver table (rocm.toml): its ROCm "
            "release is unknown",
        )
    kmd_rocm, kmd_source = kmd
    user = _mm(image_rocm or "")
    releases: list[str] = list(window["releases"])
    if user is None or user not in releases or kmd_rocm not in releases:
        return DriverCompat(
            "unknown",
            f"amdgpu {driver_version} is the driver of ROCm {kmd_rocm}; the image's ROCm "
            f"{'is unknown' if user is None else user + ' is not in the release list'}",
            kmd_rocm,
            sources=[kmd_source],
        )
    distance = releases.index(user) - releases.index(kmd_rocm)
    span = int(window["distance"])
    tested = next(
        (r for r in doc.get("kmd_tested", []) if r["kmd"] == kmd_rocm and user in r["user_space"]),
        None,
    )
    sources = [kmd_source, tested["source"] if tested else window["source"]]
    lo = releases[max(0, releases.index(kmd_rocm) - span)]
    hi = releases[min(len(releases) - 1, releases.index(kmd_rocm) + span)]
    head = f"amdgpu {driver_version} is the driver of ROCm {kmd_rocm}"
    if abs(distance) <= span:
        how = "tested by AMD" if tested else f"within AMD's ±{span} releases rule"
        return DriverCompat(
            "ok", f"{head}; the image's ROCm {user} suits it ({how})", kmd_rocm, None, sources
        )
    if distance > 0:
        return DriverCompat(
            "driver-too-old",
            f"{head}, which AMD supports with ROCm {lo} to {hi}; the image has ROCm {user}. "
            "Unsupported: it may fail with 'No HIP GPUs are available' or HSA errors",
            kmd_rocm,
            f"update the host's amdgpu driver to the one of ROCm {user} (amdgpu-install "
            f"--usecase=dkms from ROCm {user}'s installer), or use an image with ROCm <= {hi}",
            sources,
        )
    return DriverCompat(
        "driver-too-new",
        f"{head}, which AMD supports with ROCm {lo} to {hi}; the image's ROCm {user} is "
        "older than that (unsupported)",
        kmd_rocm,
        f"use an image with ROCm >= {lo}, or a host driver of ROCm {user}'s era",
        sources,
    )
