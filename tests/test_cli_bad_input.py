"""Every command against the bad inputs users really give it, as real subprocesses.

Each case must exit with its documented code (docs/exit-codes.md), print one
`hwdock: error: ...` naming what went wrong, and never a Python traceback. The engine is not
the subject here (except for the engine cases): `--no-engine`, `--dry-run` and `--from`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST = ROOT / "tests" / "fixtures" / "hosts" / "rx7900xtx-igpu"
TREE = ROOT / "tests" / "fixtures" / "trees" / "generic"


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]  # `{name}` is replaced by the path of input `name`
    code: int
    phrase: str  # in the error message (case-insensitive)
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | bytes | None = None


def _c(id: str, argv: str, code: int, phrase: str, **kw: object) -> Case:
    return Case(id, tuple(argv.split()), code, phrase, **kw)  # type: ignore[arg-type]


def _hwdock_json(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        env=_env({}),
        check=True,
    ).stdout
    return json.loads(out)


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    env.pop("DOCKER_HOST", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The bad inputs, by name, built once."""
    d = tmp_path_factory.mktemp("bad")
    host = _hwdock_json("probe", "--from", str(HOST), "--json")
    plan = _hwdock_json("plan", str(TREE), "--from", str(HOST), "--json", "--no-engine")
    files: dict[str, str | bytes] = {
        "empty": "",
        "binary": bytes(range(256)) * 4,
        "nonutf8": b'{"kind": "plan", "recipe": "\xff\xfe"}\n',
        "truncated_plan": json.dumps(plan, indent=2)[:400],
        "truncated_host": json.dumps(host, indent=2)[:400],
        "list_json": "[1, 2, 3]\n",
        "host": json.dumps(host),
        "plan": json.dumps(plan),
        "host_newer": json.dumps({**host, "schema_version": 99}),
        "plan_newer": json.dumps({**plan, "schema_version": 99}),
        "host_version_str": json.dumps({**host, "schema_version": "1"}),
        "host_acc_str": json.dumps({**host, "accelerators": "gfx1100"}),
        "host_acc_null": json.dumps({**host, "accelerators": None}),
        "host_acc_item_str": json.dumps({**host, "accelerators": ["gfx1100"]}),
        "host_acc_numa_str": json.dumps(
            {**host, "accelerators": [{**host["accelerators"][0], "numa_node": "0"}]}
        ),
        "host_acc_no_vendor": json.dumps(
            {**host, "accelerators": [{"pci_address": "0000:03:00.0"}]}
        ),
        "host_cpu_list": json.dumps({**host, "cpu": [1, 2]}),
        "host_groups_str": json.dumps({**host, "user_groups": "44"}),
        "host_env_list": json.dumps({**host, "env": ["A=1"]}),
        "host_findings_str": json.dumps({**host, "findings": "none"}),
        "plan_steps_str": json.dumps({**plan, "steps": "app"}),
        "plan_steps_null": json.dumps({**plan, "steps": None}),
        "plan_step_missing": json.dumps({**plan, "steps": [{"id": "app"}]}),
        "plan_run_str": json.dumps({**plan, "run": "vllm"}),
        "plan_ports_bad": json.dumps({**plan, "run": {**plan["run"], "ports": ["8000"]}}),
        "plan_port_str": json.dumps({**plan, "run": {**plan["run"], "ports": [["80", "x"]]}}),
        "plan_build_args_list": json.dumps(
            {**plan, "steps": [{**plan["steps"][0], "build_args": ["A=1"]}]}
        ),
        "plan_ctx_gone": json.dumps(
            {**plan, "steps": [{**plan["steps"][0], "context": str(d / "gone")}]}
        ),
        "plan_df_gone": json.dumps(
            {**plan, "steps": [{**plan["steps"][0], "dockerfile": "Nope.Dockerfile"}]}
        ),
        "plan_no_recipe": json.dumps({k: v for k, v in plan.items() if k != "recipe"}),
        "plan_route_bad": json.dumps({**plan, "route": 7}),
        "plan_verdicts_str": json.dumps({**plan, "verdicts": "ok"}),
        "plan_decision_str": json.dumps({**plan, "decisions": ["x"]}),
        "huge": b"#" + b"x" * (64 * 1024 * 1024),
        "Dockerfile_crlf_bom": b"\xef\xbb\xbfFROM busybox AS one\r\nRUN true\r\n",
        "Dockerfile_binary": bytes(range(256)) * 4,
        "Dockerfile_nonutf8": b"FROM busybox\nLABEL a=\xff\n",
        "Dockerfile_empty": "",
        "Dockerfile_comments": "# nothing but a comment\n",
        "Dockerfile_noFrom": "RUN true\n",
        "Dockerfile_badinstr": "FROM busybox\nFROB x\n",
        "Dockerfile_twostage": "FROM busybox AS a\nRUN true\nFROM a AS b\n",
        "log_binary": bytes(range(256)) * 4,
        "log_nonutf8": b"\xff\xfe junk\ninclude/shm.h:28 NCCL WARN Call to posix_fallocate failed"
        b" : No space left on device\n",
        "not_a_dir": "plain file\n",
    }
    for name, content in files.items():
        p = d / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    (d / "dir").mkdir()
    (d / "dangling").symlink_to(d / "nowhere")
    os.mkfifo(d / "fifo")
    # capture folders: no meta.json, broken commands.json / devices.json / meta.json
    for name in ("cap_nometa", "cap_badcmds", "cap_baddevs", "cap_badmeta", "cap_cmds_obj"):
        shutil.copytree(HOST, d / name, symlinks=True)
    (d / "cap_nometa" / "meta.json").unlink()
    (d / "cap_badcmds" / "commands.json").write_text('[{"argv": ["x"], "stdout": ')
    (d / "cap_baddevs" / "devices.json").write_text('{"path": 3}')
    (d / "cap_badmeta" / "meta.json").write_text('{"format": "something-else"}')
    (d / "cap_cmds_obj" / "commands.json").write_text('[{"argv": "nvidia-smi"}]')
    # source trees whose Dockerfile is odd
    for name in ("crlf_bom", "binary", "nonutf8", "empty", "comments", "noFrom", "badinstr"):
        tree = d / f"tree_{name}"
        tree.mkdir()
        (tree / "Dockerfile").write_bytes((d / f"Dockerfile_{name}").read_bytes())
    tree = d / "tree_dfdir"
    (tree / "Dockerfile").mkdir(parents=True)
    tree = d / "tree_twostage"
    tree.mkdir()
    (tree / "Dockerfile").write_bytes((d / "Dockerfile_twostage").read_bytes())
    out = {name: str(d / name) for name in os.listdir(d)}
    out["missing"] = str(d / "no-such-file.json")
    out["host_fixture"] = str(HOST)
    out["tree"] = str(TREE)
    out["file_parent"] = str(d / "not_a_dir" / "out.yaml")
    out["missing_parent"] = str(d / "no" / "such" / "dir" / "out.yaml")
    return out


