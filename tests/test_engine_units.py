"""Engine pieces without an engine: argv building, detection with a fake runner, references,
BuildKit feature detection, progress parsing, failure classification, registry token flow."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.error
from collections.abc import Sequence
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from hwdock.engine.detect import find_engine, probe_docker
from hwdock.engine.engine import ContainerEngine
from hwdock.engine.failures import classify
from hwdock.engine.features import needs_buildkit, scan_buildkit_features
from hwdock.engine.labels import plan_hash
from hwdock.engine.progress import ProgressParser
from hwdock.engine.reference import fully_qualified, parse_reference
from hwdock.engine.registry import Registry
from hwdock.errors import ExitCode, HwdockError
from hwdock.plan.model import ImageStep, Mount, RunSpec

DOCKER = ContainerEngine("docker", "/usr/bin/docker", "buildkit", "20.10")
PODMAN = ContainerEngine("podman", "/usr/bin/podman", "podman", "4.3")


def test_run_argv_devices_groups_mounts_env_by_name() -> None:
    spec = RunSpec(
        image="hwdock/app:1",
        devices=["/dev/kfd", "/dev/dri/renderD128"],
        group_add=[44, 109],
        ipc="host",
        shm_size="16g",  # ignored with ipc=host
        mounts=[Mount("/srv/models", "/models", read_only=True)],
        env={"VLLM_LOGGING_LEVEL": "INFO"},
        env_passthrough=["HF_TOKEN"],
        ports=[(8000, 8000)],
        security_opt=["seccomp=unconfined"],
        command=["--model", "/models/x"],
    )
    argv = DOCKER.run_argv(spec)
    s = " ".join(argv)
    assert argv[:3] == ["/usr/bin/docker", "run", "--rm"]
    assert "--device /dev/kfd --device /dev/dri/renderD128" in s
    assert "--group-add 44 --group-add 109" in s
    assert "--ipc host" in s and "--shm-size" not in s
    assert "--mount type=bind,source=/srv/models,target=/models,readonly" in s
    i = argv.index("HF_TOKEN")
    assert argv[i - 1] == "--env"  # by name: the value never reaches argv
    assert "--env VLLM_LOGGING_LEVEL=INFO" in s
    assert "--publish 8000:8000" in s
    assert "--security-opt seccomp=unconfined" in s
    assert "--cap-add" not in s and "--privileged" not in s
    assert argv[-3:] == ["hwdock/app:1", "--model", "/models/x"]


def test_run_argv_gpus_docker_vs_podman_cdi(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = RunSpec(image="ubuntu", gpus="device=0,1", shm_size="8g")
    d = DOCKER.run_argv(spec)
    assert d[d.index("--gpus") + 1] == "device=0,1"
    assert d[d.index("--shm-size") + 1] == "8g"
    monkeypatch.setattr(PODMAN, "image_exists", lambda ref: False)
    p = PODMAN.run_argv(spec)
    assert "--gpus" not in p
    assert [p[i + 1] for i, a in enumerate(p) if a == "--device"] == [
        "nvidia.com/gpu=0",
        "nvidia.com/gpu=1",
    ]
    assert p[-1] == "docker.io/library/ubuntu"  # podman wants fully qualified names
    spec2 = RunSpec(image="x", cdi_devices=["nvidia.com/gpu=all"])
    assert "nvidia.com/gpu=all" in DOCKER.run_argv(spec2)


def test_build_argv_secrets_by_name_and_no_tag() -> None:
    step = ImageStep(
        id="app",
        action="build",
        image="hwdock/app:1",
        reason="r",
        target="final",
        platform="linux/amd64",
        build_args={"MAX_JOBS": "4"},
        secrets=["HF_TOKEN"],
    )
    argv = DOCKER.build_argv(
        step,
        context="/src",
        dockerfile="/src/Dockerfile",
        iidfile="/r/app.iid",
        labels={"dev.hwdock.plan-hash": "sha256:x"},
        network="none",
    )
    assert argv[:3] == ["/usr/bin/docker", "build", "--progress=plain"]
    assert argv[argv.index("--secret") + 1] == "id=HF_TOKEN,env=HF_TOKEN"
    assert "--tag" not in argv and argv[argv.index("--iidfile") + 1] == "/r/app.iid"
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--target") + 1] == "final"
    assert argv[-1] == "/src"
    bx = ContainerEngine("docker", "/d", "buildx").build_argv(step, context=".", dockerfile=None)
    assert bx[:5] == ["/d", "buildx", "build", "--load", "--progress=plain"]
    legacy = ContainerEngine("docker", "/d", "legacy").build_argv(
        step, context=".", dockerfile=None
    )
    assert "--secret" not in legacy and "--progress=plain" not in legacy
    assert DOCKER.env({})["DOCKER_BUILDKIT"] == "1"


class FakeRunner:
    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]]):
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], env: Any = None) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        for key, (rc, out) in self.answers.items():
            if tuple(argv[: len(key)]) == key:
                return subprocess.CompletedProcess(list(argv), rc, out, "" if rc == 0 else out)
        return subprocess.CompletedProcess(list(argv), 1, "", "unknown command")


def test_detect_buildkit_builtin_vs_buildx_vs_legacy() -> None:
    r = FakeRunner({("/c", "version"): (0, "20.10.24|20.10.24")})
    e = probe_docker("/c", r)
    assert isinstance(e, ContainerEngine) and e.build_mode == "buildkit"
    r = FakeRunner({("/c", "version"): (0, "28.1.1|20.10.24"), ("/c", "buildx"): (0, "v0.20")})
    e = probe_docker("/c", r)
    assert isinstance(e, ContainerEngine) and e.build_mode == "buildx"
    r = FakeRunner({("/c", "version"): (0, "28.1.1|20.10.24")})
    e = probe_docker("/c", r)
    assert isinstance(e, ContainerEngine) and e.build_mode == "legacy"
    r = FakeRunner({("/c", "version"): (1, "Cannot connect to the Docker daemon")})
    assert "daemon does not answer" in str(probe_docker("/c", r))


def test_find_engine_daemon_down_says_what_to_do(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("hwdock.engine.detect.EXTRA_DOCKER_CLIENTS", ())
    with pytest.raises(HwdockError) as ei:
        find_engine()
    assert ei.value.exit_code == ExitCode.ENGINE_UNAVAILABLE
    assert "daemon" in str(ei.value) and "start the daemon" in (ei.value.hint or "")
    with pytest.raises(HwdockError) as ei:
        find_engine(str(tmp_path / "nope"))
    assert ei.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("ref", "fq"),
    [
        ("ubuntu", "docker.io/library/ubuntu"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
        ("rocm/vllm-dev:base", "docker.io/rocm/vllm-dev:base"),
        ("127.0.0.1:5000/x/y:1", "127.0.0.1:5000/x/y:1"),
        ("localhost/img", "localhost/img"),
        ("nvcr.io/nvidia/pytorch:24.05-py3", "nvcr.io/nvidia/pytorch:24.05-py3"),
        ("ubuntu@sha256:abc", "docker.io/library/ubuntu@sha256:abc"),
    ],
)
def test_fully_qualified(ref: str, fq: str) -> None:
    assert fully_qualified(ref) == fq


def test_reference_parts() -> None:
    r = parse_reference("127.0.0.1:5000/hw/busy:2")
    assert (r.domain, r.path, r.tag, r.ref) == ("127.0.0.1:5000", "hw/busy", "2", "2")
    assert parse_reference("ubuntu").ref == "latest"


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("FROM a\nRUN make\n", []),
        ("FROM a\nRUN --mount=type=cache,target=/root/.cache pip install x\n", ["RUN --mount"]),
        ("FROM a\nRUN \\\n  --mount=type=secret,id=HF_TOKEN true\n", ["RUN --mount"]),
        ("FROM a\nRUN <<EOF\necho hi\nEOF\n", ["heredoc"]),
        ("FROM a\nCOPY --link . /x\n", ["COPY --link"]),
        ("# syntax=docker/dockerfile:1\nFROM a\n", ["syntax directive"]),
        ("FROM a\nRUN pip install --mount-thing\n", []),  # a flag of the command, not of RUN
    ],
)
def test_scan_buildkit_features(text: str, features: list[str]) -> None:
    assert scan_buildkit_features(text) == features
    assert bool(needs_buildkit(text)) == bool(features)  # the Dockerfile package agrees


BUILDKIT_FAIL = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#5 [stage-1 2/3] RUN echo compiling && exit 3
#5 0.215 compiling
#5 ERROR: executor failed running [/bin/sh -c echo compiling && exit 3]: exit code: 3
------
 > [stage-1 2/3] RUN echo compiling && exit 3:
------
"""


