"""ARG scoping, stage graph and `--target` pruning, as BuildKit's dockerfile2llb does them.

`analyze()` is pure: text in, `BuildGraph` out. The engine look-up (`image_exists`) and the
"built by another Dockerfile" map (`base_recipes`) are passed in.
"""

from __future__ import annotations

import re
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
from hwdock.dockerfile.imageref import InvalidReference, parse_image_ref
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
from hwdock.dockerfile.shell import Lex, ShellError
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
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*\Z")
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


def _builtins(
    target_p: Platform,
    build_p: Platform,
    target_name: str,
    overrides: Mapping[str, str],
    target_s: str,
    build_s: str,
) -> dict[str, str]:
    vals = {
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
        "TARGETSTAGE": target_name or "default",
    }
    if overrides:
        for k in vals:
            if k in overrides:
                vals[k] = overrides[k]
    return vals


_LEXERS = {tok: Lex(tok) for tok in ("\\", "`")}  # a Lex is configuration only


class _Ctx:
    def __init__(self, path: str, escape: str) -> None:
        self.path = path
        self.lex = _LEXERS.get(escape) or Lex(escape)
        self.findings: list[DockerfileFinding] = []

    def expand(self, word: str, env: Mapping[str, str], line: int, *, fatal: bool = True):
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


