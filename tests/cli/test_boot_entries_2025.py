"""Boot entries as ostree 2025.2 writes them (issue 17): ``ostree-N.conf`` by default,
``ostree-N-STATEROOT.conf`` with OSTREE_SYSROOT_OPTS=bootloader-naming-1, both read
back (also mixed in one loader directory); ``[sysroot] bootprefix``; repeated and
quoted ``--karg-delete``. The texts are 2025.2's (its upstream scripts); the host's
reference is 2022.7, which knows only the older naming (see tests/interop)."""

import os

import pytest

REF = "os"


def _bootable_tree(root, kernel="kernel\n"):
    for rel, text in {"usr/lib/modules/5.0.0/vmlinuz": kernel,
                      "usr/lib/modules/5.0.0/initramfs.img": "initramfs\n",
                      "usr/lib/os-release": 'ID=testos\nPRETTY_NAME="TestOS"\n', "usr/etc/conf": "x\n"}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture
def sysroot(cli, tmp_path, monkeypatch):
    """A sysroot with stateroot testos and a bootable commit on ref ``os``."""
    monkeypatch.setenv("OSTREE_SYSROOT_DEBUG", "mutable-deployments")
    monkeypatch.delenv("OSTREE_SYSROOT", raising=False)
    monkeypatch.delenv("OSTREE_SYSROOT_OPTS", raising=False)
    sr = tmp_path / "sysroot"
    sr.mkdir()
    tree = tmp_path / "tree"
    _bootable_tree(tree)
    assert cli(["admin", "init-fs", str(sr)]).rc == 0
    assert cli(["admin", "os-init", f"--sysroot={sr}", "testos"]).rc == 0
    r = cli([f"--repo={sr}/ostree/repo", "commit", "-b", REF, f"--tree=dir={tree}"])
    assert r.rc == 0, r
    return sr


def _deploy(cli, sr, *args, env=None):
    r = cli(["admin", "deploy", f"--sysroot={sr}", "--os=testos", *args, REF], env=env)
    assert r.rc == 0, r
    return r


def _entries(sr):
    return sorted(os.listdir(sr / "boot/loader/entries"))


def _options(sr, name):
    for line in (sr / "boot/loader/entries" / name).read_text().splitlines():
        if line.startswith("options "):
            return line[len("options "):]
    raise AssertionError(f"no options line in {name}")


NAMING_1 = {"OSTREE_SYSROOT_OPTS": "bootloader-naming-1"}


def test_entries_are_named_without_stateroot_by_default(cli, sysroot):
    _deploy(cli, sysroot, "--karg=root=LABEL=MOO")
    assert _entries(sysroot) == ["ostree-1.conf"]
    _deploy(cli, sysroot)
    assert _entries(sysroot) == ["ostree-1.conf", "ostree-2.conf"]
    # the newest deployment has the highest version, and kept the arguments
    assert "\nversion 2\n" in (sysroot / "boot/loader/entries/ostree-2.conf").read_text()
    assert _options(sysroot, "ostree-2.conf").startswith("root=LABEL=MOO ostree=/ostree/boot.")


@pytest.mark.parametrize("opts", ["bootloader-naming-1", "skip-sync,bootloader-naming-1",
                                  "Bootloader_Naming_1 no-early-prune"])
def test_bootloader_naming_1_keeps_the_stateroot(cli, sysroot, opts):
    _deploy(cli, sysroot, env={"OSTREE_SYSROOT_OPTS": opts})
    _deploy(cli, sysroot, env={"OSTREE_SYSROOT_OPTS": opts})
    assert _entries(sysroot) == ["ostree-1-testos.conf", "ostree-2-testos.conf"]


def test_unknown_sysroot_opts_are_ignored(cli, sysroot):
    _deploy(cli, sysroot, env={"OSTREE_SYSROOT_OPTS": "bootloader-naming-2,nonsense"})
    assert _entries(sysroot) == ["ostree-1.conf"]


