"""ARG scoping, stage graph and `--target` pruning, as BuildKit's dockerfile2llb does them.

`analyze()` is pure: text in, `BuildGraph` out. The engine look-up (`image_exists`) and the
"built by another Dockerfile" map (`base_recipes`) are passed in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

from hwdock.dockerfile import args as known
from hwdock.dockerfile.checks import finding, is_secret_name
from hwdock.dockerfile.features import (
    FEATURES,
    features_of,
    mount_feature,
    mount_fields,
    split_flag,
)
from hwdock.dockerfile.imageref import InvalidReference, normalize_image_ref, parse_image_ref
from hwdock.dockerfile.model import (
    ArchArg,
    ArgValue,
    BaseImage,
    BuildGraph,
    Dependency,
    DockerfileFinding,
    ExternalImage,
    Feature,
    Provenance,
    Stage,
    Toolkit,
)
from hwdock.dockerfile.parser import Node, parse
from hwdock.dockerfile.platforms import Platform, host_platform, parse_platform
from hwdock.dockerfile.shell import Lex, ShellError, WordResult
from hwdock.errors import InputError, UsageError

__all__ = ["analyze"]

INSTRUCTIONS = frozenset(
    (
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    )
)
# a stage name is `[a-z][a-z0-9\-_.]*` (tested with str methods: cheaper than a regex match)
_STAGE_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_."
_BUILTIN_NAMES = (
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
)
# Variables a RUN shell or BuildKit itself provides; never "undefined".
_PROXY_ARGS = frozenset(
    (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "FTP_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "ftp_proxy",
        "no_proxy",
        "all_proxy",
    )
)


_BUILTIN_KEYS = frozenset(_BUILTIN_NAMES)
# (target os, arch, variant, build os, arch, variant) -> the platform ARGs' values
_PLATFORM_ARGS: dict[tuple[str, ...], dict[str, str]] = {}


def _builtins(
    target_p: Platform,
    build_p: Platform,
    target_name: str,
    overrides: Mapping[str, str],
    target_s: str,
    build_s: str,
) -> dict[str, str]:
    key = (target_p.os, target_p.arch, target_p.variant, build_p.os, build_p.arch, build_p.variant)
    template = _PLATFORM_ARGS.get(key)
    if template is None:  # the values depend on the two platforms only: made once per pair
        template = _PLATFORM_ARGS[key] = {
            "BUILDPLATFORM": build_s,
            "BUILDOS": build_p.os,
            "BUILDOSVERSION": "",
            "BUILDARCH": build_p.arch,
            "BUILDVARIANT": build_p.variant,
            "TARGETPLATFORM": target_s,
            "TARGETOS": target_p.os,
            "TARGETOSVERSION": "",
            "TARGETARCH": target_p.arch,
            "TARGETVARIANT": target_p.variant,
            "TARGETSTAGE": "",
        }
    vals = template.copy()
    vals["TARGETSTAGE"] = target_name or "default"
    if overrides:
        for k in _BUILTIN_NAMES:
            if k in overrides:
                vals[k] = overrides[k]
    return vals


_NO_VARS: frozenset[str] = frozenset()  # shared: callers never add to a result's sets
_LEXERS = {tok: Lex(tok) for tok in ("\\", "`")}  # a Lex is configuration only


class _Ctx:
    __slots__ = ("escape", "findings", "forward", "lex", "path")

    def __init__(self, path: str, escape: str) -> None:
        self.path = path
        self.lex = _LEXERS.get(escape) or Lex(escape)
        self.escape = escape
        self.findings: list[DockerfileFinding] = []
        self.forward = False  # a COPY/RUN --mount refers to its own or a later stage

    def expand(self, word: str, env: Mapping[str, str], line: int, *, fatal: bool = True):
        if not _may_expand(word, self.escape):
            return WordResult(word, [], _NO_VARS, _NO_VARS)  # nothing to expand or unquote
        try:
            return self.lex.process_word(word, env)
        except ShellError as err:
            if fatal:
                raise InputError(str(err), path=self.path, line=line) from None
            self.findings.append(finding("ExpansionError", str(err), line))
            return None


def _split_kv(word: str) -> tuple[str, str | None]:
    key, eq, value = word.partition("=")
    return key, (value if eq else None)


# instructions with nothing to check once a stage has begun
_UNCHECKED = INSTRUCTIONS - {"arg", "env", "from", "label", "onbuild"}


def _check_instructions(nodes: list[Node], path: str) -> tuple[list[int], bool]:
    """BuildKit's instruction errors, in file order. Gives the positions of the FROM
    instructions and whether there is an ONBUILD."""
    froms: list[int] = []
    onbuild = False
    unchecked = _UNCHECKED
    for i, n in enumerate(nodes):
        cmd = n.keyword
        if froms and cmd in unchecked:
            continue
        if cmd not in INSTRUCTIONS:
            import difflib

            close = difflib.get_close_matches(cmd, sorted(INSTRUCTIONS), n=1)
            hint = f"did you mean {close[0].upper()}?" if close else None
            raise InputError(
                f"unknown instruction: {n.value[:40]!s}",
                path=path,
                line=n.start_line,
                hint=hint,
            )
        if cmd == "from":
            froms.append(i)
            continue
        if not froms and cmd != "arg":
            raise InputError(
                f"no build stage in current context: {n.value.upper()} before the first FROM",
                path=path,
                line=n.start_line,
                hint="only ARG may come before the first FROM",
            )
        if cmd == "onbuild":
            onbuild = True
            child = n.next.children[0] if n.next is not None and n.next.children else None
            if child is None:
                raise InputError("ONBUILD requires an instruction", path=path, line=n.start_line)
            c = child.keyword
            if c in ("onbuild", "from", "maintainer"):
                raise InputError(
                    f"{c.upper()} isn't allowed as an ONBUILD trigger",
                    path=path,
                    line=n.start_line,
                )
            if c not in INSTRUCTIONS:
                raise InputError(
                    f"unknown instruction: {child.value[:40]}", path=path, line=n.start_line
                )
        elif cmd in ("env", "label", "arg") and not n.has_next:
            raise InputError(
                f"{cmd.upper()} requires at least one argument", path=path, line=n.start_line
            )
    if not froms:
        raise InputError(
            "no FROM instruction: the file defines no build stage",
            path=path,
            line=nodes[-1].start_line if nodes else None,
        )
    return froms, onbuild


def _from_syntax(
    stage_nodes: list[tuple[Node, list[Node]]],
    path: str,
    findings: list[DockerfileFinding],
    checks: bool = True,
) -> tuple[list[tuple[str, str | None, str | None]], dict[str, int]]:
    """Each FROM's (base, stage name, --platform), and the stage names' indices; with
    `checks`, the casing and duplicate-name findings."""
    parsed_from: list[tuple[str, str | None, str | None]] = []  # base, name, platform
    names: dict[str, int] = {}
    for i, (fn, _) in enumerate(stage_nodes):
        a = fn._words if fn._words is not None else fn.args  # read only: no copy
        if len(a) == 1 and not fn.flags:
            parsed_from.append((a[0], None, None))  # `FROM image`
            continue
        if len(a) not in (1, 3) or (len(a) == 3 and a[1].lower() != "as"):
            raise InputError(
                "FROM requires either one or three arguments (FROM image [AS name])",
                path=path,
                line=fn.start_line,
            )
        name = None
        if len(a) == 3:
            as_word = a[1]
            if checks and (
                (fn.value.isupper() and as_word.islower())
                or (fn.value.islower() and as_word.isupper())
            ):
                findings.append(
                    finding(
                        "FromAsCasing",
                        f"'{as_word}' and '{fn.value}' keywords' casing do not match",
                        fn.start_line,
                    )
                )
            name = a[2].lower()
            if checks and a[2] != name:
                findings.append(
                    finding(
                        "StageNameCasing", f"Stage name '{a[2]}' should be lowercase", fn.start_line
                    )
                )
            if not ("a" <= name[:1] <= "z" and not name.strip(_STAGE_NAME_CHARS)):
                raise InputError(
                    f"invalid name for build stage: {a[2]!r}, name can't start with a number "
                    "or contain symbols",
                    path=path,
                    line=fn.start_line,
                )
            if name not in names:
                names[name] = i
            elif checks:
                findings.append(
                    finding(
                        "DuplicateStageName",
                        f"Duplicate stage name {name!r}, stage names should be unique",
                        fn.start_line,
                    )
                )
        plat = None
        for flag in fn.flags:
            fname, fval = split_flag(flag)
            if fname == "platform":
                plat = fval or ""
            else:
                raise InputError(f"unknown flag: --{fname} on FROM", path=path, line=fn.start_line)
        parsed_from.append((a[0], name, plat))
    return parsed_from, names


def _meta_args(
    meta_nodes: list[Node],
    builtins: Mapping[str, str],
    overrides: Mapping[str, str],
    ctx: _Ctx,
) -> tuple[dict[str, str], dict[str, ArgValue]]:
    """The global ARGs (before the first FROM): their values, and the table of where each
    came from. `overrides` are the build args."""
    table: dict[str, ArgValue] = {}
    if not meta_nodes:
        return dict(builtins), table
    env = dict(builtins)
    esc = ctx.escape
    for n in meta_nodes:
        if n.keyword != "arg":
            continue
        line = n.start_line
        for word in n._words if n._words is not None else n.args:  # read only: no copy
            key, eq, default = word.partition("=")
            if not key:
                raise InputError("ARG names can not be blank", path=ctx.path, line=line)
            if key in overrides:
                val: str | None = overrides[key]
                av = ArgValue(key, val, "build-arg", line, default if eq else None)
            elif eq:
                if "$" in default or "'" in default or '"' in default or esc in default:
                    res = ctx.expand(default, env, line)
                    val = res.result
                    deps = sorted(res.matched - {key}) if res.matched else []
                else:
                    val, deps = default, []
                av = ArgValue(key, val, "default", line, default, deps)
            else:
                val = None
                av = ArgValue(key, None, "unset", line, None)
            if val is not None:
                env[key] = val
            table[key] = av
    return env, table


def analyze(
    text: str | bytes,
    path: str = "Dockerfile",
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    platform: str | None = None,
    *,
    build_platform: str | None = None,
    host_machine: str = "x86_64",
    image_exists: Callable[[str], bool] | None = None,
    base_recipes: Mapping[str, tuple[str, str]] | None = None,
    checks: bool = True,
) -> BuildGraph:
    """Read a Dockerfile exactly as BuildKit would build it. See docs/architecture.md.

    `checks=False` resolves only: stages, base images (expanded and normalised), per-stage
    ARG/ENV/LABEL values, stage dependencies and `--target` pruning, with the same errors;
    `findings`, `features`, `arch_args`, `toolkits` and `images` then come back empty.
    """
    build_args = dict(build_args) if build_args else {}
    result = parse(text, path)
    nodes = result.children
    froms, has_onbuild = _check_instructions(nodes, path)
    ctx = _Ctx(path, result.escape_token)
    findings = ctx.findings
    for w in result.warnings:
        findings.append(finding("NoEmptyContinuation", w.message, w.line))

    try:
        build_p = parse_platform(build_platform) if build_platform else host_platform(host_machine)
        target_p = parse_platform(platform) if platform else build_p
    except ValueError as err:
        raise UsageError(str(err), hint="use os/arch[/variant], e.g. linux/amd64") from None

    # global ARGs, then one (FROM, body) per stage
    meta_nodes = nodes[: froms[0]]
    stage_nodes: list[tuple[Node, list[Node]]] = []
    for i, f in enumerate(froms):
        stage_nodes.append((nodes[f], nodes[f + 1 : froms[i + 1] if i + 1 < len(froms) else None]))
    n_stages = len(stage_nodes)
    parsed_from, names = _from_syntax(stage_nodes, path, findings, checks)

    if target:
        t_low = target.lower()
        if t_low not in names:
            import difflib

            close = difflib.get_close_matches(t_low, list(names), n=1)
            raise UsageError(
                f"target stage {target!r} could not be found in {path}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"stages: {', '.join(names) or '(none named)'}",
            )
        target_idx = names[t_low]
    else:
        target_idx = n_stages - 1
    target_name = parsed_from[target_idx][1] or ""
    if not target:
        target_name = parsed_from[-1][1] or ""

    target_s, build_s = target_p.text, build_p.text
    builtins = _builtins(target_p, build_p, target_name, build_args, target_s, build_s)

    global_env, global_args = _meta_args(meta_nodes, builtins, build_args, ctx)

    features: list[Feature] = []
    arch_args: list[ArchArg] = []
    toolkits: list[Toolkit] = []
    if checks:
        _secret_global_args(ctx, meta_nodes)
        _invalid_default_args(
            ctx,
            meta_nodes,
            stage_nodes,
            parsed_from,
            names,
            builtins,
            build_args,
            global_args,
            global_env,
        )
        if "syntax" in result.directives:
            value, line = result.directives["syntax"]
            features.append(Feature("syntax-directive", line, f"# syntax={value}", None))
        for key, av in global_args.items():
            _note_known(key, av.value, av.source, av.line, None, False, arch_args, toolkits)

    # stages
    stages: list[Stage] = []
    used_build_args: set[str] = set()
    familiar: dict[str, str] = {}  # normalized -> familiar, for the external images
    esc = ctx.escape
    for i, (fn, body) in enumerate(stage_nodes):
        base_raw, name, plat_raw = parsed_from[i]
        line = fn.start_line
        end = body[-1].end_line if body else fn.end_line
        if "$" in base_raw or "'" in base_raw or '"' in base_raw or esc in base_raw:
            res = ctx.expand(base_raw, global_env, line)
            resolved, matched, unmatched = res.result, res.matched, res.unmatched
        else:
            resolved, matched, unmatched = base_raw, _NO_VARS, _NO_VARS  # nothing to expand
        if matched:
            if build_args:
                used_build_args.update(k for k in matched if k in build_args)
            prov = [_provenance(v, global_args, builtins, build_args) for v in sorted(matched)]
        else:
            prov = []
        if checks and unmatched:
            for var in sorted(unmatched):
                if var not in global_args and var not in _BUILTIN_KEYS:
                    findings.append(
                        finding(
                            "UndefinedArgInFrom",
                            f"FROM argument '{var}' is not declared",
                            line,
                            fix=f"add `ARG {var}=<default>` before the first FROM",
                        )
                    )
        base = BaseImage(base_raw, resolved, "image", None, None, None, prov)
        if plat_raw is not None:
            base.platform_raw = plat_raw
            pr = ctx.expand(plat_raw, global_env, line, fatal=False)
            if pr is not None:
                try:
                    base.platform = str(parse_platform(pr.result))
                except ValueError as err:
                    findings.append(finding("InvalidPlatform", str(err), line))
        parent: Stage | None = None
        low = resolved.lower()
        if resolved == "":
            base.kind = "invalid"
            findings.append(
                finding(
                    "EmptyBaseImage",
                    f"base name ({base_raw}) should not be blank",
                    line,
                    fix=_from_fix(matched | unmatched, global_args),
                )
            )
        elif low in names and names[low] < i:
            base.kind = "stage"
            base.stage = names[low]
            parent = stages[names[low]]
        elif low == "scratch":
            base.kind = "scratch"
        else:
            try:
                if checks:
                    ref = parse_image_ref(resolved)
                    base.normalized, base.familiar = ref.normalized, ref.familiar
                    familiar[base.normalized] = base.familiar
                    tk = known.toolkit_from_image(ref, line)
                    if tk is not None:
                        toolkits.append(tk)
                else:
                    base.normalized, base.familiar = normalize_image_ref(resolved)
                    familiar[base.normalized] = base.familiar
            except InvalidReference as err:
                base.kind = "invalid"
                findings.append(
                    finding(
                        "InvalidBaseImage",
                        f"{err} (FROM {base_raw} resolves to {resolved!r})",
                        line,
                        fix=_from_fix(matched, global_args),
                    )
                )
        kind = base.kind
        if parent is not None:
            st = Stage(
                i,
                name,
                base,
                line,
                end,
                dict(parent.args),
                dict(parent.env),
                dict(parent.config_env),
                dict(parent.labels),
                [Dependency("from", base_raw, line, base.stage)],
                True,
                parent.inherits_unknown_env,
            )
        else:
            dep = (
                Dependency("from", base_raw, line, None, base.normalized)
                if kind == "image"
                else Dependency("from", base_raw, line)
            )
            st = Stage(i, name, base, line, end, {}, {}, {}, {}, [dep], True, kind == "image")
        if checks and fn.flags:
            features.extend(features_of(fn, i))
        if parent is not None and has_onbuild:
            # the parent's ONBUILD triggers run first in this stage (not further down)
            triggers: list[Node] = []
            for pn in stage_nodes[parent.index][1]:
                if pn.keyword == "onbuild" and pn.next is not None and pn.next.children:
                    child = pn.next.children[0]
                    child.start_line = child.end_line = pn.start_line
                    triggers.append(child)
            if triggers:
                body = triggers + body
        if checks:
            _dispatch_stage(
                ctx,
                st,
                body,
                global_env,
                build_args,
                names,
                n_stages,
                features,
                arch_args,
                toolkits,
                used_build_args,
            )
        else:
            _resolve_body(ctx, st, body, global_env, build_args, names, n_stages, used_build_args)
        stages.append(st)

    if ctx.forward:
        _check_cycles(stages, path)
    # one stage is all there is to use (an edge to itself was refused as a cycle)
    used = _reachable(stages, target_idx) if n_stages > 1 else {0}
    for s in stages:
        s.used = s.index in used
    if arch_args:
        arch_args = [a for a in arch_args if a.stage is None or a.stage in used]

    if checks:
        from hwdock.dockerfile.lint import extra_checks

        findings += extra_checks(stage_nodes, parsed_from, [s.base.stage for s in stages])
        images = _external_images(stages, image_exists, base_recipes, familiar)
    else:
        images = []
        findings.clear()
    unused = (
        sorted(
            k
            for k in build_args
            if k not in used_build_args and k not in _BUILTIN_KEYS and k not in _PROXY_ARGS
        )
        if build_args
        else []
    )
    uniq_tk: list[Toolkit] = []
    if toolkits:
        seen_tk: set[tuple[str, str, str]] = set()
        for t in toolkits:
            key = (t.toolkit, t.version, t.evidence)
            if key not in seen_tk:
                seen_tk.add(key)
                uniq_tk.append(t)
    directive = result.directives.get("syntax")
    if len(findings) > 1:
        findings.sort(key=lambda f: f.line if f.line is not None else 0)
    return BuildGraph(
        path,
        stages,
        target_idx,
        target_s,
        build_s,
        global_args,
        build_args,
        features,
        arch_args,
        uniq_tk,
        images,
        findings,
        directive[0] if directive is not None else None,
        result.escape_token,
        unused,
    )


def _secret_global_args(ctx: _Ctx, meta_nodes: list[Node]) -> None:
    """SecretsUsedInArgOrEnv on the global ARGs."""
    for n in meta_nodes:
        for word in n.args:
            key, _ = _split_kv(word)
            if is_secret_name(key):
                ctx.findings.append(
                    finding(
                        "SecretsUsedInArgOrEnv",
                        f'Do not use ARG or ENV instructions for sensitive data (ARG "{key}")',
                        n.start_line,
                    )
                )


def _invalid_default_args(
    ctx: _Ctx,
    meta_nodes: list[Node],
    stage_nodes: list[tuple[Node, list[Node]]],
    parsed_from: list[tuple[str, str | None, str | None]],
    names: Mapping[str, int],
    builtins: Mapping[str, str],
    build_args: Mapping[str, str],
    global_args: Mapping[str, ArgValue],
    global_env: Mapping[str, str],
) -> None:
    """InvalidDefaultArgInFrom: FROM values that the ARG defaults alone (no build args) make
    empty or invalid."""
    default_env: Mapping[str, str] | None = None
    for (base_raw, _, _), (fn, _) in zip(parsed_from, stage_nodes, strict=True):
        if "$" not in base_raw:
            continue  # without a variable, the stage loop expands (or refuses) it
        if default_env is None:
            default_env = global_env  # the same values unless a build arg overrides a global
            if any(k in build_args for k in global_args):
                with contextlib.suppress(InputError):
                    default_env, _ = _meta_args(meta_nodes, builtins, {}, ctx)
        r = ctx.expand(base_raw, default_env, fn.start_line, fatal=False)
        if r is None:
            continue
        low = r.result.lower()
        if low in names or low == "scratch":
            continue
        try:
            parse_image_ref(r.result)
        except InvalidReference:
            ctx.findings.append(
                finding(
                    "InvalidDefaultArgInFrom",
                    f"Default value for ARG {base_raw} results in empty or invalid base image "
                    f"name ({r.result!r})",
                    fn.start_line,
                )
            )


def _from_fix(variables: set[str], global_args: Mapping[str, ArgValue]) -> str:
    if not variables:
        return "write an image reference after FROM"
    v = sorted(variables)[0]
    return f"pass --build-arg {v}=<image> or set a default with `ARG {v}=<image>`"


def _provenance(
    var: str,
    global_args: Mapping[str, ArgValue],
    builtins: Mapping[str, str],
    build_args: Mapping[str, str],
) -> Provenance:
    av = global_args.get(var)
    if av is not None:
        return Provenance(var, av.value or "", av.source, av.line, av.default)
    src = "build-arg" if var in build_args else "builtin"
    return Provenance(var, builtins.get(var, ""), src)  # type: ignore[arg-type]


def _note_known(
    name: str,
    value: str | None,
    source: str,
    line: int | None,
    stage: int | None,
    base_env: bool,
    arch_args: list[ArchArg],
    toolkits: list[Toolkit],
) -> None:
    entry = known.known_arg(name)
    if entry is None:
        return
    kind = entry["kind"]
    arch_args.append(
        ArchArg(name, kind, value, source, line, stage, entry.get("meaning", ""), base_env)
    )
    if kind == "toolkit-version":  # the only kind `toolkit_from_arg` reads a version from
        tk = known.toolkit_from_arg(name, value, line)
        if tk is not None:
            toolkits.append(tk)


def _dispatch_stage(
    ctx: _Ctx,
    st: Stage,
    body: list[Node],
    global_env: Mapping[str, str],
    build_args: Mapping[str, str],
    names: Mapping[str, int],
    n_stages: int,
    features: list[Feature],
    arch_args: list[ArchArg],
    toolkits: list[Toolkit],
    used_build_args: set[str],
) -> None:
    """The stage's instructions with the build checks, BuildKit-feature detection and known-ARG
    notes (`_resolve_body` does the resolution alone)."""
    env = st.env
    findings = ctx.findings
    unknown_env = st.inherits_unknown_env
    idx = st.index
    esc = ctx.escape
    for n in body:
        cmd = n.keyword
        line = n.start_line
        if cmd == "run":
            # features and --mount=from dependencies in one pass over the flags
            if n.heredocs:
                features.append(Feature("heredoc", line, FEATURES["heredoc"], idx))
            for flag in n.flags:
                fname, fval = split_flag(flag)
                if fname == "mount" and fval is not None:
                    fields = mount_fields(fval)
                    features.append(mount_feature(fields, line, idx))
                    if _may_expand(fval, esc):
                        r = ctx.expand(fval, env, line, fatal=False)
                        if r is not None and r.result != fval:
                            fields = mount_fields(r.result)
                    src = fields.get("from")
                    if src:
                        _dep_from(
                            ctx, st, "mount", src, line, names, n_stages, expand=False, env=env
                        )
                elif fname in ("network", "security"):
                    features.append(Feature(f"run-{fname}", line, FEATURES[f"run-{fname}"], idx))
            continue
        if n.flags or n.heredocs or cmd == "onbuild":
            features.extend(features_of(n, idx))
        if cmd == "arg":
            for word in n._words if n._words is not None else n.args:  # read only: no copy
                key, default = _split_kv(word)
                if not key:
                    raise InputError("ARG names can not be blank", path=ctx.path, line=line)
                if is_secret_name(key):
                    findings.append(
                        finding(
                            "SecretsUsedInArgOrEnv",
                            f'Do not use ARG or ENV instructions for sensitive data (ARG "{key}")',
                            line,
                        )
                    )
                base_env = False
                if key in build_args:
                    av = ArgValue(key, build_args[key], "build-arg", line, default)
                    used_build_args.add(key)
                elif default is not None and not _may_expand(default, esc):
                    av = ArgValue(key, default, "default", line, default, [])
                elif default is not None:
                    r = ctx.expand(default, env, line, fatal=False)
                    value = r.result if r is not None else None
                    deps = sorted(r.matched - {key}) if r is not None else []
                    av = ArgValue(key, value, "default", line, default, deps)
                    if r is not None and r.unmatched:
                        _undefined(ctx, r.unmatched, env, unknown_env, line)
                        base_env = unknown_env and _depends(ctx, default, env, r.result)
                elif key in global_env:
                    src = "global" if key not in _BUILTIN_NAMES else "builtin"
                    av = ArgValue(key, global_env[key], src, line)  # type: ignore[arg-type]
                else:
                    av = ArgValue(key, None, "unset", line)
                if av.value is not None:
                    env[key] = av.value
                st.args[key] = av
                _note_known(key, av.value, av.source, line, st.index, base_env, arch_args, toolkits)
        elif cmd in ("env", "label"):
            pairs: list[tuple[str, str, bool]] = []
            a = n._words if n._words is not None else n.args  # read only: no copy
            unmatched: set[str] = set()
            for k in range(0, len(a) - 2, 3):
                key, val = a[k], a[k + 1]
                if not _may_expand(key, esc) and not _may_expand(val, esc):
                    pairs.append((key, val, False))  # nothing to expand
                    continue
                rk = ctx.expand(key, env, line, fatal=False)
                rv = ctx.expand(val, env, line, fatal=False)
                if rk is None or rv is None:
                    continue
                unmatched |= rk.unmatched | rv.unmatched
                dep = bool(rv.unmatched) and unknown_env and _depends(ctx, val, env, rv.result)
                pairs.append((rk.result, rv.result, dep))
            if unmatched:
                _undefined(ctx, unmatched, env, unknown_env, line)
            for k, v, base_env in pairs:
                if cmd == "env":
                    if is_secret_name(k):
                        findings.append(
                            finding(
                                "SecretsUsedInArgOrEnv",
                                "Do not use ARG or ENV instructions for sensitive data "
                                f'(ENV "{k}")',
                                line,
                            )
                        )
                    env[k] = v
                    st.config_env[k] = v
                    _note_known(k, v, "env", line, st.index, base_env, arch_args, toolkits)
                else:
                    st.labels[k] = v
        elif cmd in ("copy", "add"):
            for flag in n.flags:
                fname, fval = split_flag(flag)
                if fname == "from" and fval is not None:
                    _dep_from(ctx, st, "copy", fval, line, names, n_stages, expand=False, env=env)
        elif cmd in ("cmd", "entrypoint") and n.has_next and not n.is_json:
            findings.append(
                finding(
                    "JSONArgsRecommended",
                    f"JSON arguments recommended for {cmd.upper()} to prevent unintended "
                    "behavior related to OS signals",
                    line,
                )
            )
        elif cmd in ("workdir", "user", "expose", "volume", "stopsignal"):
            for word in n._words if n._words is not None else n.args:  # read only: no copy
                if not _may_expand(word, esc):
                    continue  # no variable in it
                r = ctx.expand(word, env, line, fatal=False)
                if r is not None and r.unmatched:
                    _undefined(ctx, r.unmatched, env, unknown_env, line)


def _resolve_body(
    ctx: _Ctx,
    st: Stage,
    body: list[Node],
    global_env: Mapping[str, str],
    build_args: Mapping[str, str],
    names: Mapping[str, int],
    n_stages: int,
    used_build_args: set[str],
) -> None:
    """The stage's instructions, resolution only (`analyze(checks=False)`): ARG/ENV/LABEL
    values and the stages and images that COPY --from and RUN --mount=from= need. The same
    values as `_dispatch_stage`, without checks, features or notes."""
    env = st.env
    esc = ctx.escape
    expand = ctx.lex.process_value
    for n in body:
        cmd = n.keyword
        if cmd == "run":
            for flag in n.flags:
                # without these a flag has no `from=` mount field, before or after expansion
                if (
                    "$" in flag
                    or "'" in flag
                    or '"' in flag
                    or esc in flag
                    or "from" in flag.lower()
                ):
                    _mount_dep(ctx, st, flag, n.start_line, names, n_stages, env)
        elif cmd == "env" or cmd == "label":
            # keys and values are expanded against the environment before the instruction;
            # a pair that does not expand is left out (its finding would be dropped here)
            a = n._words if n._words is not None else n.args  # read only: no copy
            if len(a) == 3 and not _may_expand(a[0], esc) and not _may_expand(a[1], esc):
                # one pair, nothing to expand (the usual)
                if cmd == "env":
                    env[a[0]] = st.config_env[a[0]] = a[1]
                else:
                    st.labels[a[0]] = a[1]
                continue
            pairs: list[tuple[str, str]] = []
            for k in range(0, len(a) - 2, 3):
                key = a[k]
                val = a[k + 1]
                try:
                    if "$" in key or "'" in key or '"' in key or esc in key:
                        key = expand(key, env)
                    if "$" in val or "'" in val or '"' in val or esc in val:
                        val = expand(val, env)
                except ShellError:
                    continue
                pairs.append((key, val))
            if cmd == "env":
                config_env = st.config_env
                for key, val in pairs:
                    env[key] = val
                    config_env[key] = val
            else:
                labels = st.labels
                for key, val in pairs:
                    labels[key] = val
        elif cmd == "arg":
            line = n.start_line
            for word in n._words if n._words is not None else n.args:
                key, eq, default = word.partition("=")
                if not key:
                    raise InputError("ARG names can not be blank", path=ctx.path, line=line)
                if key in build_args:
                    av = ArgValue(key, build_args[key], "build-arg", line, default if eq else None)
                    used_build_args.add(key)
                elif eq:
                    if "$" in default or "'" in default or '"' in default or esc in default:
                        r = ctx.expand(default, env, line, fatal=False)
                        if r is None:
                            av = ArgValue(key, None, "default", line, default, [])
                        else:
                            deps = sorted(r.matched - {key}) if r.matched else []
                            av = ArgValue(key, r.result, "default", line, default, deps)
                    else:
                        av = ArgValue(key, default, "default", line, default, [])
                elif key in global_env:
                    src = "global" if key not in _BUILTIN_KEYS else "builtin"
                    av = ArgValue(key, global_env[key], src, line)  # type: ignore[arg-type]
                else:
                    av = ArgValue(key, None, "unset", line)
                if av.value is not None:
                    env[key] = av.value
                st.args[key] = av
        elif cmd == "copy" or cmd == "add":
            for flag in n.flags:
                if flag[:7].lower() == "--from=":  # split_flag's name "from" with a value
                    _dep_from(
                        ctx,
                        st,
                        "copy",
                        flag[7:],
                        n.start_line,
                        names,
                        n_stages,
                        expand=False,
                        env=env,
                    )


def _mount_dep(
    ctx: _Ctx,
    st: Stage,
    flag: str,
    line: int,
    names: Mapping[str, int],
    n_stages: int,
    env: Mapping[str, str],
) -> None:
    """The stage or image a RUN `--mount=...,from=X` flag needs, if any."""
    fname, fval = split_flag(flag)
    if fname == "mount" and fval is not None:
        r = ctx.expand(fval, env, line, fatal=False)
        value = r.result if r is not None else fval
        src = mount_fields(value).get("from") if "from" in value.lower() else None
        if src:
            _dep_from(ctx, st, "mount", src, line, names, n_stages, expand=False, env=env)


def _may_expand(word: str, esc: str) -> bool:
    """Whether expanding `word` may change it (a variable, a quote or an escape in it)."""
    return "$" in word or "'" in word or '"' in word or esc in word


def _depends(ctx: _Ctx, word: str, env: Mapping[str, str], result: str) -> bool:
    """Whether `word`'s value changes when variables unknown here get a value (base image ENV)."""
    if "$" not in word:
        return False
    try:
        r = ctx.lex.process_word(word, _Probe(env))
    except ShellError:
        return True
    return r.result != result