def test_progress_parser_finds_failing_step_and_its_lines() -> None:
    p = ProgressParser()
    kinds = [e.kind for line in BUILDKIT_FAIL.splitlines() for e in p.feed(line)]
    assert kinds.count("vertex-start") == 2 and "vertex-error" in kinds
    f = p.failing_step()
    assert f is not None
    assert f.name == "[stage-1 2/3] RUN echo compiling && exit 3"
    assert (f.stage, f.index, f.total) == ("stage-1", 2, 3)
    assert "compiling" in f.tail


def test_progress_parser_podman_steps() -> None:
    p = ProgressParser()
    for line in ["STEP 1/2: FROM busybox", "STEP 2/2: RUN false", "Error: building at STEP"]:
        p.feed(line)
    f = p.failing_step()
    assert f is not None and f.name == "RUN false" and f.index == 2


@pytest.mark.parametrize(
    ("rc", "text", "code", "hint_has"),
    [
        (1, "write /x: no space left on device", ExitCode.NO_SPACE, "df -h"),
        (1, "#9 ERROR: process ... exit code: 137", ExitCode.OUT_OF_MEMORY, "MAX_JOBS"),
        (137, "", ExitCode.OUT_OF_MEMORY, "MAX_JOBS"),
        (
            1,
            "c++: fatal error: Killed signal terminated program cc1plus",
            ExitCode.OUT_OF_MEMORY,
            "MAX_JOBS",
        ),
        (1, "network bridge not found", ExitCode.BUILD_FAILED, "--network host"),
        (1, "exit code: 2", ExitCode.BUILD_FAILED, None),
    ],
)
def test_classify(rc: int, text: str, code: ExitCode, hint_has: str | None) -> None:
    got, hint = classify(rc, text.splitlines())
    assert got == code
    if hint_has:
        assert hint and hint_has in hint
    else:
        assert hint is None


