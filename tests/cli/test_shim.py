"""The upstream-test shim and runner (tests/upstream)."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIM = os.path.join(ROOT, "tests", "upstream", "shim", "ostree")
RUN = os.path.join(ROOT, "tests", "upstream", "run")


def _shim(argv, **env):
    e = dict(os.environ, **env)
    e.pop("OSTREE_PY_DEBUG", None)
    return subprocess.run([SHIM] + argv, capture_output=True, text=True, env=e, cwd="/")


def test_shim_is_ostree_py_named_ostree():
    r = _shim(["--help"])
    assert r.returncode == 0 and r.stdout.startswith("Usage:\n  ostree [OPTION…] COMMAND\n")
    assert _shim(["--version"]).stdout.startswith("libostree:\n Version: '2025.2'\n")


def test_fast_and_plain_start_behave_the_same():
    for argv in (["--help"], ["nosuch"], ["admin", "--foo"], ["--version"]):
        fast, plain = _shim(argv), _shim(argv, OSTREE_PY_SHIM_PLAIN="1")
        assert (fast.returncode, fast.stdout, fast.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_shim_does_not_leak_its_program_name(tmp_path):
    # Children (external commands) must not inherit OSTREE_PY_PRGNAME.
    ext = tmp_path / "ostree-showenv"
    ext.write_text("#!/bin/sh\nenv\n")
    ext.chmod(0o755)
    r = _shim(["showenv"], PATH=f"{tmp_path}:{os.environ['PATH']}")
    assert r.returncode == 0 and "OSTREE_PY_PRGNAME" not in r.stdout and "PATH=" in r.stdout


def test_runner_reports_each_test_and_a_total(tmp_path):
    r = subprocess.run([RUN, "-j", "2", "-o", str(tmp_path), "test-cli-extensions.sh"],
                       capture_output=True, text=True)
    lines = r.stdout.strip().split("\n")
    assert lines[0] == "test-cli-extensions.sh rc=0 ok=2 notok=0 PASS", r.stdout
    assert lines[-1] == "1 passed, 0 failed"
    assert r.returncode == 0
    assert (tmp_path / "test-cli-extensions.sh.log").read_text().count("\nok ") >= 1


def test_runner_counts_a_failure(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test-fails.sh").write_text("echo 'ok 1 fine'\necho 'not ok 2 broken'\n")
    (tests / "test-exits.sh").write_text("exit 3\n")
    r = subprocess.run([RUN, "-o", str(tmp_path / "out"), "test-fails.sh", "test-exits.sh"],
                       capture_output=True, text=True,
                       env=dict(os.environ, OSTREE_UPSTREAM_TESTS=str(tests)))
    assert "test-fails.sh rc=0 ok=1 notok=1 FAIL" in r.stdout
    assert "test-exits.sh rc=3 ok=0 notok=0 FAIL" in r.stdout
    assert r.stdout.strip().split("\n")[-1] == "0 passed, 2 failed"
    assert r.returncode != 0
