"""Staged deployments on a booted system, with each tool staging and the other finalizing.

A booted ostree system is simulated in a private mount namespace: the first
deployment of a folder sysroot becomes ``/`` by chroot, with the physical
sysroot bind-mounted at /sysroot (so /ostree -> sysroot/ostree reaches it),
its /boot at /boot, the stateroot's /var at /var, a /run of its own holding
ostree-booted, and the host's /usr, /root and /work bound in so that Python,
ostree-py and the reference ostree run there. That is what both tools test to
decide they are booted: /run/ostree-booted exists and the deployment
directory is the same inode as /.

``admin deploy --stage`` then must leave the boot entries alone and write
/run/ostree/staged-deployment; ``admin status`` shows the deployment as
staged; /etc changes made after staging are carried over by
``admin finalize-staged``, which makes the staged deployment the default.
"""

import os
import shutil
import subprocess
import sys

import pytest

OS = "testos"
REF = "testos/main"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("chroot") is None,
    reason="needs root, unshare and chroot")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("OSTREE_SYSROOT_DEBUG", "mutable-deployments")
    monkeypatch.delenv("OSTREE_SYSROOT", raising=False)


def _write_tree(root, version):
    files = {
        "usr/lib/modules/5.0.0/vmlinuz": f"kernel {version}\n",
        "usr/lib/modules/5.0.0/initramfs.img": "an initramfs\n",
        "usr/lib/os-release": 'NAME=TestOS\nID=testos\nPRETTY_NAME="TestOS"\n',
        "usr/etc/conf": "default\n",
        "usr/share/version": f"{version}\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    # mount points for the simulated boot, and the usual symlinks
    for d in ("proc", "dev", "sysroot", "boot", "run", "var", "usr/bin") + HOST_DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"),
                         ("sbin", "usr/sbin"), ("ostree", "sysroot/ostree")):
        if not os.path.lexists(root / name):
            os.symlink(target, root / name)


PROJECT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
# host folders bound into the "booted" system: /root, /tmp, and whatever top-level folders hold
# this checkout (wherever CI cloned it) and the Python that runs it
HOST_DIRS = tuple(dict.fromkeys(
    ["root", "tmp", "work"] + [p.split("/")[1] for p in (PROJECT, os.path.realpath(sys.executable), sys.prefix)
                              if p.split("/")[1] not in ("usr", "")]))
VENV_BIN = os.path.dirname(os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin",
                                                        "ostree-py")))