def test_plan_hash_changes_with_each_input() -> None:
    base = dict(
        dockerfile_text="FROM a\n",
        build_args={"A": "1"},
        target=None,
        platform=None,
        context_digest="sha256:c",
    )
    h = plan_hash(**base)
    assert h == plan_hash(**base)
    for k, v in [
        ("dockerfile_text", "FROM b\n"),
        ("build_args", {"A": "2"}),
        ("target", "t"),
        ("platform", "linux/arm64"),
        ("context_digest", "sha256:d"),
    ]:
        assert plan_hash(**{**base, k: v}) != h, k
    assert plan_hash(**base, parents={"base": "sha256:1"}) != h


class _Resp(io.BytesIO):
    def __init__(self, body: bytes, headers: dict[str, str], status: int = 200):
        super().__init__(body)
        self.status = status
        self.headers = Message()
        for k, v in headers.items():
            self.headers[k] = v


def test_registry_anonymous_token_flow_and_index_platforms() -> None:
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"platform": {"os": "linux", "architecture": "amd64"}},
            {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"platform": {"os": "unknown", "architecture": "unknown"}},
        ],
    }
    seen: list[tuple[str, str | None]] = []

    def opener(req: Any, timeout: float) -> Any:
        url = req.full_url
        seen.append((url, req.get_header("Authorization")))
        if url.startswith("https://auth.example/token"):
            assert "scope=repository%3Arocm%2Fvllm%3Apull" in url and "service=reg" in url
            return _Resp(json.dumps({"token": "T0K"}).encode(), {})
        if req.get_header("Authorization") != "Bearer T0K":
            hdrs = Message()
            hdrs["WWW-Authenticate"] = (
                'Bearer realm="https://auth.example/token",service="reg",'
                'scope="repository:rocm/vllm:pull"'
            )
            raise urllib.error.HTTPError(url, 401, "unauthorized", hdrs, None)
        return _Resp(json.dumps(index).encode(), {"Docker-Content-Digest": "sha256:idx"})

    info = Registry(opener=opener).manifest("example.org/rocm/vllm:latest")
    assert info.found and info.digest == "sha256:idx"
    assert info.platforms == ["linux/amd64", "linux/arm64/v8"]
    assert info.has_platform("linux/arm64") and not info.has_platform("linux/ppc64le")
    assert seen[0][0] == "https://example.org/v2/rocm/vllm/manifests/latest"
    assert seen[-1][1] == "Bearer T0K"


