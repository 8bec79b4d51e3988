"""Read build output line by line: which build step runs, which failed, and its last lines.

BuildKit's plain progress (`--progress=plain`) writes vertices as `#N [stage x/y] RUN ...`
followed by `#N <seconds> <output>` lines and `#N DONE 1.2s`, `#N CACHED` or `#N ERROR: ...`.
Podman (buildah) writes `STEP x/y: RUN ...` and the output bare. The legacy builder writes
`Step x/y : RUN ...`. All three are parsed into the same picture.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

_VERTEX = re.compile(r"^#(\d+) \[([^\]]*)\] (.*)$")
_VERTEX_LINE = re.compile(r"^#(\d+) (?:(\d+\.\d+) )?(.*)$")
_STEP_PODMAN = re.compile(r"^(?:STEP|Step) (\d+)/(\d+) ?: ?(.*)$")
_STAGE_POS = re.compile(r"(?:(\S+) )?(\d+)/(\d+)$")


@dataclass
class Vertex:
    id: str
    name: str  # "[stage-1 2/3] RUN make" as shown
    stage: str | None = None
    index: int | None = None
    total: int | None = None
    state: str = "running"  # running | done | cached | error
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=25))
    error: str | None = None


@dataclass
class Event:
    kind: str  # "vertex-start" | "vertex-done" | "vertex-error" | "output"
    vertex: Vertex | None
    text: str = ""


class ProgressParser:
    """Feed lines; get events; ask afterwards which vertex failed."""

    def __init__(self) -> None:
        self.vertices: dict[str, Vertex] = {}
        self.current: Vertex | None = None
        self.failed: Vertex | None = None
        self.tail: deque[str] = deque(maxlen=40)

    def feed(self, line: str) -> list[Event]:
        line = line.rstrip("\n")
        self.tail.append(line)
        m = _VERTEX.match(line)
        if m:
            vid, bracket, rest = m.groups()
            v = self.vertices.get(vid)
            if v is None:
                v = Vertex(vid, f"[{bracket}] {rest}")
                pos = _STAGE_POS.search(bracket)
                if pos:
                    v.stage = pos.group(1)
                    v.index, v.total = int(pos.group(2)), int(pos.group(3))
                self.vertices[vid] = v
                self.current = v
                return [Event("vertex-start", v)]
            return []
        m = _STEP_PODMAN.match(line)
        if m:
            v = Vertex(f"step{m.group(1)}", m.group(3), None, int(m.group(1)), int(m.group(2)))
            if self.current is not None and self.current.state == "running":
                self.current.state = "done"
            self.vertices[v.id] = v
            self.current = v
            return [Event("vertex-start", v)]
        m = _VERTEX_LINE.match(line)
        if m:
            vid, _secs, text = m.groups()
            v = self.vertices.get(vid)
            if v is None:
                v = self.vertices[vid] = Vertex(vid, text)
            if text.startswith("DONE"):
                v.state = "done"
                return [Event("vertex-done", v, text)]
            if text == "CACHED":
                v.state = "cached"
                return [Event("vertex-done", v, text)]
            if text.startswith("ERROR"):
                v.state = "error"
                v.error = text.partition(":")[2].strip() or text
                if self.failed is None or self.failed.index is None:
                    self.failed = v
                return [Event("vertex-error", v, text)]
            if not text.startswith("sha256:"):
                v.tail.append(text)
            return [Event("output", v, text)]
        if self.current is not None and not line.startswith("#"):
            self.current.tail.append(line)
        return [Event("output", self.current, line)]

    def failing_step(self) -> Vertex | None:
        if self.failed is not None:
            return self.failed
        if self.current is not None and self.current.state == "running":
            return self.current  # podman/legacy: the last step started is the one that failed
        return None
