"""rpm-ostree-py on a booted system (simulated as in test_staged): deployments are
staged, as rpm-ostree does, and --lock-finalization keeps finalize-staged from
finishing them; -r/--reboot runs systemctl reboot (a fake one on PATH)."""

import os

from test_staged import OS, REF, _booted, sysroot  # noqa: F401


def test_upgrade_stages_and_lock_finalization(sysroot, tmp_path):
    r = _booted(sysroot, f"""
set -e
rpm-ostree-py upgrade --lock-finalization
test -e /run/ostree/staged-deployment
test -e /run/ostree/staged-deployment-locked
ostree admin status | grep -c staged
ostree-py admin finalize-staged
test -e /run/ostree/staged-deployment   # locked: left as it was
ls /boot/loader/entries | wc -l
""")
    assert "Staging deployment... done\n" in r.stdout and r.stdout.endswith("1\n1\n"), r.stdout


def test_staged_without_lock_is_finalized(sysroot, tmp_path):
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    (bindir / "systemctl").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/systemctl.log\n")
    (bindir / "systemctl").chmod(0o755)
    r = _booted(sysroot, f"""
set -e
PATH={bindir}:$PATH rpm-ostree-py upgrade -r
test ! -e /run/ostree/staged-deployment-locked
ostree-py admin finalize-staged
test ! -e /run/ostree/staged-deployment
ls /boot/loader/entries | wc -l
""")
    assert r.stdout.endswith("2\n"), r.stdout
    assert (tmp_path / "systemctl.log").read_text() == "reboot\n"
    assert os.listdir(sysroot / "ostree/deploy" / OS / "deploy")