def test_registry_unreachable_and_missing() -> None:
    def down(req: Any, timeout: float) -> Any:
        raise urllib.error.URLError("connection refused")

    info = Registry(opener=down).manifest("127.0.0.1:1/x:1")
    assert info.status == "unreachable" and "http://127.0.0.1:1" in info.detail

    def missing(req: Any, timeout: float) -> Any:
        raise urllib.error.HTTPError(req.full_url, 404, "nf", Message(), None)

    assert Registry(opener=missing).manifest("example.org/x:1").status == "not-found"


def test_legacy_builder_refuses_buildkit_dockerfile(tmp_path: Any) -> None:
    from hwdock.engine.execute import BuildOptions, check_builder, prepare
    from hwdock.engine.runlog import Events

    legacy = ContainerEngine("docker", "/usr/local/bin/docker", "legacy", "28.1")
    seen: list[dict[str, Any]] = []
    ev = Events(seen.append)
    (tmp_path / "Dockerfile").write_text("FROM a\nRUN --mount=type=cache,target=/c true\n")
    step = ImageStep(id="app", action="build", image="x:1", reason="r", context=str(tmp_path))
    pb = prepare(step, BuildOptions(base_dir=tmp_path), None)
    with pytest.raises(HwdockError) as ei:
        check_builder(legacy, pb, ev)
    assert ei.value.exit_code == ExitCode.ENGINE_UNAVAILABLE
    assert "RUN --mount=type=cache" in str(ei.value) and "buildx" in (ei.value.hint or "")
    (tmp_path / "Dockerfile").write_text("FROM a\nRUN true\n")
    check_builder(legacy, prepare(step, BuildOptions(base_dir=tmp_path), None), ev)
    assert seen and seen[0]["event"] == "warning" and "legacy builder" in seen[0]["message"]
    check_builder(DOCKER, pb, ev)  # BuildKit engines never warn
    assert len(seen) == 1


def test_incompatible_plan_is_refused_unless_forced() -> None:
    from hwdock.commands.engine import refuse_incompatible
    from hwdock.findings import Finding
    from hwdock.plan.model import Plan

    plan = Plan(recipe="vllm", platform="rocm", route="build-base-and-app")
    refuse_incompatible(plan, force=False)  # no verdicts: nothing to refuse
    plan.verdicts.append(Finding("gfx-unsupported", "gfx803 is not supported", "error"))
    with pytest.raises(HwdockError) as ei:
        refuse_incompatible(plan, force=False)
    assert ei.value.exit_code == ExitCode.INCOMPATIBLE and "gfx803" in str(ei.value)
    refuse_incompatible(plan, force=True)


def test_run_spec_from_image_model_and_env_names(tmp_path: Any) -> None:
    from hwdock.commands.engine import make_run_spec
    from hwdock.errors import UsageError

    model = tmp_path / "Qwen3-0.6B"
    model.mkdir()
    spec = make_run_spec(
        None,
        "vllm/vllm-openai:latest",
        model=model,
        args=[],
        name="srv",
        ports=["8000"],
        devices=["/dev/kfd"],
        group_add=[109],
        gpus=None,
        env_names=["HF_TOKEN"],
    )
    assert spec.command == ["--model", "/models/Qwen3-0.6B"]
    assert spec.mounts[0].read_only and spec.mounts[0].source == str(model.resolve())
    assert spec.ports == [(8000, 8000)] and spec.env_passthrough == ["HF_TOKEN"]
    with pytest.raises(UsageError):
        make_run_spec(
            None,
            "x",
            model=None,
            args=[],
            name=None,
            ports=[],
            devices=[],
            group_add=[],
            gpus=None,
            env_names=["HF_TOKEN=secret"],
        )