class _Probe(dict):
    """An environment where every variable not set here has a marker value."""

    def __init__(self, env: Mapping[str, str]):
        super().__init__(env)

    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key, "\x00probe\x00")


def _undefined(
    ctx: _Ctx, unmatched: set[str], env: Mapping[str, str], unknown_env: bool, line: int
) -> bool:
    """Report UndefinedVar; True when a variable may come from the base image's ENV."""
    missing = sorted(v for v in unmatched if v not in env and not v.isdigit() and v.isidentifier())
    if not missing:
        return False
    for v in missing:
        if unknown_env:
            msg = f"Usage of undefined variable '${v}' (unless the base image sets it)"
        else:
            msg = f"Usage of undefined variable '${v}'"
        ctx.findings.append(finding("UndefinedVar", msg, line))
    return unknown_env


def _dep_from(
    ctx: _Ctx,
    st: Stage,
    kind: str,
    ref: str,
    line: int,
    names: Mapping[str, int],
    n_stages: int,
    *,
    expand: bool,
    env: Mapping[str, str],
) -> None:
    if "$" in ref and kind == "copy":
        ctx.findings.append(
            finding(
                "InvalidStageReference",
                "variable expansion is not supported for --from; define a stage with "
                "FROM using a global ARG instead",
                line,
            )
        )
        return
    if ref.isdigit():
        idx = int(ref)
        if idx >= n_stages:
            ctx.findings.append(
                finding("InvalidStageReference", f"invalid stage index {ref}", line)
            )
            return
        st.dependencies.append(Dependency(kind, ref, line, stage=idx))  # type: ignore[arg-type]
        if idx >= st.index:
            ctx.forward = True  # the cycle check is needed
        return
    low = ref.lower()
    if low in names:
        st.dependencies.append(Dependency(kind, ref, line, stage=names[low]))  # type: ignore[arg-type]
        if names[low] >= st.index:
            ctx.forward = True  # the cycle check is needed
        return
    if ref == "scratch" and kind == "mount":
        return
    try:
        image = normalize_image_ref(ref)[0]
    except InvalidReference as err:
        ctx.findings.append(finding("InvalidStageReference", f"{ref!r}: {err}", line))
        return
    st.dependencies.append(Dependency(kind, ref, line, image=image))  # type: ignore[arg-type]


