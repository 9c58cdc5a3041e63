"""The fault-injection hook itself: OSTREE_PY_KILL_AT kills at the Nth hit of a
checkpoint (or of any, with ``*``), the checkpoint log counts hits, and
without either variable the hook is the do-nothing function."""

import os
import subprocess
import sys

import reliability_harness as H

PROG = """
from ostree_py.util import faults
for name in ["a", "b", "a", "a"]:
    faults.checkpoint(name)
    print(name, flush=True)
print(faults.checkpoint is faults._noop)
"""


def _run(env):
    e = H._env(env)
    return subprocess.run([sys.executable, "-c", PROG], capture_output=True, text=True, env=e)


def test_unarmed_is_noop():
    r = _run({})
    assert r.returncode == 0 and r.stdout.split() == ["a", "b", "a", "a", "True"]


def test_kill_at_nth_hit():
    r = _run({"OSTREE_PY_KILL_AT": "a:2"})
    assert r.returncode == H.SIGKILL_RC and r.stdout.split() == ["a", "b"]
    r = _run({"OSTREE_PY_KILL_AT": "*:4"})
    assert r.returncode == H.SIGKILL_RC and r.stdout.split() == ["a", "b", "a"]
    r = _run({"OSTREE_PY_KILL_AT": "c:1"})
    assert r.returncode == 0 and r.stdout.split()[-1] == "False"


def test_checkpoint_log(tmp_path):
    log = tmp_path / "log"
    r = _run({"OSTREE_PY_CHECKPOINT_LOG": str(log)})
    assert r.returncode == 0
    assert log.read_text().split() == ["a", "b", "a", "a"]