def _status(cli, sr, env=None):
    r = cli(["admin", "status", f"--sysroot={sr}"], env=env)
    assert r.rc == 0, r
    return r.out


def test_sysroot_of_the_old_naming_is_read_and_upgraded(cli, sysroot):
    """A sysroot as 2022.7 left it: read with either naming, rewritten in the new one on
    the next deploy, and the new naming read back by the old setting."""
    _deploy(cli, sysroot, "--karg=quiet", env=NAMING_1)
    _deploy(cli, sysroot, env=NAMING_1)
    old_status = _status(cli, sysroot, env=NAMING_1)
    assert old_status.count("origin refspec") == 2
    assert _status(cli, sysroot) == old_status
    _deploy(cli, sysroot, "--retain")
    assert _entries(sysroot) == ["ostree-1.conf", "ostree-2.conf", "ostree-3.conf"]
    assert _options(sysroot, "ostree-3.conf").startswith("quiet ostree=")
    assert _status(cli, sysroot, env=NAMING_1) == _status(cli, sysroot)
    # undeploying the default (a rollback to the previous one) and cleanup work on it
    assert cli(["admin", "undeploy", f"--sysroot={sysroot}", "0"]).rc == 0
    assert _entries(sysroot) == ["ostree-1.conf", "ostree-2.conf"]
    assert cli(["admin", "cleanup", f"--sysroot={sysroot}"]).rc == 0
    assert _status(cli, sysroot).count("origin refspec") == 2


def test_mixed_namings_in_one_loader_directory(cli, sysroot):
    _deploy(cli, sysroot, "--karg=quiet")
    _deploy(cli, sysroot)
    entries = sysroot / "boot/loader/entries"
    before = _status(cli, sysroot)
    # one entry of each naming, as a hand edit or another tool may leave them
    os.rename(entries / "ostree-1.conf", entries / "ostree-1-testos.conf")
    assert _status(cli, sysroot) == before
    assert _status(cli, sysroot, env=NAMING_1) == before
    # in-place edits keep each entry's name: no second entry for a deployment
    r = cli(["admin", "kargs", "edit-in-place", f"--sysroot={sysroot}", "--append-if-missing=x=1"])
    assert r.rc == 0, r
    assert _entries(sysroot) == ["ostree-1-testos.conf", "ostree-2.conf"]
    assert _options(sysroot, "ostree-1-testos.conf").endswith(" x=1")
    assert _options(sysroot, "ostree-2.conf").endswith(" x=1")
    assert _status(cli, sysroot) == before
    # a deploy with the same kernel and arguments swaps only the bootlinks (as
    # ostree): the entries stay as they are, and are still read
    _deploy(cli, sysroot, env=NAMING_1)
    assert _entries(sysroot) == ["ostree-1-testos.conf", "ostree-2.conf"]
    assert _status(cli, sysroot).count("origin refspec") == 2
    # a deploy that changes the boot configuration writes them all anew, in the configured naming
    _deploy(cli, sysroot, "--karg-append=y=2", env=NAMING_1)
    assert _entries(sysroot) == ["ostree-1-testos.conf", "ostree-2-testos.conf"]
    assert _options(sysroot, "ostree-2-testos.conf").endswith(" x=1 y=2")


def test_bootprefix_entries_start_with_boot(cli, sysroot):
    repo = f"--repo={sysroot}/ostree/repo"
    assert cli([repo, "config", "set", "sysroot.bootprefix", "true"]).rc == 0
    _deploy(cli, sysroot)
    conf = (sysroot / "boot/loader/entries/ostree-1.conf").read_text()
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in conf.splitlines()}
    assert lines["linux"].startswith("/boot/ostree/testos-") and lines["linux"].endswith("/vmlinuz-5.0.0")
    assert lines["initrd"].startswith("/boot/ostree/testos-")
    # the path resolves from the boot partition's root through boot/boot -> .
    assert (sysroot / "boot" / lines["linux"].lstrip("/")).read_text() == "kernel\n"
    assert " ostree=/ostree/boot." in " " + lines["options"]