PLAN_CMDS = ("plan", "doctor", "export script", "export compose", "export bake", "export k8s")

CASES: list[Case] = [
    # --- probe / capture
    _c("probe-from-missing", "probe --from {missing}", 3, "no such"),
    _c("probe-from-file", "probe --from {host}", 3, "not a capture directory"),
    _c("probe-from-nometa", "probe --from {cap_nometa}", 3, "meta.json"),
    _c("probe-from-badcmds", "probe --from {cap_badcmds}", 3, "commands.json"),
    _c("probe-from-baddevs", "probe --from {cap_baddevs}", 3, "devices.json"),
    _c("probe-from-badmeta", "probe --from {cap_badmeta}", 3, "meta.json"),
    _c("probe-from-cmds-argv-str", "probe --from {cap_cmds_obj}", 3, "commands.json"),
    _c("capture-into-file", "capture {not_a_dir}", 2, "not a directory"),
    _c("capture-file-parent", "capture {file_parent}", 2, "cannot create"),
    _c("capture-nonempty", "capture {cap_nometa}", 3, "--force"),
    # --- explain
    _c("explain-missing-dir", "explain {missing} --no-engine", 3, "not a directory"),
    _c("explain-file-missing", "explain {tree} -f nope.Dockerfile --no-engine", 3, "nope"),
    _c("explain-dockerfile-is-dir", "explain {tree_dfdir} --no-engine", 3, "Dockerfile"),
    _c("explain-binary", "explain {tree_binary} --no-engine", 3, "Dockerfile"),
    _c("explain-nonutf8", "explain {tree_nonutf8} --no-engine", 0, ""),
    _c("explain-empty", "explain {tree_empty} --no-engine", 3, "Dockerfile"),
    _c("explain-comments", "explain {tree_comments} --no-engine", 3, "Dockerfile"),
    _c("explain-no-from", "explain {tree_noFrom} --no-engine", 3, "Dockerfile:1"),
    _c("explain-bad-instruction", "explain {tree_badinstr} --no-engine", 3, "Dockerfile:2"),
    _c("explain-fifo", "explain {dir} -f {fifo} --no-engine", 3, "fifo"),
    _c("explain-dangling", "explain {dir} -f {dangling} --no-engine", 3, "dangling"),
    _c("explain-build-arg-no-eq", "explain {tree} --build-arg FOO --no-engine", 0, ""),
    _c("explain-build-arg-empty-key", "explain {tree} --build-arg =x --no-engine", 2, "=x"),
    _c("explain-bad-target", "explain {tree_twostage} --target nope --no-engine", 2, "nope"),
    _c("explain-base-df-no-eq", "explain {tree} --base-dockerfile x --no-engine", 2, "IMAGE=PATH"),
    _c("explain-bad-platform", "explain {tree} --platform ??? --no-engine", 2, "platform"),
    # --- plan (and the commands that plan)
    _c("plan-source-missing", "plan {missing} --from {host_fixture}", 3, "no-such-file"),
    _c("plan-source-file", "plan {host} --from {host_fixture}", 3, "not a folder"),
    _c("plan-host-missing", "plan {tree} --host {missing} --no-engine", 3, "no such file"),
    _c("plan-host-dir", "plan {tree} --host {dir} --no-engine", 3, "meta.json"),
    _c("plan-host-empty", "plan {tree} --host {empty} --no-engine", 3, "not JSON"),
    _c("plan-host-binary", "plan {tree} --host {binary} --no-engine", 3, "binary"),
    _c("plan-host-nonutf8", "plan {tree} --host {nonutf8} --no-engine", 3, "nonutf8"),
    _c("plan-host-truncated", "plan {tree} --host {truncated_host} --no-engine", 3, ":"),
    _c("plan-host-huge", "plan {tree} --host {huge} --no-engine", 3, "huge"),
    _c("plan-host-fifo", "plan {tree} --host {fifo} --no-engine", 3, "not a regular file"),
    _c("plan-host-dangling", "plan {tree} --host {dangling} --no-engine", 3, "dangling"),
    _c("plan-host-is-plan", "plan {tree} --host {plan} --no-engine", 3, "not a host report"),
    _c("plan-host-list", "plan {tree} --host {list_json} --no-engine", 3, "not a host report"),
    _c("plan-host-newer", "plan {tree} --host {host_newer} --no-engine", 3, "newer"),
    _c("plan-host-version-str", "plan {tree} --host {host_version_str} --no-engine", 3, "schema"),
    _c("plan-host-acc-str", "plan {tree} --host {host_acc_str} --no-engine", 3, "accelerators"),
    _c("plan-host-acc-null", "plan {tree} --host {host_acc_null} --no-engine", 0, ""),
    _c(
        "plan-host-acc-item-str",
        "plan {tree} --host {host_acc_item_str} --no-engine",
        3,
        "accelerators[0]",
    ),
    _c(
        "plan-host-numa-str",
        "plan {tree} --host {host_acc_numa_str} --no-engine",
        3,
        "accelerators[0].numa_node",
    ),
    _c(
        "plan-host-no-vendor",
        "plan {tree} --host {host_acc_no_vendor} --no-engine",
        3,
        "accelerators[0].vendor",
    ),
    _c("plan-host-cpu-list", "plan {tree} --host {host_cpu_list} --no-engine", 3, "cpu"),
    _c(
        "plan-host-groups-str", "plan {tree} --host {host_groups_str} --no-engine", 3, "user_groups"
    ),
    _c("plan-host-env-list", "plan {tree} --host {host_env_list} --no-engine", 3, "env"),
    _c("plan-host-findings", "plan {tree} --host {host_findings_str} --no-engine", 3, "findings"),
    _c("plan-host-and-from", "plan {tree} --host {host} --from {host_fixture}", 2, "not both"),
    _c("plan-from-nometa", "plan {tree} --from {cap_nometa} --no-engine", 3, "meta.json"),
    _c("plan-build-arg-no-eq", "plan {tree} --from {host_fixture} --build-arg FOO", 2, "FOO"),
    _c("plan-unknown-gpu", "plan {tree} --from {host_fixture} --gpu 7", 2, "--gpu"),
    _c("plan-unknown-gpu-name", "plan {tree} --from {host_fixture} --gpu nope", 2, "--gpu"),
    _c(
        "plan-bad-target",
        "plan {tree_twostage} --from {host_fixture} --target nope",
        2,
        "no such stage",
    ),
    _c("plan-bad-recipe", "plan {tree} --from {host_fixture} --recipe nope", 2, "recipe"),
    _c("run-port-range", "run busybox --port 70000:80 --dry-run", 2, "1 to 65535"),
    _c("plan-bad-tag", "plan {tree} --from {host_fixture} --tag UPPER:x", 2, "lowercase"),
    _c("fast-plan-bad-tag", "plan {tree} --json --from {host_fixture} -t a:b:c", 2, "--tag"),
    _c("build-bad-tag", "build {tree} --from {host_fixture} --tag x:y:z --dry-run", 2, "--tag"),
    _c("run-bad-option", "run busybox --nope --dry-run", 2, "no such option"),
    _c("plan-port-not-int", "plan {tree} --from {host_fixture} --port x", 2, "--port"),
    _c("plan-bad-platform", "plan {tree} --from {host_fixture} --platform nope", 2, "platform"),
    _c("plan-bad-customize", "plan {tree} --from {host_fixture} --customize nope", 2, "customize"),
    _c("plan-model-missing", "plan {tree} --from {host_fixture} --model {missing}", 3, "model"),
    _c("plan-dockerfile-missing", "plan {tree} --from {host_fixture} -f nope", 3, "nope"),
    _c("plan-dockerfile-dir", "plan {tree_dfdir} --from {host_fixture}", 3, "Dockerfile"),
    _c("plan-dockerfile-binary", "plan {tree_binary} --from {host_fixture}", 3, "Dockerfile"),
    _c("plan-dockerfile-nonutf8", "plan {tree_nonutf8} --from {host_fixture}", 0, ""),
    _c("plan-dockerfile-empty", "plan {tree_empty} --from {host_fixture}", 3, "Dockerfile"),
    _c(
        "plan-crlf-bom",
        "plan {tree_crlf_bom} --from {host_fixture} --no-engine --json",
        0,
        '"route": "build"',
    ),
    # --- saved plans: build / run / up / doctor / export
    _c("build-plan-missing", "build --plan {missing} --dry-run", 3, "no such file"),
    _c("build-plan-dir", "build --plan {dir} --dry-run", 3, "directory"),
    _c("build-plan-empty", "build --plan {empty} --dry-run", 3, "not JSON"),
    _c("build-plan-truncated", "build --plan {truncated_plan} --dry-run", 3, "truncated_plan:"),
    _c("build-plan-nonutf8", "build --plan {nonutf8} --dry-run", 3, "nonutf8"),
    _c("build-plan-is-host", "build --plan {host} --dry-run", 3, "not a plan"),
    _c("build-plan-list", "build --plan {list_json} --dry-run", 3, "not a plan"),
    _c("build-plan-newer", "build --plan {plan_newer} --dry-run", 3, "newer"),
    _c("build-plan-steps-str", "build --plan {plan_steps_str} --dry-run", 3, "steps"),
    _c("build-plan-steps-null", "build --plan {plan_steps_null} --dry-run", 0, ""),
    _c("build-plan-step-missing", "build --plan {plan_step_missing} --dry-run", 3, "steps[0]"),
    _c("build-plan-no-recipe", "build --plan {plan_no_recipe} --dry-run", 3, "recipe"),
    _c("build-plan-route-int", "build --plan {plan_route_bad} --dry-run", 3, "route"),
    _c("build-plan-args-list", "build --plan {plan_build_args_list} --dry-run", 3, "build_args"),
    _c("build-plan-verdicts", "build --plan {plan_verdicts_str} --dry-run", 3, "verdicts"),
    _c("build-plan-decisions", "build --plan {plan_decision_str} --dry-run", 3, "decisions[0]"),
    _c("build-plan-context-gone", "build --plan {plan_ctx_gone} --dry-run", 3, "build context"),
    _c("build-plan-dockerfile-gone", "build --plan {plan_df_gone} --dry-run", 3, "Nope.Dockerfile"),
    _c("build-plan-fifo", "build --plan {fifo} --dry-run", 3, "not a regular file"),
    _c("build-plan-dangling", "build --plan {dangling} --dry-run", 3, "dangling"),
    _c("build-plan-huge", "build --plan {huge} --dry-run", 3, "huge"),
    _c("build-engine-missing", "build --plan {plan} --engine /no/such/docker", 2, "no such client"),
    _c(
        "build-build-arg-no-eq",
        "build {tree} --from {host_fixture} --build-arg X --dry-run",
        2,
        "X",
    ),
    _c("build-unknown-gpu", "build {tree} --from {host_fixture} --gpu 9 --dry-run", 2, "--gpu"),
    _c(
        "build-docker-host-down",
        "build --plan {plan} --engine docker",
        4,
        "docker",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    ),
    _c("run-plan-str-run", "run --plan {plan_run_str} --dry-run", 3, "run"),
    _c("run-plan-ports", "run --plan {plan_ports_bad} --dry-run", 3, "ports"),
    _c("run-plan-port-str", "run --plan {plan_port_str} --dry-run", 3, "ports"),
    _c("run-plan-missing", "run --plan {missing} --dry-run", 3, "no such file"),
    _c("run-bad-port", "run busybox --port x:y --dry-run", 2, "--port"),
    _c("run-engine-missing", "run busybox --engine /no/such/podman", 2, "no such client"),
    _c("run-model-missing", "run busybox --model {missing} --dry-run", 3, "no-such-file"),
    _c("up-plan-is-host", "up --plan {host} --dry-run", 3, "not a plan"),
    _c("up-engine-missing", "up --plan {plan} --engine /no/such/docker", 2, "no such client"),
    _c("doctor-plan-is-host", "doctor --plan {host} --from {host_fixture}", 3, "not a plan"),
    _c("doctor-host-is-plan", "doctor {tree} --host {plan}", 3, "not a host report"),
    _c("doctor-host-numa-str", "doctor {tree} --host {host_acc_numa_str}", 3, "numa_node"),
    _c("verify-host-is-plan", "verify busybox --host {plan}", 3, "not a host report"),
    _c("verify-plan-is-host", "verify busybox --plan {host}", 3, "not a plan"),
    _c("verify-engine-missing", "verify busybox --engine /no/such/docker", 2, "no such client"),
    # --- the --json fast paths (entry.py) read the same inputs without typer
    _c("fast-probe-from-badcmds", "probe --json --from {cap_badcmds}", 3, "commands.json"),
    _c("fast-probe-from-file", "probe --json --from {host}", 3, "not a capture directory"),
    _c("fast-plan-host-numa", "plan {tree} --json --host {host_acc_numa_str}", 3, "numa_node"),
    _c("fast-plan-host-fifo", "plan {tree} --json --host {fifo} --no-engine", 3, "FIFO"),
    _c("fast-plan-target", "plan {tree_twostage} --json --from {host_fixture} --target x", 2, "x"),
    _c("fast-plan-build-arg", "plan {tree} --json --from {host_fixture} --build-arg X", 2, "X"),
    _c("fast-explain-fifo", "explain {dir} --json -f {fifo} --no-engine", 3, "FIFO"),
    _c("fast-explain-binary", "explain {tree_binary} --json --no-engine", 3, "Dockerfile"),
    _c("fast-explain-platform", "explain {tree} --json --platform ??? --no-engine", 2, "???"),
    _c("fast-explain-crlf-bom", "explain {tree_crlf_bom} --json --no-engine", 0, '"one"'),
    _c("fast-build-plan-host", "build --plan {host} --json --dry-run", 3, "not a plan"),
    _c("fast-build-plan-types", "build --plan {plan_steps_str} --json --dry-run", 3, "steps"),
    _c("fast-build-plan-fifo", "build --plan {fifo} --json --dry-run", 3, "FIFO"),
    # --- more odd inputs
    _c("explain-huge", "explain {dir} -f {huge} --no-engine", 3, "huge:1"),
    _c(
        "explain-base-df-missing",
        "explain {tree} --base-dockerfile a=/no/df --no-engine",
        3,
        "/no/df",
    ),
    _c(
        "plan-dockerfile-dangling", "plan {tree} --from {host_fixture} -f {dangling}", 3, "dangling"
    ),
    _c("doctor-plan-types", "doctor --plan {plan_steps_str} --from {host_fixture}", 3, "steps"),
    _c("export-plan-types", "export k8s --plan {plan_run_str}", 3, "run"),
    _c("fleet-host-types", "fleet plan {host_acc_numa_str}", 3, "numa_node"),
    _c("fleet-capture-nometa", "fleet plan {cap_nometa}", 3, "meta.json"),
    _c(
        "explain-engine-down",
        "explain {tree}",
        0,
        "",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    ),
    _c(
        "run-docker-host-down",
        "run busybox --engine docker",
        4,
        "docker",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    ),
    _c(
        "up-docker-host-down",
        "up --plan {plan} --engine docker",
        4,
        "docker",
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    ),
    _c("explain-error-missing", "explain-error {missing}", 3, "no such file"),
    _c("explain-error-dir", "explain-error {dir}", 3, "directory"),
    _c("explain-error-fifo", "explain-error {fifo}", 3, "not a regular file"),
    _c("explain-error-dangling", "explain-error {dangling}", 3, "dangling"),
    _c("explain-error-binary", "explain-error {log_binary}", 0, ""),
    _c("explain-error-nonutf8", "explain-error {log_nonutf8}", 1, "log_nonutf8:2"),
    _c("explain-error-empty", "explain-error {empty}", 0, ""),
    _c("explain-error-stdin-empty", "explain-error -", 0, "", stdin=""),
    _c(
        "explain-error-stdin-nonutf8",
        "explain-error -",
        1,
        "<stdin>:2",
        stdin=b"\xff\xfe\ninclude/shm.h:28 NCCL WARN Call to posix_fallocate failed : "
        b"No space left on device\n",
        env={"PYTHONIOENCODING": "utf-8:strict"},
    ),
    _c("export-bad-kind", "export yaml {tree} --from {host_fixture}", 2, "no such command 'yaml'"),
    _c("export-plan-is-host", "export compose --plan {host}", 3, "not a plan"),
    _c(
        "export-out-file-parent",
        "export compose --plan {plan} -o {file_parent}",
        2,
        "not a directory",
    ),
    _c(
        "export-out-missing-parent",
        "export k8s --plan {plan} -o {missing_parent}",
        2,
        "does not exist",
    ),
    _c("export-out-dir", "export bake --plan {plan} -o {dir}", 2, "is a directory"),
    _c("fleet-missing", "fleet plan {missing}", 3, "no such file"),
    _c("fleet-plan-as-host", "fleet plan {plan}", 3, "not a host report"),
    _c("fleet-out-file", "fleet plan {host} --out {not_a_dir}", 2, "not a directory"),
]
for cmd in PLAN_CMDS:
    slug = cmd.replace(" ", "-")
    CASES += [
        _c(f"{slug}-all-host-binary", f"{cmd} {{tree}} --host {{binary}}", 3, "binary"),
        _c(f"{slug}-all-host-newer", f"{cmd} {{tree}} --host {{host_newer}}", 3, "newer"),
        _c(
            f"{slug}-all-host-acc-str", f"{cmd} {{tree}} --host {{host_acc_str}}", 3, "accelerators"
        ),
        _c(
            f"{slug}-all-from-badcmds", f"{cmd} {{tree}} --from {{cap_badcmds}}", 3, "commands.json"
        ),
        _c(
            f"{slug}-all-build-arg", f"{cmd} {{tree}} --from {{host_fixture}} --build-arg X", 2, "X"
        ),
    ]


