"""A `docker buildx bake` file for one plan or a fleet of variant plans: JSON and HCL.

Each build step becomes a target (context, dockerfile, target, args, tags, labels, secrets
as `id=NAME,env=NAME`). A step built on an earlier step's image gets a named context
(`contexts = { "rocm/vllm-dev:base" = "target:base" }`) so bake builds the dependency first
and feeds it in, instead of pulling a published image of that name.

When the project ships its own bake file (vLLM: docker/docker-bake.hcl), hwdock's targets
`inherits` the project's target with the same Dockerfile and stage and only override args,
tags and labels; the project's file is read, never rewritten. Use both:
`docker buildx bake -f docker/docker-bake.hcl -f docker-bake.hwdock.hcl hwdock`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from hwdock.export import hcl
from hwdock.plan.model import ImageStep, Plan

GROUP = "hwdock"
_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def target_name(text: str) -> str:
    name = _BAD.sub("-", text).strip("-")
    return name or "hwdock"


@dataclass
class Variant:
    """One image to build: a name (target prefix) and the plan that builds it."""

    name: str
    plan: Plan


@dataclass
class BakeFile:
    doc: dict[str, Any]  # the JSON form: {"group": {...}, "target": {...}}
    hcl_text: str
    json_text: str
    notes: list[str] = field(default_factory=list)
    inherited: dict[str, str] = field(default_factory=dict)  # our target -> project target


# ---- the project's own bake file ------------------------------------------------------------


def _literal(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def project_targets(body: hcl.Body) -> dict[str, dict[str, Any]]:
    """Targets of a parsed bake file with `inherits` resolved for literal attributes."""
    raw = {b.labels[0]: b.attrs for b in body.find("target") if b.labels}

    def resolve(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if name in seen or name not in raw:
            return {}
        attrs: dict[str, Any] = {}
        parents = raw[name].get("inherits")
        if isinstance(parents, list):
            for p in parents:
                if isinstance(p, str):
                    attrs.update(resolve(p, (*seen, name)))
        attrs.update({k: v for k, v in raw[name].items() if k != "inherits"})
        return attrs

    return {name: resolve(name) for name in raw}


def match_project_target(targets: dict[str, dict[str, Any]], step: ImageStep) -> str | None:
    """The project target that builds the same Dockerfile and stage as `step` (public first)."""
    want_df = (step.dockerfile or "Dockerfile").lstrip("./")
    found = []
    for name, attrs in targets.items():
        df = _literal(attrs.get("dockerfile")) or "Dockerfile"
        if df.lstrip("./") != want_df:
            continue
        if _literal(attrs.get("target")) != step.target:
            continue
        found.append(name)
    found.sort(key=lambda n: (n.startswith("_"), len(n), n))
    return found[0] if found else None


# ---- rendering ------------------------------------------------------------------------------


def _step_target(step: ImageStep, contexts: dict[str, str], project: str | None) -> dict[str, Any]:
    t: dict[str, Any] = {}
    if project:
        t["inherits"] = [project]
    else:
        t["context"] = step.context or "."
        if step.generated_dockerfile is not None:
            t["dockerfile-inline"] = step.generated_dockerfile
        elif step.dockerfile:
            t["dockerfile"] = step.dockerfile
        if step.target:
            t["target"] = step.target
    if step.build_args:
        t["args"] = dict(step.build_args)
    if contexts:
        t["contexts"] = dict(contexts)
    t["tags"] = [step.image]
    if step.labels:
        t["labels"] = dict(step.labels)
    if step.secrets:
        t["secret"] = [f"id={s},env={s}" for s in step.secrets]
    if step.platform:
        t["platforms"] = [step.platform]
    return t


def build_bake(
    variants: list[Variant],
    *,
    project: hcl.Body | None = None,
    project_path: str | None = None,
) -> BakeFile:
    targets: dict[str, dict[str, Any]] = {}
    finals: list[str] = []
    notes: list[str] = []
    inherited: dict[str, str] = {}
    proj_targets = project_targets(project) if project is not None else {}
    tags_used: set[str] = set()
    by_content: dict[str, str] = {}  # identical dependency steps across variants: build once
    for variant in variants:
        ids: dict[str, str] = {}
        builds = [s for s in variant.plan.steps if s.action == "build"]
        for step in builds:
            contexts = {}
            for dep in step.depends_on:
                if dep in ids:
                    dep_step = next(s for s in builds if s.id == dep)
                    contexts[dep_step.image] = f"target:{ids[dep]}"
            match = match_project_target(proj_targets, step) if proj_targets else None
            body = _step_target(step, contexts, match)
            is_final = step is builds[-1]
            key = json.dumps(body, sort_keys=True)
            if not is_final and key in by_content:
                ids[step.id] = by_content[key]
                continue
            tag = step.image
            if tag in tags_used and not is_final:
                # same tag, different content (e.g. a base built for other arches): keep both
                body["tags"] = [f"{tag}-{target_name(variant.name)}"]
                notes.append(
                    f"{tag} is built differently for {variant.name}: tagged {body['tags'][0]}"
                )
            tags_used.add(body["tags"][0])
            name = target_name(f"{variant.name}-{step.id}")
            base = name
            n = 2
            while name in targets or name in proj_targets:
                name = f"{base}-{n}"
                n += 1
            targets[name] = body
            ids[step.id] = name
            if match:
                inherited[name] = match
            if not is_final:
                by_content[key] = name
            else:
                finals.append(name)
            if step.skip_if_present:
                notes.append(
                    f"target {name} builds {step.image}, which hwdock would skip when it is "
                    "already present; bake always builds it (drop it from contexts to reuse yours)"
                )
    if not finals:
        notes.append("the plan builds nothing (it pulls or reuses its image): no targets")
    if project is not None and not inherited:
        notes.append(
            f"no target in {project_path or 'the project bake file'} builds the same Dockerfile "
            "and stage as the plan; hwdock's targets stand alone"
        )
    doc = {"group": {GROUP: {"targets": finals}, "default": {"targets": finals}}, "target": targets}
    if project is not None:
        # the project's file already has a default group; ours is only `hwdock`
        del doc["group"]["default"]
    usage = "docker buildx bake -f docker-bake.hwdock.hcl hwdock"
    if project is not None:
        proj = project_path or "docker-bake.hcl"
        usage = f"docker buildx bake -f {proj} -f docker-bake.hwdock.hcl hwdock"
    where = ', from the project\'s root (its targets use context "."),' if project else ""
    header = (
        f"# Generated by hwdock. Build every image{where} with:\n"
        f"#   {' '.join(usage.split())}\n"
        + "".join(f"# note: {' '.join(n.split())}\n" for n in notes)
    )
    return BakeFile(
        doc=doc,
        hcl_text=render_hcl(doc, header, variants),
        json_text=json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        notes=notes,
        inherited=inherited,
    )


def _matrix_candidates(doc: dict[str, Any], finals: list[str]) -> tuple[list[str], list[str]]:
    """Final targets that share everything but args values and tags: one matrix target."""
    if len(finals) < 2:
        return [], []
    bodies = [doc["target"][n] for n in finals]

    def shape(b: dict[str, Any]) -> str:
        rest = {k: v for k, v in b.items() if k not in ("args", "tags")}
        return json.dumps([rest, sorted(b.get("args", {})), len(b.get("tags", []))], sort_keys=True)

    first = shape(bodies[0])
    if any(shape(b) != first for b in bodies) or len(bodies[0].get("tags", [])) != 1:
        return [], []
    keys = list(bodies[0].get("args", {}))
    varying = [k for k in keys if len({b["args"][k] for b in bodies}) > 1]
    return finals, varying


def render_hcl(doc: dict[str, Any], header: str, variants: list[Variant]) -> str:
    body = hcl.Body()
    for gname, g in doc["group"].items():
        body.blocks.append(hcl.Block("group", [gname], {"targets": list(g["targets"])}))
    finals = doc["group"][GROUP]["targets"]
    in_matrix, varying = _matrix_candidates(doc, finals)
    for name, t in doc["target"].items():
        if name in in_matrix:
            continue
        body.blocks.append(hcl.Block("target", [name], dict(t)))
    if in_matrix:
        # one target with a matrix over the variants; bake expands it to the same targets
        elements = []
        for n in in_matrix:
            t = doc["target"][n]
            el = {"name": n, "tag": t["tags"][0]}
            el.update({f"arg_{i}": t["args"][k] for i, k in enumerate(varying)})
            elements.append(el)
        proto = dict(doc["target"][in_matrix[0]])
        attrs: dict[str, Any] = {"name": hcl.Raw("v.name"), "matrix": {"v": elements}}
        for k, v in proto.items():
            if k == "tags":
                attrs["tags"] = [hcl.Raw("v.tag")]
            elif k == "args":
                attrs["args"] = {
                    a: (hcl.Raw(f"v.arg_{varying.index(a)}") if a in varying else val)
                    for a, val in v.items()
                }
            else:
                attrs[k] = v
        body.blocks.append(hcl.Block("target", ["hwdock-variant"], attrs))
    return hcl.dumps(body, header)


def render(
    plan: Plan,
    *,
    fmt: str = "hcl",
    project: hcl.Body | None = None,
    project_path: str | None = None,
) -> BakeFile:
    """The bake file for a single plan (`hwdock export bake`)."""
    return build_bake([Variant("hwdock", plan)], project=project, project_path=project_path)