def _booted(sysroot, script, check=True):
    """Run ``script`` (bash) as if the first deployment of ``sysroot`` were booted."""
    sysroot = str(sysroot)
    run = os.path.join(os.path.dirname(sysroot), "run")   # this "boot"'s /run, kept between calls
    os.makedirs(run, exist_ok=True)
    booted = os.path.join(os.path.dirname(sysroot), "booted")
    if not os.path.exists(booted):
        # what gets "booted" for good: the deployment of the default boot entry at the first call
        loader = os.path.join(sysroot, "boot/loader/entries")
        with open(os.path.join(loader, max(os.listdir(loader)))) as f:
            opts = next(line for line in f if line.startswith("options "))
        bootlink = next(a for a in opts.split() if a.startswith("ostree=")).split("=", 1)[1]
        with open(booted, "w") as f:
            f.write(os.path.realpath(os.path.join(sysroot, bootlink.lstrip("/"))))
    with open(booted) as f:
        target = f.read()
    setup = f"""
set -e
D={target}
mount --bind {sysroot} $D/sysroot
mount --bind {sysroot}/boot $D/boot
mount --bind {sysroot}/ostree/deploy/{OS}/var $D/var
mount --bind {run} $D/run
touch $D/run/ostree-booted
for d in usr dev {" ".join(HOST_DIRS)}; do if [ -d /$d ]; then mount --rbind /$d $D/$d; fi; done
mount -t proc proc $D/proc
exec chroot $D /bin/bash -c "$0"
"""
    env = dict(os.environ, PATH=f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin")
    r = subprocess.run(["unshare", "-m", "-p", "-f", "--propagation", "private", "bash", "-c", setup, script],
                       capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"booted script failed ({r.returncode}):\n{script}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture
def sysroot(tmp_path, ours, ref):
    """A folder sysroot with one deployment of v1 and a v2 commit ready in its repo."""
    sr = tmp_path / "sysroot"
    sr.mkdir()
    ref("admin", "init-fs", sr)
    ref(f"--sysroot={sr}", "admin", "os-init", OS)
    tree = tmp_path / "tree"
    _write_tree(tree, 1)
    repo = sr / "ostree/repo"
    ref(f"--repo={repo}", "commit", "-b", REF, "-s", "v1", "--add-metadata-string=version=1", tree)
    ref(f"--sysroot={sr}", "admin", "deploy", f"--os={OS}", "--karg=root=LABEL=rootfs", "--karg=quiet", REF)
    _write_tree(tree, 2)
    ref(f"--repo={repo}", "commit", "-b", REF, "-s", "v2", "--add-metadata-string=version=2", tree)
    return sr


def _entries(sr):
    d = sr / "boot/loader/entries"
    return {n: (d / n).read_text() for n in sorted(os.listdir(d))}


TOOLS = {"ours": "ostree-py", "ref": "ostree"}


@pytest.mark.parametrize("stager,finalizer", [("ours", "ours"), ("ours", "ref"), ("ref", "ours")])
def test_stage_then_finalize(sysroot, stager, finalizer):
    s, f = TOOLS[stager], TOOLS[finalizer]
    before = _entries(sysroot)
    r = _booted(sysroot, f"""
echo local > /etc/conf
{s} admin deploy --stage {REF}
test -f /run/ostree/staged-deployment
echo after-staging > /etc/conf
ostree admin status
echo ---
ostree-py admin status
""")
    ref_status, our_status = r.stdout.split("---\n")
    assert ref_status == our_status
    assert "(staged)" in our_status and our_status.count("testos ") == 2
    assert _entries(sysroot) == before            # nothing written to /boot yet
    r = _booted(sysroot, f"""
{f} admin finalize-staged
test ! -e /run/ostree/staged-deployment
""")
    after = _entries(sysroot)
    assert len(after) == 2 and after != before
    new_default = os.path.realpath(sysroot / "ostree/deploy" / OS / "deploy" /
                                   sorted(os.listdir(sysroot / "ostree/deploy" / OS / "deploy"))[0])
    # the new default deployment is v2 with the /etc change made after staging, and the kargs kept
    r = _booted(sysroot, "ostree admin status; echo ---; ostree-py admin status")
    ref_status, our_status = r.stdout.split("---\n")
    assert ref_status == our_status and "(staged)" not in our_status
    default_entry = after[max(after)]
    assert "root=LABEL=rootfs quiet" in default_entry and "TestOS 2 (ostree:0)" in default_entry
    link = next(a for a in default_entry.split() if a.startswith("ostree=")).split("=", 1)[1]
    d2 = sysroot / os.path.realpath(str(sysroot) + link).lstrip("/")
    d2 = os.path.realpath(str(sysroot) + link)
    with open(os.path.join(d2, "usr/share/version")) as fh:
        assert fh.read() == "2\n"
    with open(os.path.join(d2, "etc/conf")) as fh:
        assert fh.read() == "after-staging\n"
    assert new_default  # the deploy dir listing was readable


def test_stage_requires_booted(sysroot, ours, ref):
    for tool in (ours, ref):
        r = tool(f"--sysroot={sysroot}", "admin", "deploy", f"--os={OS}", "--stage", REF, check=False)
        assert r.returncode == 1
        assert "Cannot stage deployment: Not currently booted into an OSTree system" in r.stderr


def test_deploy_over_staged_drops_it_and_lock_keeps_it_unfinalized(sysroot):
    r = _booted(sysroot, f"""
ostree-py admin deploy --stage --lock-finalization {REF}
test -e /run/ostree/staged-deployment-locked
ostree-py admin finalize-staged
test -e /run/ostree/staged-deployment   # locked: left as it was
ostree admin status | grep -c staged
ls /ostree/deploy/{OS}/deploy | grep -vc origin
ostree-py admin deploy {REF} >/dev/null
test ! -e /run/ostree/staged-deployment
test ! -e /run/ostree/staged-deployment-locked
ls /ostree/deploy/{OS}/deploy | grep -vc origin
ostree admin status | grep -c staged || true
""")
    assert r.stdout.split() == ["1", "2", "2", "0"], r.stdout


@pytest.mark.parametrize("tool", ["ostree-py", "ostree"])
def test_kargs_edit_in_place_on_staged(sysroot, tool):
    """Edited in the staged state: the staged deployment had no arguments of its own (they would
    have come from the merge deployment at finalization), so it gets just the appended one."""
    _booted(sysroot, f"""
{tool} admin deploy --stage {REF}
{tool} admin kargs edit-in-place --append-if-missing=console=ttyS0
{tool} admin finalize-staged
""")
    entries = _entries(sysroot)
    assert "options console=ttyS0 ostree=" in entries[max(entries)]


def test_overlay_initrd(tmp_path, sysroot):
    """--overlay-initrd: an extra initrd line per overlay, stored by checksum in /boot (run in the
    simulated boot only to give the tools a private /run for /run/ostree/staged-initrds)."""
    import hashlib
    ov = tmp_path / "overlay.img"
    ov.write_bytes(b"overlay initrd\n")
    csum = hashlib.sha256(ov.read_bytes()).hexdigest()
    stored = sysroot / f"boot/ostree/initramfs-overlays/{csum}.img"
    for tool in ("ostree-py", "ostree"):
        _booted(sysroot, f"{tool} admin deploy --overlay-initrd={ov} {REF}")
        entries = _entries(sysroot)
        assert f"initrd /ostree/initramfs-overlays/{csum}.img\n" in entries[max(entries)], tool
        assert stored.read_bytes() == ov.read_bytes()
    r = _booted(sysroot, "ostree admin status; echo ---; ostree-py admin status")
    ref_status, our_status = r.stdout.split("---\n")
    assert ref_status == our_status
    # redeployed without: the overlay deployments go, and their overlay file with them
    _booted(sysroot, f"ostree-py admin deploy {REF}")
    assert "initramfs-overlays" not in "".join(_entries(sysroot).values())
    assert not stored.exists()


def test_lock_finalization_toggles_and_implies_stage(sysroot):
    """ostree 2023.8: deploy --lock-finalization stages (no --stage needed); admin
    lock-finalization toggles the lock, which both the state file's ``locked`` key and
    the older lock file carry (the 2022.7 reference finalizes by the file alone)."""
    r = _booted(sysroot, f"""
ostree-py admin deploy --lock-finalization {REF}
test -e /run/ostree/staged-deployment-locked && echo legacy-lock
ostree-py admin status | grep -c '(finalization locked)'
ostree-py admin finalize-staged
test -e /run/ostree/staged-deployment && echo still-staged
ostree-py admin lock-finalization
ostree-py admin lock-finalization -u
test ! -e /run/ostree/staged-deployment-locked && echo no-legacy-lock
ostree-py admin status | grep -c '(staged)'
ostree-py admin lock-finalization --unlock
ostree-py admin lock-finalization
test -e /run/ostree/staged-deployment-locked && echo legacy-lock
ostree admin finalize-staged
test -e /run/ostree/staged-deployment && echo still-staged
ostree-py admin lock-finalization -u
ostree-py admin finalize-staged >/dev/null
test ! -e /run/ostree/staged-deployment && echo finalized
""")
    assert r.stdout.splitlines() == [
        "legacy-lock", "1", "still-staged",
        "Staged deployment is already finalization locked",
        "Staged deployment is now queued to apply on shutdown",
        "no-legacy-lock", "1",
        "Staged deployment is already prepared for finalization",
        "Staged deployment is now finalization locked",
        "legacy-lock", "still-staged",
        "Staged deployment is now queued to apply on shutdown",
        "finalized"], r.stdout


def test_pin_booted_pending_rollback(sysroot):
    """ostree 2024.x: pin takes booted, pending or rollback for an index (relative to the
    booted deployment), and prints the index it acted on."""
    r = _booted(sysroot, f"""
ostree-py admin deploy {REF} >/dev/null
ostree-py admin pin booted
ostree-py admin pin pending
ostree-py admin pin -u booted
ostree-py admin pin rollback 2>&1 || echo "rc=$?"
ostree-py admin status | grep -c 'Pinned: yes'
""")
    assert r.stdout.splitlines() == [
        "Deployment 1 is now pinned", "Deployment 0 is now pinned", "Deployment 1 is now unpinned",
        "error: Deployment type not found: rollback", "rc=1", "1"], r.stdout