def _check_instructions(nodes: list[Node], path: str) -> None:
    seen_from = False
    for n in nodes:
        cmd = n.keyword
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
            seen_from = True
        elif not seen_from and cmd != "arg":
            raise InputError(
                f"no build stage in current context: {n.value.upper()} before the first FROM",
                path=path,
                line=n.start_line,
                hint="only ARG may come before the first FROM",
            )
        if cmd == "onbuild":
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
        if cmd in ("env", "label") and not n.has_next:
            raise InputError(
                f"{cmd.upper()} requires at least one argument", path=path, line=n.start_line
            )
        if cmd == "arg" and not n.has_next:
            raise InputError("ARG requires at least one argument", path=path, line=n.start_line)
    if not seen_from:
        raise InputError(
            "no FROM instruction: the file defines no build stage",
            path=path,
            line=nodes[-1].start_line if nodes else None,
        )


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
    build_args = dict(build_args or {})
    result = parse(text, path)
    nodes = result.children
    _check_instructions(nodes, path)
    ctx = _Ctx(path, result.escape_token)
    findings = ctx.findings
    for w in result.warnings:
        findings.append(finding("NoEmptyContinuation", w.message, w.line))

    try:
        build_p = parse_platform(build_platform) if build_platform else host_platform(host_machine)
        target_p = parse_platform(platform) if platform else build_p
    except ValueError as err:
        raise UsageError(str(err), hint="use os/arch[/variant], e.g. linux/amd64") from None

    # split into global ARGs and stages
    meta_nodes: list[Node] = []
    stage_nodes: list[tuple[Node, list[Node]]] = []
    for n in nodes:
        if n.keyword == "from":
            stage_nodes.append((n, []))
        elif not stage_nodes:
            meta_nodes.append(n)
        else:
            stage_nodes[-1][1].append(n)

    # FROM syntax and stage names
    parsed_from: list[tuple[str, str | None, str | None]] = []  # base, name, platform
    names: dict[str, int] = {}
    for i, (fn, _) in enumerate(stage_nodes):
        a = fn.args
        if len(a) not in (1, 3) or (len(a) == 3 and a[1].lower() != "as"):
            raise InputError(
                "FROM requires either one or three arguments (FROM image [AS name])",
                path=path,
                line=fn.start_line,
            )
        name = None
        if len(a) == 3:
            as_word = a[1]
            if (fn.value.isupper() and as_word.islower()) or (
                fn.value.islower() and as_word.isupper()
            ):
                findings.append(
                    finding(
                        "FromAsCasing",
                        f"'{as_word}' and '{fn.value}' keywords' casing do not match",
                        fn.start_line,
                    )
                )
            name = a[2].lower()
            if a[2] != name:
                findings.append(
                    finding(
                        "StageNameCasing", f"Stage name '{a[2]}' should be lowercase", fn.start_line
                    )
                )
            if not _STAGE_NAME.match(name):
                raise InputError(
                    f"invalid name for build stage: {a[2]!r}, name can't start with a number "
                    "or contain symbols",
                    path=path,
                    line=fn.start_line,
                )
            if name in names:
                findings.append(
                    finding(
                        "DuplicateStageName",
                        f"Duplicate stage name {name!r}, stage names should be unique",
                        fn.start_line,
                    )
                )
            else:
                names[name] = i
        plat = None
        for flag in fn.flags:
            fname, fval = split_flag(flag)
            if fname == "platform":
                plat = fval or ""
            else:
                raise InputError(f"unknown flag: --{fname} on FROM", path=path, line=fn.start_line)
        parsed_from.append((a[0], name, plat))

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
        target_idx = len(stage_nodes) - 1
    target_name = parsed_from[target_idx][1] or ""
    if not target:
        target_name = parsed_from[-1][1] or ""

    target_s, build_s = str(target_p), str(build_p)
    builtins = _builtins(target_p, build_p, target_name, build_args, target_s, build_s)
    builtin_keys = set(builtins)

    # global (meta) ARGs
    def meta_args(overrides: Mapping[str, str]) -> tuple[dict[str, str], dict[str, ArgValue]]:
        env = dict(builtins)
        table: dict[str, ArgValue] = {}
        for n in meta_nodes:
            if n.keyword != "arg":
                continue
            for word in n.args:
                key, default = _split_kv(word)
                if not key:
                    raise InputError("ARG names can not be blank", path=path, line=n.start_line)
                if key in overrides:
                    val: str | None = overrides[key]
                    av = ArgValue(key, val, "build-arg", n.start_line, default)
                elif default is not None:
                    res = ctx.expand(default, env, n.start_line)
                    val = res.result
                    deps = sorted(res.matched - {key})
                    av = ArgValue(key, val, "default", n.start_line, default, deps)
                else:
                    val = None
                    av = ArgValue(key, None, "unset", n.start_line, None)
                if val is not None:
                    env[key] = val
                table[key] = av
        return env, table

    global_env, global_args = meta_args(build_args)
    declared_globals = set(global_args)

    for n in meta_nodes if checks else ():
        for word in n.args:
            key, _ = _split_kv(word)
            if is_secret_name(key):
                findings.append(
                    finding(
                        "SecretsUsedInArgOrEnv",
                        f'Do not use ARG or ENV instructions for sensitive data (ARG "{key}")',
                        n.start_line,
                    )
                )

    # InvalidDefaultArgInFrom: the FROM values with defaults only
    if not checks or not any(k in build_args for k in global_args):
        default_env = global_env  # no build-arg overrides a global ARG: the same values
    else:
        try:
            default_env, _ = meta_args({})
        except InputError:
            default_env = global_env
    for (base_raw, _, _), (fn, _) in zip(parsed_from, stage_nodes, strict=True):
        if not checks or "$" not in base_raw:
            continue  # without a variable, the stage loop below expands (or refuses) it
        r = ctx.expand(base_raw, default_env, fn.start_line, fatal=False)
        if r is None:
            continue
        low = r.result.lower()
        if low in names or low == "scratch":
            continue
        try:
            parse_image_ref(r.result)
        except InvalidReference:
            findings.append(
                finding(
                    "InvalidDefaultArgInFrom",
                    f"Default value for ARG {base_raw} results in empty or invalid base image "
                    f"name ({r.result!r})",
                    fn.start_line,
                )
            )

    # stages
    stages: list[Stage] = []
    features: list[Feature] = []
    if checks and "syntax" in result.directives:
        value, line = result.directives["syntax"]
        features.append(Feature("syntax-directive", line, f"# syntax={value}", None))
    arch_args: list[ArchArg] = []
    toolkits: list[Toolkit] = []
    for key, av in global_args.items() if checks else ():
        _note_known(key, av.value, av.source, av.line, None, False, arch_args, toolkits)

    used_build_args: set[str] = set()
    familiar: dict[str, str] = {}  # normalized -> familiar, for the external images
    for i, ((fn, body), (base_raw, name, plat_raw)) in enumerate(
        zip(stage_nodes, parsed_from, strict=True)
    ):
        line = fn.start_line
        end = body[-1].end_line if body else fn.end_line
        res = ctx.expand(base_raw, global_env, line)
        resolved = res.result
        if build_args and res.matched:
            used_build_args.update(k for k in res.matched if k in build_args)
        for var in sorted(res.unmatched) if checks and res.unmatched else ():
            if var not in declared_globals and var not in builtin_keys:
                findings.append(
                    finding(
                        "UndefinedArgInFrom",
                        f"FROM argument '{var}' is not declared",
                        line,
                        fix=f"add `ARG {var}=<default>` before the first FROM",
                    )
                )
        prov = (
            [_provenance(v, global_args, builtins, build_args) for v in sorted(res.matched)]
            if res.matched
            else []
        )
        base = BaseImage(raw=base_raw, resolved=resolved, kind="image", provenance=prov)
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
                    fix=_from_fix(res.matched | res.unmatched, global_args),
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
                ref = parse_image_ref(resolved)
                base.normalized, base.familiar = ref.normalized, ref.familiar
                familiar[base.normalized] = base.familiar
                tk = known.toolkit_from_image(ref, line) if checks else None
                if tk is not None:
                    toolkits.append(tk)
            except InvalidReference as err:
                base.kind = "invalid"
                findings.append(
                    finding(
                        "InvalidBaseImage",
                        f"{err} (FROM {base_raw} resolves to {resolved!r})",
                        line,
                        fix=_from_fix(res.matched, global_args),
                    )
                )
        st = Stage(index=i, name=name, base=base, start_line=line, end_line=end)
        if parent is not None:
            st.env = dict(parent.env)
            st.args = dict(parent.args)
            st.config_env = dict(parent.config_env)
            st.labels = dict(parent.labels)
            st.inherits_unknown_env = parent.inherits_unknown_env
        else:
            st.inherits_unknown_env = base.kind == "image"
        dep_ref = base.familiar if base.kind == "image" else None
        st.dependencies.append(
            Dependency("from", base_raw, line, stage=base.stage, image=base.normalized)
            if base.kind in ("stage", "image")
            else Dependency("from", base_raw, line)
        )
        del dep_ref
        if checks and fn.flags:
            features.extend(features_of(fn, i))
        triggers: list[Node] = []
        if parent is not None:
            # the parent's ONBUILD triggers run first in this stage (not further down)
            for pn in stage_nodes[parent.index][1]:
                if pn.keyword == "onbuild" and pn.next is not None and pn.next.children:
                    child = pn.next.children[0]
                    child.start_line = child.end_line = pn.start_line
                    triggers.append(child)
        _dispatch_stage(
            ctx,
            st,
            triggers + body if triggers else body,
            global_env,
            build_args,
            names,
            len(stage_nodes),
            features,
            arch_args,
            toolkits,
            used_build_args,
            checks,
        )
        stages.append(st)

    _check_cycles(stages, path)
    used = _reachable(stages, target_idx)
    for s in stages:
        s.used = s.index in used
    arch_args = [a for a in arch_args if a.stage is None or a.stage in used]

    images = _external_images(stages, image_exists, base_recipes, familiar) if checks else []
    if not checks:
        findings.clear()
    unused = sorted(
        k
        for k in build_args or ()
        if k not in used_build_args and k not in builtin_keys and k not in _PROXY_ARGS
    )
    seen_tk: set[tuple[str, str, str]] = set()
    uniq_tk = []
    for t in toolkits:
        key = (t.toolkit, t.version, t.evidence)
        if key not in seen_tk:
            seen_tk.add(key)
            uniq_tk.append(t)
    syntax = result.directives.get("syntax", (None, 0))[0]
    if len(findings) > 1:
        findings.sort(key=lambda f: f.line if f.line is not None else 0)
    return BuildGraph(
        path=path,
        stages=stages,
        target=target_idx,
        target_platform=target_s,
        build_platform=build_s,
        global_args=global_args,
        build_args=build_args,
        features=features,
        arch_args=arch_args,
        toolkits=uniq_tk,
        images=images,
        findings=findings,
        syntax=syntax,
        escape=result.escape_token,
        unused_build_args=unused,
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
    arch_args.append(
        ArchArg(
            name=name,
            kind=entry["kind"],
            value=value,
            source=source,
            line=line,
            stage=stage,
            meaning=entry.get("meaning", ""),
            depends_on_base_env=base_env,
        )
    )
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
    checks: bool = True,
) -> None:
    env = st.env
    findings = ctx.findings
    unknown_env = st.inherits_unknown_env
    idx = st.index
    esc = ctx.lex.escape_token
    for n in body:
        cmd = n.keyword
        line = n.start_line
        if cmd == "run":
            # features and --mount=from dependencies in one pass over the flags
            if not checks:
                for flag in n.flags:
                    if "from" not in flag.lower() and not _may_expand(flag, esc):
                        continue  # no `from=` field, before or after expansion
                    fname, fval = split_flag(flag)
                    if fname == "mount" and fval is not None:
                        r = ctx.expand(fval, env, line, fatal=False)
                        value = r.result if r is not None else fval
                        src = mount_fields(value).get("from") if "from" in value.lower() else None
                        if src:
                            _dep_from(
                                ctx, st, "mount", src, line, names, n_stages, expand=False, env=env
                            )
                continue
            if n.heredocs:
                features.append(Feature("heredoc", line, FEATURES["heredoc"], idx))
            for flag in n.flags:
                fname, fval = split_flag(flag)
                if fname == "mount" and fval is not None:
                    fields = mount_fields(fval)
                    features.append(mount_feature(fields, line, idx))
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
        if checks and (n.flags or n.heredocs or cmd == "onbuild"):
            features.extend(features_of(n, idx))
        if cmd == "arg":
            for word in n.args:
                key, default = _split_kv(word)
                if not key:
                    raise InputError("ARG names can not be blank", path=ctx.path, line=line)
                if checks and is_secret_name(key):
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
                elif default is not None:
                    r = ctx.expand(default, env, line, fatal=False)
                    value = r.result if r is not None else None
                    deps = sorted(r.matched - {key}) if r is not None else []
                    av = ArgValue(key, value, "default", line, default, deps)
                    if checks and r is not None:
                        _undefined(ctx, r.unmatched, env, unknown_env, line)
                        base_env = (
                            bool(r.unmatched)
                            and unknown_env
                            and _depends(ctx, default, env, r.result)
                        )
                elif key in global_env:
                    src = "global" if key not in _BUILTIN_NAMES else "builtin"
                    av = ArgValue(key, global_env[key], src, line)  # type: ignore[arg-type]
                else:
                    av = ArgValue(key, None, "unset", line)
                if av.value is not None:
                    env[key] = av.value
                st.args[key] = av
                if checks:
                    _note_known(
                        key, av.value, av.source, line, st.index, base_env, arch_args, toolkits
                    )
        elif cmd in ("env", "label"):
            pairs: list[tuple[str, str, bool]] = []
            a = n.args
            unmatched: set[str] = set()
            for k in range(0, len(a) - 2, 3):
                rk = ctx.expand(a[k], env, line, fatal=False)
                rv = ctx.expand(a[k + 1], env, line, fatal=False)
                if rk is None or rv is None:
                    continue
                unmatched |= rk.unmatched | rv.unmatched
                dep = (
                    checks
                    and bool(rv.unmatched)
                    and unknown_env
                    and _depends(ctx, a[k + 1], env, rv.result)
                )
                pairs.append((rk.result, rv.result, dep))
            if checks:
                _undefined(ctx, unmatched, env, unknown_env, line)
            for k, v, base_env in pairs:
                if cmd == "env":
                    if checks and is_secret_name(k):
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
                    if checks:
                        _note_known(k, v, "env", line, st.index, base_env, arch_args, toolkits)
                else:
                    st.labels[k] = v
        elif cmd in ("copy", "add"):
            for flag in n.flags:
                fname, fval = split_flag(flag)
                if fname == "from" and fval is not None:
                    _dep_from(ctx, st, "copy", fval, line, names, n_stages, expand=False, env=env)
        elif not checks:
            continue
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
            for word in n.args:
                r = ctx.expand(word, env, line, fatal=False)
                if r is not None:
                    _undefined(ctx, r.unmatched, env, unknown_env, line)


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
        return
    low = ref.lower()
    if low in names:
        st.dependencies.append(Dependency(kind, ref, line, stage=names[low]))  # type: ignore[arg-type]
        return
    if ref == "scratch" and kind == "mount":
        return
    try:
        image = parse_image_ref(ref).normalized
    except InvalidReference as err:
        ctx.findings.append(finding("InvalidStageReference", f"{ref!r}: {err}", line))
        return
    st.dependencies.append(Dependency(kind, ref, line, image=image))  # type: ignore[arg-type]


def _check_cycles(stages: list[Stage], path: str) -> None:
    if all(d.stage is None or d.stage < s.index for s in stages for d in s.dependencies):
        return  # every edge points to an earlier stage: no cycle possible
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
