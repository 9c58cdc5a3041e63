"""SIGKILL during ``admin deploy`` and ``admin upgrade`` (issue 5): at every
sampled moment (deployment writes, each step of the boot configuration swap,
ref writes, object writes and prune deletions, random delays) the sysroot's
current boot entries all point at complete deployments with their kernels,
the previous deployment still boots, the repo passes the reference's fsck,
and rerunning the command finishes the job.
"""

import os
import random
import re
import shutil

import pytest

import reliability_harness as H

OS = "testos"
REF = "testos/stable"


def _default_entry(sysroot):
    entries = H.boot_entries(sysroot)
    return max(entries, key=lambda e: int(e["version"]))


def _entry_commits(sysroot):
    out = []
    for e in sorted(H.boot_entries(sysroot), key=lambda e: -int(e["version"])):
        m = re.search(r"ostree=(\S+)", e["options"])
        out.append(os.path.basename(os.path.realpath(os.path.join(sysroot, m.group(1).lstrip("/")))).split(".")[0])
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server repo (v1, then v2 of testos/stable) and a sysroot with v1 deployed.

    ``tpl_v1``: the sysroot with v1 deployed; ``tpl_v2``: the same with v2 pulled.
    """
    base = tmp_path_factory.mktemp("world")
    server = str(base / "server")
    H.ok(["init", f"--repo={server}", "--mode=archive"])
    H.make_os_tree(str(base / "t1"), 1)
    H.make_os_tree(str(base / "t2"), 2)
    H.ok(["commit", f"--repo={server}", "-b", REF, "--add-metadata-string=version=1", f"--tree=dir={base / 't1'}"])
    v1 = H.ok(["rev-parse", f"--repo={server}", REF]).out.strip()
    sr = str(base / "tpl_v1")
    os.makedirs(sr)
    H.ok(["admin", "init-fs", sr])
    H.ok(["admin", "os-init", f"--sysroot={sr}", OS])
    os.makedirs(os.path.join(sr, "boot/loader.0"))
    os.makedirs(os.path.join(sr, "boot/syslinux"))
    os.symlink("loader.0", os.path.join(sr, "boot/loader"))
    open(os.path.join(sr, "boot/loader/syslinux.cfg"), "w").close()
    os.symlink("../loader/syslinux.cfg", os.path.join(sr, "boot/syslinux/syslinux.cfg"))
    repo = os.path.join(sr, "ostree/repo")
    H.ok(["remote", "add", f"--repo={repo}", "--no-gpg-verify", "origin", f"file://{server}", REF])
    H.ok(["pull", f"--repo={repo}", "origin", REF])
    H.ok(["admin", "deploy", f"--sysroot={sr}", f"--os={OS}", "--karg=root=LABEL=test", f"origin:{REF}"])
    H.check_sysroot(sr)
    H.ok(["commit", f"--repo={server}", "-b", REF, "--add-metadata-string=version=2", f"--tree=dir={base / 't2'}"])
    v2 = H.ok(["rev-parse", f"--repo={server}", REF]).out.strip()
    sr2 = str(base / "tpl_v2")
    H.copy_tree(sr, sr2)
    H.ok(["pull", f"--repo={os.path.join(sr2, 'ostree/repo')}", "origin", REF])
    return {"server": server, "v1": v1, "v2": v2, "tpl_v1": sr, "tpl_v2": sr2, "base": base}


def _cycle(tmp_path, template, args_for, expect, seed, delays=(0.5,), every=()):
    probe = str(tmp_path / "probe")
    H.copy_tree(template, probe)
    counts = H.count_checkpoints(args_for(probe), tmp_path)
    expect(probe)
    H.check_sysroot(probe)
    assert counts.get("bootloader"), counts
    points = H.kill_points(counts, None, seed, every, samples=1)
    v1 = _entry_commits(template)[0]
    cases = [("point", p) for p in points] + [("delay", d) for d in delays]
    rnd = random.Random(seed)
    for i, (how, what) in enumerate(cases):
        sr = str(tmp_path / f"k{i}")
        H.copy_tree(template, sr)
        if how == "point":
            H.run_killed_at(args_for(sr), *what)
        else:
            H.run_killed_after(args_for(sr), what * (0.5 + rnd.random()))
        H.check_sysroot(sr)
        # the previous deployment still boots (as the default or as the rollback)
        assert v1 in _entry_commits(sr), (how, what, _entry_commits(sr))
        H.ok(args_for(sr))
        expect(sr)
        H.check_sysroot(sr)
        shutil.rmtree(sr)
    return counts


def test_admin_deploy_killed(tmp_path, world):
    def args(sr):
        return ["admin", "deploy", f"--sysroot={sr}", f"--os={OS}", f"origin:{REF}"]

    def expect(sr):
        assert _entry_commits(sr)[0] == world["v2"]

    # every step of the boot configuration swap, sampled other points
    counts = _cycle(tmp_path, world["tpl_v2"], args, expect, seed=11, every=("bootloader",))
    assert counts["bootloader"] >= 6, counts


def test_admin_upgrade_killed(tmp_path, world):
    def args(sr):
        return ["admin", "upgrade", f"--sysroot={sr}", f"--os={OS}"]

    def expect(sr):
        commits = _entry_commits(sr)
        assert commits[0] == world["v2"], commits
        assert world["v1"] in commits, commits

    counts = _cycle(tmp_path, world["tpl_v1"], args, expect, seed=12)
    assert counts.get("object") and counts.get("ref"), counts
