"""Platform strings (`linux/amd64`, `linux/arm64/v8`) as BuildKit's platform ARGs show them."""

from __future__ import annotations

import re

from hwdock.dockerfile.record import FrozenRecord

__all__ = ["Platform", "host_platform", "parse_platform"]

_ARCH_ALIASES = {
    "x86_64": ("amd64", ""),
    "x86-64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "386": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
}
_OSES = ("linux", "windows", "darwin", "freebsd")


class Platform(FrozenRecord):
    _fields = ("os", "arch", "variant")
    os: str
    arch: str
    variant: str
    text: str  # "os/arch[/variant]", what str() gives

    def __init__(self, os: str, arch: str, variant: str = "") -> None:
        self._set("os", os)
        self._set("arch", arch)
        self._set("variant", variant)
        if os and arch:
            text = f"{os}/{arch}/{variant}" if variant else f"{os}/{arch}"
        else:
            text = "/".join(p for p in (os, arch, variant) if p)
        self._set("text", text)  # made once: analyze() prints two platforms per file

    def __str__(self) -> str:
        return self.text


_COMPONENT = re.compile(r"[a-z0-9_.-]+(\([a-z0-9_.-]*\))?")


def parse_platform(text: str) -> Platform:
    """`linux/amd64`, `linux/arm64/v8`, `amd64` (OS linux) → Platform; raises ValueError."""
    parts = text.strip().lower().split("/")
    if not parts or not parts[0] or len(parts) > 3:
        raise ValueError(f"invalid platform {text!r}: expected os/arch[/variant]")
    for part in parts:
        # containerd's platform parser takes only these characters in a component (and an
        # OS version in parentheses): github.com/containerd/platforms, parse.go specifierRe
        if part and not _COMPONENT.fullmatch(part):
            raise ValueError(
                f"invalid platform {text!r}: {part!r} is not a valid component "
                "(letters, digits, '_', '.', '-')"
            )
    if len(parts) == 1:
        if parts[0] in _OSES:
            return Platform(parts[0], _ARCH_ALIASES.get("x86_64", ("amd64", ""))[0])
        os_, arch, variant = "linux", parts[0], ""
    else:
        os_, arch = parts[0], parts[1]
        variant = parts[2] if len(parts) == 3 else ""
    if not arch:
        raise ValueError(f"invalid platform {text!r}: empty architecture")
    arch, default_variant = _ARCH_ALIASES.get(arch, (arch, ""))
    variant = variant or default_variant
    if arch == "arm64" and variant == "v8":
        variant = ""
    return Platform(os_, arch, variant)


_HOSTS: dict[tuple[str, str], Platform] = {}


def host_platform(machine: str, os_name: str = "linux") -> Platform:
    """The platform of a host whose `uname -m` is `machine` (immutable, so kept per machine)."""
    p = _HOSTS.get((machine, os_name))
    if p is None:
        arch, variant = _ARCH_ALIASES.get(machine.lower(), (machine.lower(), ""))
        p = _HOSTS[(machine, os_name)] = Platform(os_name, arch, variant)
    return p
