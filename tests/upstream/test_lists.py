"""The lists of upstream scripts that `make check` runs, and the runners' refusal of unknown ones."""

import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
SUITE_2022 = "/usr/libexec/installed-tests/libostree"
# The trixie chroot that tests/upstream/trixie.py builds (present once it ran).
SUITE_2025 = os.path.join(PROJECT, ".cache", "trixie", "root", SUITE_2022.lstrip("/"))


def names(path):
    with open(path, encoding="utf-8") as f:
        return [n for n in (line.split("#", 1)[0].strip() for line in f) if n]


@pytest.mark.parametrize("listed, suite", [("passing.txt", SUITE_2022), ("passing-2025.txt", SUITE_2025)])
def test_list_names_scripts_of_its_suite_once(listed, suite):
    scripts = names(os.path.join(HERE, listed))
    assert scripts, f"{listed} lists no script"
    bad = [n for n in scripts if not re.fullmatch(r"test-[A-Za-z0-9_.-]+\.(sh|py)", n)]
    assert not bad, f"{listed}: not a script name: {bad}"
    dups = sorted({n for n in scripts if scripts.count(n) > 1})
    assert not dups, f"{listed}: listed twice: {dups}"
    if not os.path.isdir(suite):
        pytest.skip(f"{suite} absent (make upstream-2025 builds it)")
    missing = [n for n in scripts if not os.path.isfile(os.path.join(suite, n))]
    assert not missing, f"{listed}: not in {suite}: {missing}"


@pytest.mark.skipif(not os.path.isdir(SUITE_2022), reason="ostree-tests not installed")
def test_run_refuses_a_script_not_in_the_suite(tmp_path):
    proc = subprocess.run([os.path.join(HERE, "run"), "-o", str(tmp_path), "test-basic.sh", "test-no-such.sh"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == f"error: test-no-such.sh is not in {SUITE_2022}\n"
    assert not os.path.exists(tmp_path / "test-basic.sh.log"), "ran a script before refusing the list"


@pytest.mark.skipif(not os.path.isdir(SUITE_2025), reason="no trixie chroot (make upstream-2025 builds it)")
def test_trixie_runner_refuses_a_script_not_in_the_suite(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("tests/upstream/trixie.py needs root")
    proc = subprocess.run([os.path.join(HERE, "trixie.py"), "-o", str(tmp_path), "test-basic.sh", "test-no-such.sh"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == "error: not in ostree-tests trixie: test-no-such.sh\n"
    assert os.listdir(tmp_path) == [], "ran something before refusing the list"
