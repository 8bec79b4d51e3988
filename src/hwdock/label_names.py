"""The names of the labels hwdock puts on the images it plans and builds: one namespace,
`dev.hwdock.*`, for the plan's labels (arch, platform, CPU ISA) and the engine's (plan hash,
hwdock version). Readers (plan's local-image look-up, verify) use these names too."""

from __future__ import annotations

NAMESPACE = "dev.hwdock."
ARCH = NAMESPACE + "arch"  # the arch list an image is built for / known to cover
PLATFORM = NAMESPACE + "platform"  # cuda | rocm | cpu | ...
CPU_ISA = NAMESPACE + "cpu-isa"  # the CPU ISA level a CPU image is built for
PLAN_HASH = NAMESPACE + "plan-hash"  # set by the engine (engine/labels.py)
VERSION = NAMESPACE + "version"  # set by the engine
