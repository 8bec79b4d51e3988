"""Image references normalised as Docker does (`ubuntu` → `docker.io/library/ubuntu:latest`).

Rules of the reference format (distribution's `reference` grammar, as BuildKit applies it to
`FROM`): the first path component is a registry host when it contains `.` or `:`, is
`localhost`, or has upper-case letters; otherwise the image lives on the default registry
`docker.io`, where one-component names get the `library/` namespace. The repository must be
lower case; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a digest is `algorithm:hex`. A
reference with neither tag nor digest gets `:latest`.
"""

from __future__ import annotations

import re

from hwdock.dockerfile.lazyre import LazyRegex
from hwdock.dockerfile.record import FrozenRecord

__all__ = ["ImageRef", "InvalidReference", "normalize_image_ref", "parse_image_ref"]

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DOMAIN = "index.docker.io"
_OFFICIAL = "library/"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^((?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::({_TAG}))?(?:@({_DIGEST}))?\Z",
    re.ASCII,
)
_HEX64 = re.compile(r"^[a-f0-9]{64}\Z")
NAME_TOTAL_MAX = 255


class InvalidReference(ValueError):
    """Not a valid image reference; the message says why."""


class ImageRef(FrozenRecord):
    _fields = ("domain", "path", "tag", "digest")
    domain: str
    path: str  # repository path without the domain, e.g. "library/ubuntu"
    tag: str | None
    digest: str | None

    def __init__(self, domain: str, path: str, tag: str | None, digest: str | None) -> None:
        init = object.__setattr__  # one per base image: a frozen record without `_set` calls
        init(self, "domain", domain)
        init(self, "path", path)
        init(self, "tag", tag)
        init(self, "digest", digest)

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def normalized(self) -> str:
        """The full reference, `:latest` added when there is neither tag nor digest."""
        out = self.name
        tag = self.tag if self.tag is not None or self.digest is not None else "latest"
        if tag is not None:
            out += ":" + tag
        if self.digest is not None:
            out += "@" + self.digest
        return out

    @property
    def familiar(self) -> str:
        """The short form Docker prints (`ubuntu:latest`, `rocm/vllm-dev:base`)."""
        name = self.name
        if self.domain == DEFAULT_DOMAIN:
            name = self.path[len(_OFFICIAL) :] if self.path.startswith(_OFFICIAL) else self.path
        tag = self.tag if self.tag is not None or self.digest is not None else "latest"
        out = name + (":" + tag if tag else "")
        return out + ("@" + self.digest if self.digest else "")


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i == -1 or (
        "." not in first and ":" not in first and first != "localhost" and first.lower() == first
    ):
        domain, rest = DEFAULT_DOMAIN, name
    else:
        domain, rest = first, name[i + 1 :]
    if domain == _LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in rest:
        rest = _OFFICIAL + rest
    return domain, rest


def parse_image_ref(ref: str) -> ImageRef:
    """Parse and normalise `ref` as `docker build` does for FROM; raises InvalidReference."""
    if not ref:
        raise InvalidReference("invalid reference format: empty")
    if len(ref) == 64 and _HEX64.match(ref):
        raise InvalidReference(
            f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings"
        )
    domain, rest = _split_domain(ref)
    repo = rest.partition(":")[0].partition("@")[0]  # up to the tag or digest
    if not repo.islower() and repo.lower() != repo:
        raise InvalidReference(
            f"invalid reference format: repository name ({rest}) must be lowercase"
        )
    m = _REFERENCE.match(domain + "/" + rest)
    if m is None:
        raise InvalidReference(f"invalid reference format: {ref!r}")
    name, tag, digest = m.groups()
    if len(name) > NAME_TOTAL_MAX:
        raise InvalidReference(f"repository name must not be more than {NAME_TOTAL_MAX} characters")
    return ImageRef(domain, name[len(domain) + 1 :], tag, digest)


# The common shapes on the default registry: `name[:tag]` or `namespace/name[:tag]`, lower
# case, components with single separators; anything else goes through `parse_image_ref`.
_PLAIN_REF = LazyRegex(
    r"([a-z0-9]+(?:[._-][a-z0-9]+)*)(?:/([a-z0-9]+(?:[._-][a-z0-9]+)*))?"
    r"(?::([\w][\w.-]{0,127}))?\Z",
    re.ASCII,
)


def normalize_image_ref(ref: str) -> tuple[str, str]:
    """`(normalized, familiar)` of `ref`, as `parse_image_ref(ref)` gives them; raises
    InvalidReference."""
    m = _PLAIN_REF.match(ref) if len(ref) != 64 else None  # 64 hex digits are refused: slow path
    if m is not None:
        first, second, tag = m.groups()
        if second is None:
            path = _OFFICIAL + first
        elif "." not in first and first != "localhost":  # else `first` is a registry host
            path = first + "/" + second
        else:
            path = ""
        if path and len(DEFAULT_DOMAIN) + 1 + len(path) <= NAME_TOTAL_MAX:
            tag = ":" + (tag if tag is not None else "latest")
            short = path[len(_OFFICIAL) :] if path.startswith(_OFFICIAL) else path
            return DEFAULT_DOMAIN + "/" + path + tag, short + tag
    r = parse_image_ref(ref)
    return r.normalized, r.familiar
