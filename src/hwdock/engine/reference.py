"""Image references: split into registry, repository, tag and digest; normalise.

Rules follow the distribution reference grammar: the first component is a registry host
when it contains "." or ":" or is "localhost"; otherwise the image lives on Docker's hub
(domain "docker.io"), where single-name images sit under "library/". Podman wants fully
qualified names, so `ubuntu` becomes `docker.io/library/ubuntu`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwdock.errors import InputError

DEFAULT_DOMAIN = "docker.io"


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str  # "library/ubuntu", "rocm/vllm-dev"
    tag: str | None
    digest: str | None

    @property
    def ref(self) -> str:
        """The manifest reference to ask a registry for: digest, else tag, else latest."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.domain}/{self.path}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> Reference:
    s = text.strip()
    if not s or any(c.isspace() for c in s):
        raise InputError(f"not an image reference: {text!r}")
    digest = None
    if "@" in s:
        s, digest = s.split("@", 1)
    first, _, rest = s.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, s
    tag = None
    last = remainder.rsplit("/", 1)[-1]
    if ":" in last:
        remainder, tag = remainder.rsplit(":", 1)
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = f"library/{remainder}"
    if not remainder or remainder != remainder.lower():
        raise InputError(f"not an image reference (repository must be lowercase): {text!r}")
    return Reference(domain, remainder, tag, digest)


def fully_qualified(text: str) -> str:
    """`ubuntu` -> `docker.io/library/ubuntu`; names with a registry are left as they are."""
    return str(parse_reference(text))


def is_local_registry(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.startswith("[") else domain
    return host in ("localhost", "127.0.0.1", "[::1]") or host.startswith("127.")
