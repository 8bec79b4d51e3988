"""`.dockerignore` semantics and the context digest (pure parts; the real-engine comparison
is in test_engine_build.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwdock.engine.context import context_digest
from hwdock.engine.dockerignore import Matcher, clean, parse


def m(text: str) -> Matcher:
    return Matcher(parse(text))


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ("*.pyc", "a.pyc", True),
        ("*.pyc", "sub/a.pyc", False),  # "*" does not cross "/"
        ("**/*.pyc", "sub/deep/a.pyc", True),
        ("**/*.pyc", "a.pyc", True),  # "**/" matches zero segments too
        ("build", "build/x/y.o", True),  # a matching parent covers what is below
        ("/build", "build/x", True),  # leading "/" stripped
        ("./build/", "build/x", True),  # cleaned like filepath.Clean
        ("build", "src/build", False),  # anchored at the context root
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**", "a/x/y", True),
        ("a/**", "ab", False),
        ("?.txt", "a.txt", True),
        ("?.txt", "ab.txt", False),
        ("[a-c].txt", "b.txt", True),
        ("[^a-c].txt", "b.txt", False),
        ("[^a-c].txt", "d.txt", True),
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
        ("*\n!keep.log", "keep.log", False),  # exception re-includes
        ("*\n!keep.log", "other.log", True),
        ("*.log\n!keep.log\nkeep.log", "keep.log", True),  # last match wins
        ("docs\n!docs/README.md", "docs/README.md", False),
        ("docs\n!docs/README.md", "docs/other.md", True),
        ("# comment\n\n  spaced.txt  ", "spaced.txt", True),
        ("# comment", "# comment", False),
        ("a.b", "axb", False),  # "." is literal
        ("a+b(c)", "a+b(c)", True),
        ("*/temp*", "x/temporary", True),
        ("*/temp*", "x/y/temp", False),
        ("temp?", "temp/x", False),
    ],
)
def test_patterns(patterns: str, path: str, excluded: bool) -> None:
    assert m(patterns).excluded(path) is excluded


def test_clean_matches_go() -> None:
    assert clean("./a//b/../c/") == "a/c"
    assert clean("") == "."
    assert clean("//x") == "/x"


def test_may_include_below_is_conservative() -> None:
    mt = m("docs\n!docs/README.md\n!other/x")
    assert mt.may_include_below("docs")
    assert not mt.may_include_below("build")
    assert not m("build").may_include_below("build")
    assert m("build\n!**/keep").may_include_below("build")


segment = st.text(alphabet="abc.", min_size=1, max_size=3).filter(lambda s: s not in (".", ".."))


@given(st.lists(segment, min_size=1, max_size=4))
def test_literal_pattern_excludes_itself_and_below(parts: list[str]) -> None:
    path = "/".join(parts)
    assert m(path).excluded(path)
    assert m(path).excluded(path + "/child")
    assert not m("!" + path).excluded(path)


@given(st.lists(segment, min_size=1, max_size=4))
def test_double_star_suffix_matches_any_depth(parts: list[str]) -> None:
    path = "/".join(parts)
    assert m("**/" + parts[-1]).excluded(path)
    assert not m("**/" + parts[-1] + "x").excluded(path)


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_context_digest_sees_changes_and_ignores_ignored(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.txt": "a", "sub/b.txt": "b", "build/x.o": "x", ".dockerignore": "build\n"})
    d1 = context_digest(tmp_path)
    assert d1.files == 3  # a.txt, sub/b.txt, .dockerignore
    assert context_digest(tmp_path) == d1  # stable

    (tmp_path / "build" / "y.o").write_text("ignored")
    os.utime(tmp_path / "build", ns=(1, 1))
    assert context_digest(tmp_path).digest == d1.digest  # ignored paths do not count

    (tmp_path / "sub" / "b.txt").write_text("bb")  # size changes
    d2 = context_digest(tmp_path)
    assert d2.digest != d1.digest

    st_ = (tmp_path / "a.txt").stat()
    (tmp_path / "a.txt").write_text("z")  # same size, new mtime
    os.utime(tmp_path / "a.txt", ns=(st_.st_atime_ns, st_.st_mtime_ns + 1000))
    d3 = context_digest(tmp_path)
    assert d3.digest != d2.digest

    (tmp_path / "new.txt").write_text("")
    assert context_digest(tmp_path).digest != d3.digest


def test_a_context_reached_through_a_symlink_is_walked_and_links_inside_are_not_followed(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    _tree(real, {"a.txt": "a", "sub/b.txt": "b"})
    (real / "inside").symlink_to("sub")  # an entry of the context: its target is not walked
    (tmp_path / "link").symlink_to("real")
    d = context_digest(tmp_path / "link")
    assert d == context_digest(real)
    assert d.files == 3  # a.txt, sub/b.txt and the link itself


def test_context_digest_known_limit_same_size_and_mtime(tmp_path: Path) -> None:
    """The documented trade-off: content is not read, so size+mtime preserved hides an edit."""
    _tree(tmp_path, {"a.txt": "aaaa"})
    st_ = (tmp_path / "a.txt").stat()
    d1 = context_digest(tmp_path)
    (tmp_path / "a.txt").write_text("bbbb")
    os.utime(tmp_path / "a.txt", ns=(st_.st_atime_ns, st_.st_mtime_ns))
    assert context_digest(tmp_path).digest == d1.digest


def test_context_digest_exception_inside_excluded_dir(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {"docs/README.md": "r", "docs/other.md": "o", ".dockerignore": "docs\n!docs/README.md\n"},
    )
    d1 = context_digest(tmp_path)
    assert d1.files == 2  # .dockerignore and docs/README.md
    (tmp_path / "docs" / "other.md").write_text("changed, but ignored")
    assert context_digest(tmp_path).digest == d1.digest
    (tmp_path / "docs" / "README.md").write_text("changed and seen")
    assert context_digest(tmp_path).digest != d1.digest


def test_dockerfile_own_ignore_file_counts_only_what_both_leave_out(tmp_path: Path) -> None:
    from hwdock.engine.execute import BuildOptions, compute_plan_hash, prepare
    from hwdock.plan.model import ImageStep

    _tree(tmp_path, {"Dockerfile.app": "FROM a\n", "a.log": "1", "b.tmp": "2", "src/x": "3"})
    (tmp_path / ".dockerignore").write_text("*.log\n*.tmp\n")
    step = ImageStep(
        id="app",
        action="build",
        image="x:1",
        reason="r",
        context=str(tmp_path),
        dockerfile="Dockerfile.app",
    )
    pb = prepare(step, BuildOptions(base_dir=tmp_path), None)
    h1 = compute_plan_hash(pb, {})
    (tmp_path / "b.tmp").write_text("22")
    assert compute_plan_hash(pb, {}) == h1  # ignored by the context's file
    (tmp_path / "Dockerfile.app.dockerignore").write_text("*.log\n")  # sends b.tmp
    h2 = compute_plan_hash(pb, {})
    assert h2 != h1
    (tmp_path / "b.tmp").write_text("222")
    assert compute_plan_hash(pb, {}) != h2  # one of the two engines would send it
    h3 = compute_plan_hash(pb, {})
    (tmp_path / "a.log").write_text("11")
    assert compute_plan_hash(pb, {}) == h3  # both leave it out


def _shapes(root: Path) -> None:
    _tree(
        root,
        {
            "only/one/level/a.py": "a",  # a chain of single subdirectories first
            "only/one/level/x/b.py": "b",
            "only/one/level/y/c.py": "c",
            "only/one/level/y/__pycache__/c.pyc": "ignored",
            "only/one/level/z/deep/d.py": "d",
            "only/one/level/w.tmp": "ignored",
            "top.txt": "t",
            ".dockerignore": "**/__pycache__\n*.tmp\n**/*.tmp\n",
        },
    )
    (root / "only" / "one" / "level" / "x" / "link").symlink_to("../a.py")


def test_parallel_walk_gives_the_serial_digest(tmp_path: Path) -> None:
    _shapes(tmp_path)
    serial = context_digest(tmp_path, parallel=False)
    assert serial.files == 7  # a, b, c, d, top, .dockerignore, link
    assert context_digest(tmp_path, parallel=True) == serial
    # an edit in a subtree the helper hashes (every other one) is seen either way
    (tmp_path / "only/one/level/z/deep/d.py").write_text("dd")
    changed = context_digest(tmp_path, parallel=True)
    assert changed.digest != serial.digest
    assert changed == context_digest(tmp_path, parallel=False)
    # ignored files do not count in the parallel walk either
    (tmp_path / "only/one/level/y/__pycache__/new.pyc").write_text("x")
    (tmp_path / "only/one/level/z/deep/e.tmp").write_text("x")
    assert context_digest(tmp_path, parallel=True) == changed


def test_parallel_walk_survives_a_failed_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hwdock.engine import context as ctx_mod

    _shapes(tmp_path)
    serial = context_digest(tmp_path, parallel=False)

    def broken_helper(*args: object) -> tuple[int, int]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os._exit(3)  # dies without an answer
        os.close(w)
        return pid, r

    monkeypatch.setattr(ctx_mod, "_fork_helper", broken_helper)
    assert context_digest(tmp_path, parallel=True) == serial
