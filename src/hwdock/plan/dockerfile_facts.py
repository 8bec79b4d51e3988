"""The few Dockerfile facts the planner needs: stages, FROM values, ARG values, ENV, EXPOSE.

A thin adapter over `hwdock.dockerfile.analyze` (the BuildKit-faithful reader of the explain
issue): the planner asks simple questions ("which ARGs does this file declare, with which
values after --build-arg?", "which stage is last?") and this module answers them from the
`BuildGraph`, so the plan never re-implements Dockerfile semantics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class ArgFact:
    name: str
    default: str | None  # as written, expanded with what was visible at that point
    value: str | None  # after --build-arg
    line: int


@dataclass
class StageFacts:
    index: int
    name: str | None
    from_raw: str  # the FROM operand as written: "${BASE_IMAGE}"
    base: str  # resolved
    line: int
    base_kind: str = "image"  # "image" | "stage" | "scratch" | "invalid"
    args: dict[str, ArgFact] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    expose: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or str(self.index)


@dataclass
class DockerfileFacts:
    path: str
    global_args: dict[str, ArgFact] = field(default_factory=dict)
    stages: list[StageFacts] = field(default_factory=list)

    @property
    def last_stage(self) -> StageFacts | None:
        return self.stages[-1] if self.stages else None

    def stage(self, name: str) -> StageFacts | None:
        for st in self.stages:
            if st.name is not None and st.name.lower() == name.lower():
                return st
        return None

    def has_stage(self, name: str) -> bool:
        return self.stage(name) is not None

    def arg_names(self) -> set[str]:
        names = set(self.global_args)
        for st in self.stages:
            names.update(st.args)
        return names

    def find_arg(self, name: str) -> tuple[ArgFact, str] | None:
        """The first declaration of ARG `name` that has a value: in a stage, else global.

        Returns the fact and where it is ("global" or the stage label).
        """
        for st in self.stages:
            fact = st.args.get(name)
            if fact is not None and fact.value is not None:
                return fact, st.label
        if name in self.global_args:
            return self.global_args[name], "global"
        for st in self.stages:
            if name in st.args:
                return st.args[name], st.label
        return None

    def value_of(self, name: str) -> str | None:
        """ARG value (after --build-arg), else an ENV value of that name in any stage."""
        found = self.find_arg(name)
        if found is not None and found[0].value is not None:
            return found[0].value
        for st in self.stages:
            if name in st.env:
                return st.env[name]
        return None

    def stage_selector_args(self) -> dict[str, str]:
        """Global ARGs that pick a stage by name in a FROM (`FROM ${FINAL_STAGE} AS final`)."""
        names = {st.name for st in self.stages if st.name}
        out: dict[str, str] = {}
        for st in self.stages:
            for arg in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", st.from_raw):
                fact = self.global_args.get(arg)
                if fact is not None and fact.default in names:
                    out[arg] = fact.default or ""
        return out


def read_facts(
    text: str, path: str = "Dockerfile", build_args: dict[str, str] | None = None
) -> DockerfileFacts:
    """Facts of one Dockerfile; `build_args` override ARG defaults as `--build-arg` does.

    Raises `InputError` (file:line) for a Dockerfile BuildKit would refuse."""
    from hwdock.dockerfile import analyze
    from hwdock.dockerfile.parser import parse

    graph = analyze(text, path, dict(build_args or {}))
    facts = DockerfileFacts(path=path)
    facts.global_args = {n: _arg(v) for n, v in graph.global_args.items() if v.line is not None}
    for st in graph.stages:
        facts.stages.append(
            StageFacts(
                index=st.index,
                name=st.name,
                from_raw=st.base.raw,
                base=st.base.resolved,
                line=st.start_line,
                base_kind=st.base.kind,
                args={n: _arg(v) for n, v in st.args.items()},
                env=dict(st.env),
            )
        )
    _exposed(parse(text, path).children, graph, facts)
    return facts


def _unquote(text: str | None) -> str | None:
    if text and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _arg(v) -> ArgFact:  # v: hwdock.dockerfile.model.ArgValue
    default = v.value if v.source == "default" else _unquote(v.default)
    return ArgFact(name=v.name, default=default, value=v.value, line=v.line or 0)


def _exposed(nodes, graph, facts: DockerfileFacts) -> None:
    for node in nodes:
        if node.value.upper() != "EXPOSE":
            continue
        line = getattr(node, "start_line", 0)
        for st, fs in zip(graph.stages, facts.stages, strict=True):
            if st.start_line <= line <= st.end_line:
                arg = node.next
                while arg is not None:
                    if "$" not in arg.value:
                        fs.expose.append(arg.value)
                    arg = arg.next
