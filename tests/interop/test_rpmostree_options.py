"""rpm-ostree-py's transaction options: -r/--reboot (a fake systemctl on PATH),
--unchanged-exit-77, --idempotent, --allow-inactive, --download-only then -C,
--lock-finalization on a sysroot that is not booted, --enablerepo/--disablerepo/
--releasever outside a container build, and ``deploy REVISION`` by version (local
history, and a remote's history pulled in batches) or checksum (branch check).
"""

import functools
import http.server
import os
import subprocess
import threading

import pytest

from test_rpmostree import (OS, RPMOSTREE, _QuietHandler, commit_base, deploy_dir, make_base, new_sysroot,  # noqa: F401
                            ostree, rpms, status_json, sysroot)


def run(sysroot_path, *args, env=None):
    e = dict(os.environ, LC_ALL="C.UTF-8", **(env or {}))
    return subprocess.run([*RPMOSTREE, *map(str, args), f"--sysroot={sysroot_path}"], capture_output=True,
                          text=True, env=e)


def ok(p):
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p


def listing(s):
    return sorted(os.listdir(s / "ostree/deploy" / OS / "deploy"))


@pytest.fixture
def fake_systemctl(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.log"
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit ${{FAKE_SYSTEMCTL_RC:-0}}\n')
    (bindir / "systemctl").chmod(0o755)
    return {"env": {"PATH": f"{bindir}:{os.environ['PATH']}"}, "log": log}


def test_reboot_unchanged_idempotent(sysroot, fake_systemctl):
    s = sysroot["path"]
    env = fake_systemctl["env"]
    log = fake_systemctl["log"]
    n = len(status_json(s))
    p = ok(run(s, "install", "-r", "foo", env=env))
    assert log.read_text() == "reboot\n"
    assert "Changes queued for next boot" not in p.stdout and "Added:" not in p.stdout
    assert len(status_json(s)) == n + 1 and status_json(s)[0]["packages"] == ["foo"]
    # nothing changed: no reboot, "No change.", 0 or 77
    p = ok(run(s, "install", "--idempotent", "-r", "foo", env=env))
    assert p.stdout == "No change.\n" and log.read_text() == "reboot\n"
    p = run(s, "install", "--idempotent", "--unchanged-exit-77", "foo", env=env)
    assert (p.returncode, p.stdout) == (77, "No change.\n")
    p = run(s, "install", "foo")
    assert (p.returncode, p.stderr) == (1, "error: Package/capability 'foo' is already requested\n")
    p = run(s, "uninstall", "--idempotent", "--unchanged-exit-77", "nosuch")
    assert (p.returncode, p.stdout) == (77, "No change.\n")
    p = ok(run(s, "uninstall", "--idempotent", "nosuch"))
    assert p.stdout == "No change.\n"
    # a package of the base: refused unless --allow-inactive; nothing deployed
    n = len(status_json(s))
    p = run(s, "install", "basefs")
    assert p.returncode == 1 and p.stderr == ('error: "basefs" is already provided by: basefs-1.0-1.noarch. '
                                              "Use --allow-inactive to explicitly require it.\n")
    assert len(status_json(s)) == n
    # a failing systemctl is an error (the deployment is written)
    p = run(s, "uninstall", "-r", "foo", env=dict(env, FAKE_SYSTEMCTL_RC="3"))
    assert (p.returncode, p.stderr) == (1, "error: Failed to initiate reboot: systemctl reboot exited with "
                                           "status 3\n")
    assert status_json(s)[0]["requested-packages"] == []
    # rollback -r
    ok(run(s, "rollback", "-r", env=env))
    assert log.read_text() == "reboot\nreboot\nreboot\n"
    assert status_json(s)[0]["requested-packages"] == ["foo"]
    ok(run(s, "uninstall", "foo"))


def test_download_only_then_cache_only(sysroot):
    s = sysroot["path"]
    repo = f"--repo={s}/ostree/repo"
    ok(run(s, "cleanup", "-r", "-b"))
    assert not [r for r in ostree(repo, "refs").stdout.split() if r.startswith("rpmostree/pkg/")]
    before = listing(s)
    p = ok(run(s, "install", "--download-only", "foo"))
    assert p.stdout.endswith("Importing packages... done\nUpdate downloaded.\n"), p.stdout
    assert listing(s) == before and status_json(s)[0]["requested-packages"] == []
    refs = ostree(repo, "refs").stdout.split()
    assert "rpmostree/pkg/foo/1.0-1.noarch" in refs and "rpmostree/pkg/libbar/1.0-1.noarch" in refs
    # -C: cached metadata and packages only
    p = ok(run(s, "install", "-C", "foo"))
    assert "Added:\n  foo-1.0-1.noarch\n  libbar-1.0-1.noarch\n" in p.stdout and "Downloading" not in p.stdout
    ok(run(s, "uninstall", "foo"))


def test_refused_options(sysroot):
    s = sysroot["path"]
    before = listing(s)
    p = run(s, "install", "--lock-finalization", "foo")
    assert (p.returncode, p.stderr) == (1, "error: --lock-finalization: the sysroot is not booted, so the "
                                           "deployment is written at once and has no finalization to lock\n")
    # nothing to deploy: nothing to lock either
    p = run(s, "upgrade", "--lock-finalization")
    assert (p.returncode, p.stdout) == (0, "No upgrade available.\n")
    for opt in ("enablerepo", "disablerepo", "releasever"):
        for cmd in ("install", "uninstall"):
            p = run(s, cmd, f"--{opt}=x", "foo")
            assert (p.returncode, p.stderr) == (1, f"error: --{opt} currently only works in a container build\n")
    assert listing(s) == before


def test_deploy_revision(sysroot, rpms, tmp_path):
    s = sysroot["path"]
    base1 = sysroot["base1"]
    tree = tmp_path / "base2"
    make_base(tree, rpms, "2")
    base2 = commit_base(s, tree, "2.0")
    p = ok(run(s, "deploy", "1.0"))
    assert p.stdout.startswith("Resolving version '1.0'\n")
    d = status_json(s)[0]
    assert d["checksum"] == base1
    origin = (s / "ostree/deploy" / OS / "deploy" / f"{d['checksum']}.{d['serial']}.origin").read_text()
    assert f"override-commit={base1}\n" in origin
    ok(run(s, "deploy", "version=2.0"))
    assert status_json(s)[0]["checksum"] == base2
    p = run(s, "deploy", "version=9.9")
    assert (p.returncode, p.stderr) == (1, f"error: Version 9.9 not found in {OS}/base\n")
    p = run(s, "deploy", "revision=abc")
    assert (p.returncode, p.stderr) == (1, "error: Invalid checksum 'abc'\n")
    # a checksum off the branch: refused unless --skip-branch-check
    other = ostree(f"--repo={s}/ostree/repo", "commit", "-b", f"{OS}/elsewhere", f"--tree=dir={tree}",
                   "--add-metadata-string=version=7", "--owner-uid=0", "--owner-gid=0").stdout.strip()
    p = run(s, "deploy", f"revision={other}")
    assert p.returncode == 1 and p.stdout == f"Validating checksum '{other}'\n"
    assert p.stderr == f"error: Checksum {other} not found in {OS}/base\n"
    ok(run(s, "deploy", "--skip-branch-check", other))
    assert status_json(s)[0]["checksum"] == other
    # unchanged: 77 with --unchanged-exit-77
    p = run(s, "deploy", "--skip-branch-check", "--unchanged-exit-77", other)
    assert (p.returncode, p.stdout) == (77, "No change.\n")


def test_deploy_checksum_past_a_pruned_parent(rpms, tmp_path):
    """The branch's history is walked commit by commit; a parent a cleanup pruned ends the
    walk with rpm-ostree's load error, not a claim that the checksum is off the branch."""
    s, base1 = new_sysroot(tmp_path, rpms)
    tree = tmp_path / "base1"
    (tree / "usr/share/n").write_text("2\n")
    base2 = commit_base(s, tree, "2.0")
    (tree / "usr/share/n").write_text("3\n")
    base3 = commit_base(s, tree, "3.0")
    ok(run(s, "upgrade"))           # deploys base3; the cleanup prunes base2, kept by nothing
    assert [d["checksum"] for d in status_json(s)] == [base3, base1]
    assert not (s / "ostree/repo/objects" / base2[:2] / f"{base2[2:]}.commit").exists()
    p = run(s, "deploy", base1)
    assert (p.returncode, p.stdout) == (1, f"Validating checksum '{base1}'\n")
    assert p.stderr == f"error: No such metadata object {base2}.commit\n"
    ok(run(s, "deploy", base3))     # still on the walk: found before the gap


def test_deploy_same_revision_on_a_pinned_deployment_is_no_change(rpms, tmp_path):
    """ostree's pin lives in the origin's [libostree-transient] group: it is not a change
    of what the deployment asks for."""
    s, base1 = new_sysroot(tmp_path, rpms)
    ok(run(s, "deploy", base1))
    ostree("admin", "pin", f"--sysroot={s}", "0")
    p = run(s, "deploy", base1)
    assert (p.returncode, p.stdout) == (0, f"Validating checksum '{base1}'\nNo change.\n"), p
    assert len(status_json(s)) == 2


def test_deploy_version_from_remote_history(sysroot, rpms, tmp_path):
    """A version 25 commits down a remote branch: found by pulling commit metadata in batches."""
    s = sysroot["path"]
    served = tmp_path / "served"
    ostree(f"--repo={served}", "init", "--mode=archive")
    tree = tmp_path / "tree"
    make_base(tree, rpms, "5")
    for i in range(30):
        (tree / "usr/share/n").write_text(f"{i}\n")
        ostree(f"--repo={served}", "commit", "-b", f"{OS}/stable", f"--tree=dir={tree}",
               f"--add-metadata-string=version=5.{i}", "--owner-uid=0", "--owner-gid=0")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        ostree(f"--repo={s}/ostree/repo", "remote", "add", "--no-gpg-verify", "far", url)
        ok(run(s, "rebase", f"far:{OS}/stable"))
        assert status_json(s)[0]["version"] == "5.29"
        p = ok(run(s, "deploy", "5.4"))
        assert p.stdout.startswith("Resolving version '5.4'\n")
        d = status_json(s)[0]
        assert d["version"] == "5.4" and d["origin"] == f"far:{OS}/stable"
        assert (deploy_dir(s, d) / "usr/share/n").read_text() == "4\n"
        p = run(s, "deploy", "version=6.0")
        assert (p.returncode, p.stderr) == (1, f"error: Version 6.0 not found in far:{OS}/stable\n")
    finally:
        server.shutdown()