def _check_cycles(stages: list[Stage], path: str) -> None:
    """Called only when an edge points to the stage itself or a later one (else no cycle)."""
    state: dict[int, int] = {}

    def visit(i: int) -> None:
        state[i] = 1
        for d in stages[i].dependencies:
            if d.stage is None:
                continue
            s = state.get(d.stage, 0)
            if s == 1:
                raise InputError(
                    f"circular dependency detected on stage: {stages[d.stage].display}",
                    path=path,
                    line=d.line,
                )
            if s == 0:
                visit(d.stage)
        state[i] = 2

    for s in stages:
        if state.get(s.index, 0) == 0:
            visit(s.index)


def _reachable(stages: list[Stage], target: int) -> set[int]:
    seen = {target}
    todo = [target]
    while todo:
        i = todo.pop()
        for d in stages[i].dependencies:
            if d.stage is not None and d.stage not in seen:
                seen.add(d.stage)
                todo.append(d.stage)
    return seen


def _external_images(
    stages: list[Stage],
    image_exists: Callable[[str], bool] | None,
    base_recipes: Mapping[str, tuple[str, str]] | None,
    familiar_of: Mapping[str, str] | None = None,
) -> list[ExternalImage]:
    out: dict[str, ExternalImage] = {}
    familiar_of = familiar_of or {}
    for s in stages:
        if not s.used:
            continue
        for d in s.dependencies:
            if d.image is None:
                continue
            img = out.get(d.image)
            if img is None:
                familiar = familiar_of.get(d.image) or parse_image_ref(d.image).familiar
                img = out[d.image] = ExternalImage(ref=d.image, familiar=familiar, status="unknown")
            if s.index not in img.stages:
                img.stages.append(s.index)
            img.lines.append(d.line)
    if image_exists is None and not base_recipes:
        return list(out.values())
    for img in out.values():
        recipe = (base_recipes or {}).get(img.ref)
        if recipe is not None:
            img.recipe, img.recipe_evidence = recipe
        if image_exists is not None and image_exists(img.familiar):
            img.status = "local"
        elif recipe is not None:
            img.status = "build"
        elif image_exists is not None:
            img.status = "pull"
    return list(out.values())


def set_image_status(
    graph: BuildGraph,
    image_exists: Callable[[str], bool] | None,
    base_recipes: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Recompute each external image's status: local, build (recipe in the tree) or pull."""
    recipes = dict(base_recipes or {})
    for img in graph.images:
        if img.recipe is not None:
            recipes.setdefault(img.ref, (img.recipe, img.recipe_evidence or ""))
    graph.images = _external_images(graph.stages, image_exists, recipes)


__all__ += ["set_image_status"]