def _run(case: Case, inputs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [a.format(**inputs) for a in case.argv]
    stdin = case.stdin.encode() if isinstance(case.stdin, str) else case.stdin
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "hwdock", *argv],
            capture_output=True,
            env=_env(case.env),
            input=stdin or b"",
            timeout=20,
            cwd=inputs["dir"],
        )
        out, err = (b.decode("utf-8", errors="replace") for b in (proc.stdout, proc.stderr))
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, -1, "", "(hung: still running after 20 s)")


@pytest.fixture(scope="module")
def results(inputs: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run once, a few at a time (the cases are independent)."""
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        return dict(
            zip([c.id for c in CASES], pool.map(lambda c: _run(c, inputs), CASES), strict=True)
        )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    if "DOCKER_HOST" in case.env and "docker" in case.argv and not shutil.which("docker"):
        pytest.skip("no docker client on PATH: `--engine docker` is then a usage error instead")
    proc = results[case.id]
    detail = f"exit {proc.returncode}\nstderr:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, detail
    assert proc.returncode == case.code, detail
    if case.code not in (0, 1):
        errors = [line for line in proc.stderr.splitlines() if line.startswith("hwdock: error:")]
        assert len(errors) == 1, detail
        assert case.phrase.lower() in proc.stderr.lower(), detail
    elif case.phrase:
        assert case.phrase.lower() in (proc.stdout + proc.stderr).lower(), detail


def test_case_ids_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
