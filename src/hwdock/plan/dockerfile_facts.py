"""The few Dockerfile facts the planner needs: stages, FROM values, ARG defaults, ENV, EXPOSE.

This is a thin adapter. The full BuildKit-faithful reader is `hwdock.dockerfile.analyze`
(the explain issue); until it is importable, `read_facts` uses the small reader below, which
understands what vLLM-shaped Dockerfiles need: line continuations, comments, heredoc bodies
(skipped), `ARG a=b c=d`, `ENV k=v` / `ENV k v`, `FROM [--platform=..] ref [AS name]`,
`EXPOSE`, and the expansions `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`.
Global ARGs are visible to FROM only; a stage sees an ARG once it redeclares it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


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
    """Facts of one Dockerfile; `build_args` override ARG defaults as `--build-arg` does."""
    return _read(text, path, build_args or {})


# --------------------------------------------------------------------------------------
# The small reader.


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction text) with continuations joined, heredocs skipped."""
    out: list[tuple[int, str]] = []
    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    i = 0
    buf = ""
    start = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment inside a continuation
        if not buf:
            start = i
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        heredocs = _HEREDOC.findall(buf)
        for _dash, _q, delim in heredocs:
            while i < len(lines) and lines[i].strip() != delim:
                i += 1
            i += 1
        out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


_EXPAND = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def expand(word: str, scope: dict[str, str | None]) -> str:
    """Expand `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}` (nested words too)."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        val = scope.get(name)
        is_set = name in scope and val is not None
        if op is None:
            return val or ""
        if op == ":-":
            return val if val else expand(arg or "", scope)
        if op == "-":
            return val if is_set else expand(arg or "", scope)
        if op == ":+":
            return expand(arg or "", scope) if val else ""
        return expand(arg or "", scope) if is_set else ""  # "+"

    return _EXPAND.sub(repl, word)


def _split_words(rest: str) -> list[str]:
    try:
        return shlex.split(rest, comments=False, posix=True)
    except ValueError:
        return rest.split()


def _pairs(rest: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for word in _split_words(rest):
        name, eq, value = word.partition("=")
        if not _NAME.match(name):
            continue
        out.append((name, value if eq else None))
    return out


def _read(text: str, path: str, build_args: dict[str, str]) -> DockerfileFacts:
    facts = DockerfileFacts(path=path)
    global_scope: dict[str, str | None] = {}
    stage: StageFacts | None = None
    scope: dict[str, str | None] = {}
    for line, instr in _logical_lines(text):
        keyword, _, rest = instr.partition(" ")
        kw = keyword.upper()
        rest = rest.strip()
        if kw == "ARG":
            for name, default in _pairs(rest):
                visible = global_scope if stage is None else scope
                exp_default = expand(default, visible) if default is not None else None
                if name in build_args:
                    value: str | None = build_args[name]
                elif exp_default is not None:
                    value = exp_default
                elif stage is not None and name in global_scope:
                    value = global_scope[name]  # redeclared global ARG takes its value
                else:
                    value = None
                fact = ArgFact(name=name, default=exp_default, value=value, line=line)
                if stage is None:
                    facts.global_args[name] = fact
                    global_scope[name] = value
                else:
                    stage.args[name] = fact
                    scope[name] = value
        elif kw == "FROM":
            words = [w for w in _split_words(rest) if not w.startswith("--")]
            if not words:
                continue
            raw = words[0]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            base = expand(raw, global_scope)
            stage = StageFacts(
                index=len(facts.stages), name=name, from_raw=raw, base=base, line=line
            )
            parent = facts.stage(base) if base else None
            scope = {}
            if parent is not None:  # FROM <stage> inherits its ENV
                stage.env.update(parent.env)
                scope.update(parent.env)
            facts.stages.append(stage)
        elif kw == "ENV" and stage is not None:
            pairs = _pairs(rest)
            if pairs and all(v is not None for _, v in pairs):
                for name, value in pairs:
                    val = expand(value or "", scope)
                    stage.env[name] = val
                    scope[name] = val
            else:  # legacy `ENV key value`
                name, _, value = rest.partition(" ")
                if _NAME.match(name):
                    val = expand(value.strip(), scope)
                    stage.env[name] = val
                    scope[name] = val
        elif kw == "EXPOSE" and stage is not None:
            stage.expose.extend(expand(w, scope) for w in _split_words(rest))
    return facts