def test_build_event_schema_rejects_malformed_events() -> None:
    import jsonschema

    from hwdock.engine.runlog import Events

    schema = json.loads(
        (Path(__file__).resolve().parent.parent / "src/hwdock/schemas/build-event.json").read_text()
    )
    got: list[dict[str, Any]] = []
    ev = Events(got.append)
    ev.emit("step-done", step="app", image="x:1", result="built", image_id="sha256:1", seconds=1.0)
    ev.emit("skipped", step="app", image="x:1", reason="up-to-date")
    for e in got:
        jsonschema.validate(e, schema)
    for bad in (
        {**got[0], "result": "maybe"},
        {k: v for k, v in got[0].items() if k != "image_id"},
        {**got[1], "schema_version": 2},
        {**got[1], "event": "unknown"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_registry_sends_stored_credentials_only_to_the_token_realm(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from hwdock.engine.registry import docker_config_auth

    cred = base64.b64encode(b"me:s3cret-pass").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": cred}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert docker_config_auth("reg.example") == cred
    assert docker_config_auth("other.example") is None
    sent: list[tuple[str, str | None]] = []

    def opener(req: Any, timeout: float) -> Any:
        sent.append((req.full_url, req.get_header("Authorization")))
        if req.full_url.startswith("https://auth.reg.example/"):
            return _Resp(json.dumps({"token": "PRIV"}).encode(), {})
        if req.get_header("Authorization") != "Bearer PRIV":
            hdrs = Message()
            hdrs["WWW-Authenticate"] = 'Bearer realm="https://auth.reg.example/token"'
            raise urllib.error.HTTPError(req.full_url, 401, "u", hdrs, None)
        return _Resp(b'{"schemaVersion": 2, "manifests": []}', {})

    info = Registry(opener=opener).manifest("reg.example/team/app:1")
    assert info.found
    assert [a for u, a in sent if "auth.reg.example" in u] == [f"Basic {cred}"]
    assert all(a != f"Basic {cred}" for u, a in sent if "auth.reg.example" not in u)
    assert "s3cret" not in json.dumps(info.__dict__)


@pytest.mark.parametrize("xdg", [None, "", "  ", "/srv/state", " /srv/state ", "relative/st"])
def test_state_dir_is_platformdirs_folder_on_linux(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """state_dir() spares the build platformdirs' import; it must name the same folder."""
    import sys

    from platformdirs import user_state_dir

    from hwdock.engine.runlog import state_dir

    if not sys.platform.startswith("linux"):
        pytest.skip("the inline rule is Linux's")
    monkeypatch.delenv("HWDOCK_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    if xdg == "relative/st":  # the XDG spec: a relative path is ignored (older platformdirs
        assert state_dir() == tmp_path / ".local" / "state" / "hwdock"  # took it as it was)
    else:
        assert state_dir() == Path(user_state_dir("hwdock", appauthor=False))


def test_a_client_gone_since_detection_is_exit_4_not_a_traceback(tmp_path: Path) -> None:
    gone = ContainerEngine("podman", str(tmp_path / "podman"), "podman")  # no API: the client
    with pytest.raises(HwdockError) as err:
        gone.image_inspect_start("busybox")
    assert err.value.exit_code == ExitCode.ENGINE_UNAVAILABLE
    assert "cannot be run" in str(err.value)
    with pytest.raises(HwdockError) as err:
        gone.image_inspect("busybox")
    assert err.value.exit_code == ExitCode.ENGINE_UNAVAILABLE


def _docker_down_podman_up(tmp_path: Any) -> Any:
    """A folder for PATH: a docker client whose daemon does not answer, a podman that does."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "docker").write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"
    )
    (bin_ / "podman").write_text("#!/bin/sh\necho 4.3.1\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    return bin_


def test_podman_chosen_because_docker_is_down_is_said_and_not_remembered(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hwdock.engine.detect import engine_warnings

    bin_ = _docker_down_podman_up(tmp_path)
    monkeypatch.setenv("PATH", str(bin_))
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("HWDOCK_ENGINE", raising=False)
    monkeypatch.setattr("hwdock.engine.detect.EXTRA_DOCKER_CLIENTS", ())
    got = find_engine()
    assert got.name == "podman"
    (warning,) = engine_warnings(got)
    assert "no Docker daemon answers" in warning and "--engine podman" in warning
    assert not list((tmp_path / "state").rglob("*engine*"))  # a fallback is not cached
    chosen = find_engine("podman")  # asked for by name: nothing to warn about
    assert chosen.name == "podman" and engine_warnings(chosen) == []


def test_build_prints_the_fallback_warning(tmp_path: Any) -> None:
    """The warning reaches the user: a build event (and the line people read)."""
    bin_ = _docker_down_podman_up(tmp_path)
    import os
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PATH": str(bin_),
        "PYTHONPATH": str(root / "src"),
        "HWDOCK_STATE_DIR": str(tmp_path / "state"),
        # every Docker client, /usr/bin/docker too, asks a daemon that is not there
        "DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock",
    }
    env.pop("HWDOCK_ENGINE", None)
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    out = subprocess.run(
        [sys.executable, "-m", "hwdock", "build", str(tmp_path / "ctx"), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "no Docker daemon answers" in out.stdout + out.stderr, out.stdout + out.stderr


def _fake_helper(bin_: Any, name: str, known: dict[str, tuple[str, str]]) -> None:
    """A `docker-credential-<name>` speaking the helpers' protocol: server on stdin, JSON out."""
    cases = "\n".join(
        f'  "{server}") printf \'{{"ServerURL":"%s","Username":"{u}","Secret":"{p}"}}\' '
        f'"$server"; exit 0;;'
        for server, (u, p) in known.items()
    )
    script = (
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 2\n'
        "read -r server\n"
        f'echo "$server" >> "{bin_}/asked-{name}"\n'
        'case "$server" in\n'
        f"{cases}\n"
        "esac\n"
        "echo 'credentials not found in native keychain'\n"
        "exit 1\n"
    )
    path = bin_ / f"docker-credential-{name}"
    path.write_text(script)
    path.chmod(0o755)


def test_registry_credentials_from_the_docker_credential_helpers(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from hwdock.engine.registry import docker_config_auth

    bin_ = tmp_path / "bin"
    bin_.mkdir()
    _fake_helper(bin_, "store", {"https://index.docker.io/v1/": ("hubuser", "hub-pat")})
    _fake_helper(bin_, "ecr", {"123.dkr.example": ("AWS", "ecr-pass")})
    _fake_helper(bin_, "tok", {"tok.example": ("<token>", "refresh-token")})
    monkeypatch.setenv("PATH", f"{bin_}:/usr/bin:/bin")
    cfg = {
        "credsStore": "store",
        "credHelpers": {"123.dkr.example": "ecr", "tok.example": "tok", "bad.example": "../x"},
        "auths": {"plain.example": {"auth": base64.b64encode(b"u:file-pass").decode()}},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))

    def decoded(domain: str) -> str | None:
        got = docker_config_auth(domain)
        return base64.b64decode(got).decode() if got else None

    assert decoded("docker.io") == "hubuser:hub-pat"  # the default store, Hub's v1 key
    assert (bin_ / "asked-store").read_text().splitlines()[0] == "https://index.docker.io/v1/"
    assert decoded("123.dkr.example") == "AWS:ecr-pass"  # the registry's own helper first
    assert decoded("tok.example") is None  # an identity token is not a password
    assert decoded("plain.example") == "u:file-pass"  # store has none: the file's entry
    assert decoded("bad.example") is None  # a helper name that is a path is never run
    assert "bad.example" not in (bin_ / "asked-store").read_text()
    assert decoded("nowhere.example") is None
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the helper not installed: the file only
    assert decoded("docker.io") is None and decoded("plain.example") == "u:file-pass"