def test_bootprefix_syslinux_has_one_boot(cli, sysroot):
    (sysroot / "boot/loader.0").mkdir()
    os.symlink("loader.0", sysroot / "boot/loader")
    (sysroot / "boot/syslinux").mkdir()
    (sysroot / "boot/loader/syslinux.cfg").write_text("")
    os.symlink("../loader/syslinux.cfg", sysroot / "boot/syslinux/syslinux.cfg")
    assert cli([f"--repo={sysroot}/ostree/repo", "config", "set", "sysroot.bootprefix", "true"]).rc == 0
    _deploy(cli, sysroot)
    cfg = (sysroot / "boot/syslinux/syslinux.cfg").read_text()
    assert "\tKERNEL /boot/ostree/testos-" in cfg and "/boot/boot/" not in cfg
    assert "\nlinux /boot/ostree/testos-" in (sysroot / "boot/loader/entries/ostree-1.conf").read_text()


def test_bootprefix_off_and_invalid(cli, sysroot):
    repo = f"--repo={sysroot}/ostree/repo"
    assert cli([repo, "config", "set", "sysroot.bootprefix", "false"]).rc == 0
    _deploy(cli, sysroot)
    assert "\nlinux /ostree/testos-" in (sysroot / "boot/loader/entries/ostree-1.conf").read_text()
    assert cli([repo, "config", "set", "sysroot.bootprefix", "maybe"]).rc == 0
    # refused when the repo is opened, as ostree 2025.2 does, before anything is written
    # (2025.2: "error: loading sysroot: Opening sysroot repo: opening repo: Key file ...")
    bad = "Key file contains key “bootprefix” which has a value that cannot be interpreted.\n"
    r = cli(["admin", "deploy", f"--sysroot={sysroot}", "--os=testos", REF])
    assert (r.rc, r.out, r.err) == (1, "", "error: loading sysroot: " + bad)
    assert _entries(sysroot) == ["ostree-1.conf"]
    assert cli([repo, "refs"]).as_tuple() == (1, "", "error: opening repo: " + bad)


def test_karg_delete_repeated_and_quoted(cli, sysroot):
    _deploy(cli, sysroot, "--karg=root=LABEL=MOO", "--karg=quiet", "--karg-append=TESTARG=TESTVALUE")
    _deploy(cli, sysroot, "--karg-delete=TESTARG=TESTVALUE", "--karg-delete=quiet", "--karg-delete=ABSENT")
    assert _options(sysroot, "ostree-2.conf").split(" ")[0:1] == ["root=LABEL=MOO"]
    assert "quiet" not in _options(sysroot, "ostree-2.conf") and "TESTARG" not in _options(sysroot, "ostree-2.conf")
    _deploy(cli, sysroot, "--karg-append", 'test="1 2"')
    assert ' test="1 2"' in _options(sysroot, "ostree-2.conf")
    _deploy(cli, sysroot, "--karg-delete", 'test="1 2"')
    assert "test=" not in _options(sysroot, "ostree-2.conf")
    # a present key with another value is still an error
    r = cli(["admin", "deploy", f"--sysroot={sysroot}", "--os=testos", "--karg-delete=root=other", REF])
    assert r.as_tuple() == (1, "", "error: No karg 'root=other' found\n")


def test_deploy_to_a_missing_stateroot_names_it(cli, sysroot):
    # admin-test.sh of 2025.2 ("nice error for deploy with no stateroot"), before the entries
    r = cli(["admin", "deploy", f"--sysroot={sysroot}", "--stateroot=nosuchroot", REF])
    assert r.as_tuple() == (1, "", "error: Initializing deployment: No such stateroot: nosuchroot\n")
    assert not (sysroot / "ostree/deploy/nosuchroot").exists()
