"""Dockerfiles read exactly as BuildKit reads them (pure: text in, data out).

`analyze(text, path, build_args, target, platform) -> BuildGraph` is the entry point; see
docs/architecture.md for its contract. Submodules: `parser` (BuildKit's parser), `shell`
(its word expander), `graph` (ARG scoping, stages, pruning), `imageref` (reference
normalisation), `features` (BuildKit-only features), `checks` (build checks), `args`
(known arch/parallelism ARGs), `recipes` (which Dockerfile of a tree builds an image).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hwdock.dockerfile.model import BuildGraph

__all__ = ["BuildGraph", "analyze"]


def analyze(*args: Any, **kwargs: Any) -> BuildGraph:
    """See `hwdock.dockerfile.graph.analyze`."""
    from hwdock.dockerfile.graph import analyze as _analyze

    return _analyze(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "BuildGraph":
        from hwdock.dockerfile.model import BuildGraph

        return BuildGraph
    raise AttributeError(name)
