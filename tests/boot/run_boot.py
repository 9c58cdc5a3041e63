#!/usr/bin/env python3
"""`make boot-test`: boot a Debian system deployed and upgraded by ostree-py,
with an RPM layered on it by rpm-ostree-py.

A Debian bookworm root file system (debootstrap; linux-image-amd64, dracut,
ostree-boot, systemd, rpm) is turned into an ostree tree with an empty rpmdb
in usr/share/rpm, committed twice (v1, v2) into the repository of a fresh
sysroot, deployed (v1), given a local /etc change, upgraded (v2) with
`admin upgrade`. Then rpm-ostree-py layers a package on v2: boot-test-hello
(a shell script in /usr/bin, built with rpmbuild) from an rpm-md repo
(createrepo_c) served over HTTP on 127.0.0.1 by this script for the
duration of the install, configured in the deployment's
/etc/yum.repos.d/boot-test.repo. The sysroot is written to an ext4 image
(`mke2fs -d`) and started in QEMU with the kernel, initramfs and options of
the default BLS entry. A unit in the tree checks the booted system and prints
its findings on the serial console, then powers off; this script reads them.

Two boots:
  1. v2 + boot-test-hello: the upgrade is booted, /etc merged, /var mounted,
     /usr read-only, and the package's command runs, `rpm -q` and `rpm -qf`
     know it (rpm reads the rpmdb on the read-only /usr);
  2. after `rpm-ostree-py rollback` (on the host sysroot, new image): v2 is
     booted, the same checks hold, the command is gone and `rpm -q` says the
     package is not installed.
The harness tells the guest what to expect with kernel arguments it appends
(boot_test.pkg=NAME boot_test.layered=1|0); the commit the guest's
`ostree admin status` shows as booted must be the one expected. Exit 0 only
when every check of every boot passed.

Stages and where they go (BOOT_CACHE, default .cache/boot in the project):
  base-bookworm-N/ debootstrap + kernel + ostree-boot + rpm (cached, minutes)
  tree-N/          the converted ostree tree + initramfs   (cached)
  run-TOOL/        sysroot, disk image, console-N.log, RPM repo (made anew each run)

Options / environment:
  --tool ostree-py|ostree   BOOT_TEST_TOOL    which implementation deploys (default ostree-py);
                                              rpm-ostree-py layers in both cases
  --cache DIR               BOOT_CACHE        cache folder
  --accel tcg|kvm           BOOT_TEST_ACCEL   QEMU accelerator (default tcg: software emulation)
  --timeout SECONDS         BOOT_TEST_TIMEOUT time allowed for each boot (default 900)
  --rebuild                 rebuild the cached base and tree
  --no-upgrade              harness self-check: v2 is committed but not deployed, so the
                            guest boots v1 and the test must FAIL (exit 1); one boot
  --no-install              harness self-check: v2 is booted without the package, the
                            guest is told to expect it, and the test must FAIL; one boot
  BOOT_TEST_VERBOSE=1       boot without `quiet` (kernel and systemd messages on the console)

Host tools: debootstrap, qemu-system-x86, e2fsprogs (installed when missing);
rpmbuild, createrepo_c and rpm (`make install` installs them).
Not a pytest test on purpose (minutes long, needs root, downloads packages).
It needs root: debootstrap, chroot, mounts, device-independent ownership.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from debian_chroot import Mounts, apt_mirror, remove_tree  # noqa: E402  (tests/debian_chroot.py)

SUITE = "bookworm"
OS_NAME = "debian"
REF = "debian/boot-test"
RPMDB = "usr/share/rpm"
# The package rpm-ostree-py layers: a command in /usr/bin, nothing else.
PKG = "boot-test-hello"
# Bump when the recipe of a cached stage changes, so old caches are rebuilt.
BASE_VERSION = "2"
TREE_VERSION = "5"
HOST_PACKAGES = ["debootstrap", "qemu-system-x86", "e2fsprogs"]
BASE_INCLUDE = ["systemd", "systemd-sysv", "udev", "dracut", "kmod"]
# Installed in the chroot with apt, after dracut is there, so that the kernel's
# "initramfs-tools | linux-initramfs-tool" is met by dracut (debootstrap would
# pick initramfs-tools, which conflicts with dracut).
BASE_APT = ["linux-image-amd64", "ostree-boot", "rpm"]
# quiet: every console line costs time under software emulation (BOOT_TEST_VERBOSE=1 drops it).
KARGS = ["root=/dev/vda", "rw", "console=ttyS0", "panic=-1"]

T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[boot-test {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# --------------------------------------------------------------- host setup
def ensure_host_packages() -> None:
    missing = []
    for p in HOST_PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if missing:
        log(f"installing host packages: {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)


def chroot(root: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C", "HOME": "/root"}
    return run(["chroot", root, *cmd], env=env, **kw)


def stamp_ok(d: str, version: str) -> bool:
    try:
        with open(os.path.join(d, ".boot-test-stamp")) as f:
            return f.read().strip() == version
    except OSError:
        return False


def write_stamp(d: str, version: str) -> None:
    with open(os.path.join(d, ".boot-test-stamp"), "w") as f:
        f.write(version + "\n")


# ------------------------------------------------------------ base rootfs
def build_base(cache: str) -> str:
    # Named by version: branches with different recipes can share one BOOT_CACHE.
    base = os.path.join(cache, f"base-{SUITE}-{BASE_VERSION}")
    if os.path.isdir(base) and stamp_ok(base, BASE_VERSION):
        log(f"base rootfs cached: {base}")
        return base
    tmp = base + ".tmp"
    remove_tree(tmp)
    remove_tree(base)
    mirror = apt_mirror(SUITE)
    log(f"debootstrap {SUITE} (minbase + {', '.join(BASE_INCLUDE)})")
    run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_INCLUDE), SUITE, tmp, mirror],
        stdout=subprocess.DEVNULL)
    policy = os.path.join(tmp, "usr/sbin/policy-rc.d")
    with open(policy, "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(policy, 0o755)
    log(f"apt-get install {' '.join(BASE_APT)} in the chroot")
    with Mounts(tmp):
        chroot(tmp, "apt-get", "install", "-y", "-q", "--no-install-recommends", *BASE_APT,
               stdout=subprocess.DEVNULL)
        chroot(tmp, "apt-get", "clean")
    os.unlink(policy)
    write_stamp(tmp, BASE_VERSION)
    os.rename(tmp, base)
    return base


# ------------------------------------------------------------ ostree tree
# Kernel modules a QEMU guest never needs: dropped to keep the tree (and each
# commit, deployment and image) small. depmod runs afterwards.
PRUNE_MODULES = [
    "kernel/drivers/gpu", "kernel/drivers/net/wireless", "kernel/drivers/media", "kernel/drivers/infiniband",
    "kernel/drivers/staging", "kernel/drivers/iio", "kernel/drivers/isdn", "kernel/drivers/bluetooth",
    "kernel/drivers/net/ethernet", "kernel/drivers/usb", "kernel/drivers/mtd", "kernel/drivers/misc", "kernel/drivers/hwmon",
    "kernel/drivers/platform", "kernel/drivers/comedi", "kernel/drivers/video", "kernel/drivers/thunderbolt",
    "kernel/sound", "kernel/net/wireless", "kernel/net/mac80211", "kernel/net/bluetooth",
    "kernel/drivers/net/can", "kernel/drivers/target", "kernel/drivers/md", "kernel/fs/ocfs2",
    "kernel/fs/xfs", "kernel/fs/btrfs", "kernel/fs/gfs2", "kernel/fs/nfs", "kernel/fs/nfsd",
    "kernel/fs/ceph", "kernel/fs/smb", "kernel/fs/f2fs", "kernel/drivers/net/usb",
]

DRACUT_OMIT = ("plymouth i18n kernel-modules kernel-modules-extra qemu qemu-net nss-softokn crypt lvm dm "
               "mdraid multipath iscsi nbd nfs network cifs fcoe btrfs resume")
# Units a test boot does not need (masked in /etc): less work before the checks run.
MASK_UNITS = ["getty.target", "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
              "e2scrub_reap.service", "fstrim.timer", "dpkg-db-backup.timer", "systemd-timesyncd.service"]

CHECK_SCRIPT = r"""#!/bin/bash
# boot-test: checks the booted ostree system; findings go to the serial console.
pass=1
say() { echo "BOOT-TEST $*"; }
check() {  # NAME COMMAND... : one line per check
    local name=$1; shift
    if out=$("$@" 2>&1); then say "CHECK $name ok ${out//$'\n'/ | }"
    else pass=0; say "CHECK $name FAIL ${out//$'\n'/ | }"; fi
}
eq() { [ "$1" = "$2" ] && echo "$1" || { echo "got '$1' expected '$2'"; return 1; }; }
root_is_deployment() {
    local dep; dep=$(sed -n 's/.*ostree=\([^ ]*\).*/\1/p' /proc/cmdline)
    [ -n "$dep" ] || { echo "no ostree= karg"; return 1; }
    local a b; a=$(stat -L -c %d:%i /) b=$(stat -L -c %d:%i "/sysroot$dep")
    echo "ostree=$dep -> $(readlink -f /sysroot$dep)"
    [ "$a" = "$b" ]
}
usr_readonly() {
    findmnt -n -o TARGET,OPTIONS /usr
    findmnt -n -o OPTIONS /usr | grep -qE '(^|,)ro(,|$)' || return 1
    if touch /usr/.boot-test 2>/dev/null; then rm -f /usr/.boot-test; echo "writable"; return 1; fi
}
var_mount() {
    findmnt -n -o TARGET,SOURCE,FSROOT /var
    eq "$(findmnt -n -o FSROOT /var)" "/ostree/deploy/DEBIAN_OS/var" >/dev/null || return 1
    eq "$(systemctl is-active var.mount)" active || return 1
    systemctl show -p FragmentPath var.mount
    systemctl show -p FragmentPath --value var.mount | grep -q '^/run/systemd/generator/var.mount$' || return 1
    eq "$(cat /var/boot-test-stateroot 2>&1)" stateroot-var
}
say "START uptime $(cut -d' ' -f1 /proc/uptime)s"
check booted test -e /run/ostree-booted
check root-is-deployment root_is_deployment
check version eq "$(cat /usr/share/boot-test/version 2>&1)" 2
check etc-vendor-updated eq "$(cat /etc/boot-test-vendor.conf 2>&1)" vendor=2
check etc-local-added eq "$(cat /etc/boot-test-local.conf 2>&1)" local=1
check etc-local-modified eq "$(cat /etc/boot-test-modified.conf 2>&1)" modified=local
check etc-vendor-removed eq "$(test -e /etc/boot-test-removed.conf && echo present || echo absent)" absent
# The package layered by rpm-ostree-py: the harness says on the kernel command
# line which one and whether this boot must have it (1) or not (0).
karg() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
pkg=$(karg boot_test.pkg) want=$(karg boot_test.layered)
pkg_runs() { command -v "$pkg" && "$pkg"; }
pkg_absent() {
    if command -v "$pkg"; then return 1; fi
    local q; q=$(rpm -q "$pkg" 2>&1); echo "$q"
    [ "$q" = "package $pkg is not installed" ]
}
if [ -n "$pkg" ] && [ "$want" = 1 ]; then
    check pkg-runs eq "$(pkg_runs 2>&1)" "$(printf '/usr/bin/%s\nhello from %s' "$pkg" "$pkg")"
    check pkg-rpmdb rpm -q "$pkg"
    check pkg-owns-binary rpm -qf "/usr/bin/$pkg"
elif [ -n "$pkg" ]; then
    check pkg-absent pkg_absent
fi
[ -n "$pkg" ] && check rpmdb-opens rpm -qa
say "CHECKS uptime $(cut -d' ' -f1 /proc/uptime)s"
check var-mount var_mount
check usr-readonly usr_readonly
check remount eq "$(systemctl is-active ostree-remount.service)" active
say "KERNEL $(uname -r) $(cat /proc/cmdline)"
ostree admin status 2>&1 | sed 's/^/BOOT-TEST STATUS /'
systemctl --failed --no-legend --plain 2>&1 | sed 's/^/BOOT-TEST FAILED-UNIT /'
say "END uptime $(cut -d' ' -f1 /proc/uptime)s"
if [ $pass = 1 ]; then say "RESULT PASS"; else say "RESULT FAIL"; fi
systemctl poweroff --no-block
"""

CHECK_UNIT = """[Unit]
Description=ostree-py boot test checks
# Runs as soon as the system is up (basic.target): not after every other unit.
After=basic.target ostree-remount.service var.mount systemd-tmpfiles-setup.service
DefaultDependencies=yes

[Service]
Type=oneshot
ExecStart=/usr/libexec/boot-test/check
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
"""


def set_rpmdb_journal_mode(dbdir: str) -> None:
    import sqlite3
    con = sqlite3.connect(os.path.join(dbdir, "rpmdb.sqlite"))
    try:
        con.execute("PRAGMA journal_mode=DELETE").fetchall()
    finally:
        con.close()
    for name in ("rpmdb.sqlite-shm", "rpmdb.sqlite-wal", ".rpm.lock"):
        if os.path.lexists(os.path.join(dbdir, name)):
            os.unlink(os.path.join(dbdir, name))


def kernel_version(root: str) -> str:
    kvers = sorted(os.listdir(os.path.join(root, "usr/lib/modules")))
    if len(kvers) != 1:
        raise SystemExit(f"boot-test: expected one kernel in the base, found {kvers}")
    return kvers[0]


def write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def symlink(target: str, path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)


def var_tmpfiles(var: str) -> str:
    """tmpfiles.d lines that recreate the tree's /var directories and symlinks."""
    lines = []
    for dirpath, dirnames, filenames in os.walk(var):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = "/var/" + os.path.relpath(p, var)
            st = os.lstat(p)
            if os.path.islink(p):
                lines.append(f"L {rel} - - - - {os.readlink(p)}")
            elif os.path.isdir(p):
                import grp
                import pwd
                try:
                    user = pwd.getpwuid(st.st_uid).pw_name if st.st_uid == 0 else str(st.st_uid)
                    group = grp.getgrgid(st.st_gid).gr_name if st.st_gid == 0 else str(st.st_gid)
                except KeyError:
                    user, group = str(st.st_uid), str(st.st_gid)
                lines.append(f"d {rel} {st.st_mode & 0o7777:04o} {user} {group} -")
    return "\n".join(lines) + "\n"


def build_tree(cache: str, base: str) -> str:
    tree = os.path.join(cache, f"tree-{TREE_VERSION}")
    if os.path.isdir(tree) and stamp_ok(tree, BASE_VERSION + "." + TREE_VERSION):
        log(f"ostree tree cached: {tree}")
        return tree
    tmp = tree + ".tmp"
    remove_tree(tmp)
    remove_tree(tree)
    log("copying the base rootfs")
    run(["cp", "-a", base, tmp])
    os.unlink(os.path.join(tmp, ".boot-test-stamp"))
    kver = kernel_version(tmp)
    moddir = os.path.join(tmp, "usr/lib/modules", kver)
    for rel in PRUNE_MODULES:
        remove_tree(os.path.join(moddir, rel))
    chroot(tmp, "depmod", "-a", kver)
    # An empty rpmdb where rpm-ostree keeps it, for rpm-ostree-py to layer on, and
    # Debian's rpm (default ~/.rpmdb) pointed at it, for `rpm -q` in the guest.
    # sqlite's rollback-journal mode: a db in WAL mode cannot be opened on the
    # read-only /usr without its -shm file.
    chroot(tmp, "rpm", "--initdb", "--dbpath", "/" + RPMDB)
    set_rpmdb_journal_mode(os.path.join(tmp, RPMDB))
    write(os.path.join(tmp, "usr/lib/rpm/macros.d/macros.ostree-rpmdb"), f"%_dbpath /{RPMDB}\n")
    log(f"dracut initramfs for {kver} (generic, with the ostree module)")
    with Mounts(tmp):
        # A small generic initramfs: systemd, udev, ostree-prepare-root and the
        # drivers for a virtio disk with ext4; uncompressed (faster to unpack
        # under emulation than to decompress).
        chroot(tmp, "dracut", "--force", "--no-hostonly", "--add", "ostree", "--compress=cat",
               "--omit", DRACUT_OMIT, "--add-drivers", "virtio_blk virtio_pci ext4",
               f"/usr/lib/modules/{kver}/initramfs.img", kver, stdout=subprocess.DEVNULL)
    os.chmod(os.path.join(moddir, "initramfs.img"), 0o644)
    shutil.copy2(os.path.join(tmp, "boot", f"vmlinuz-{kver}"), os.path.join(moddir, "vmlinuz"))
    os.chmod(os.path.join(moddir, "vmlinuz"), 0o644)
    log("converting to an ostree tree")
    boot = os.path.join(tmp, "boot")
    for name in os.listdir(boot):
        remove_tree(os.path.join(boot, name))
    # Files for the guest checks, a local root login, no fstab entries (root= does it).
    write(os.path.join(tmp, "usr/libexec/boot-test/check"),
          CHECK_SCRIPT.replace("DEBIAN_OS", OS_NAME), 0o755)
    write(os.path.join(tmp, "usr/lib/systemd/system/boot-test.service"), CHECK_UNIT)
    wants = os.path.join(tmp, "etc/systemd/system/multi-user.target.wants")
    os.makedirs(wants, exist_ok=True)
    symlink("/usr/lib/systemd/system/boot-test.service", os.path.join(wants, "boot-test.service"))
    # The serial console belongs to the checks' output.
    symlink("/dev/null", os.path.join(tmp, "etc/systemd/system/serial-getty@ttyS0.service"))
    for unit in MASK_UNITS:
        symlink("/dev/null", os.path.join(tmp, "etc/systemd/system", unit))
    write(os.path.join(tmp, "etc/fstab"), "# root from the kernel command line; /var from ostree\n")
    write(os.path.join(tmp, "etc/hostname"), "boot-test\n")
    for name in ("machine-id", "adjtime"):
        p = os.path.join(tmp, "etc", name)
        if os.path.lexists(p):
            os.unlink(p)
    write(os.path.join(tmp, "etc/machine-id"), "")
    # /etc -> /usr/etc: ostree deploys it and three-way merges local changes.
    os.rename(os.path.join(tmp, "etc"), os.path.join(tmp, "usr/etc"))
    # /var is the stateroot's, shared between deployments: the tree keeps it
    # empty and systemd-tmpfiles recreates its layout at boot.
    var = os.path.join(tmp, "var")
    extra = ("d /var/home 0755 root root -\nd /var/roothome 0700 root root -\n"
             "d /var/opt 0755 root root -\nd /var/srv 0755 root root -\nd /var/mnt 0755 root root -\n"
             "d /var/local 0755 root root -\n")
    write(os.path.join(tmp, "usr/lib/tmpfiles.d/boot-test-var.conf"), var_tmpfiles(var) + extra)
    remove_tree(var)
    os.mkdir(var, 0o755)
    for name in ("home", "root", "opt", "srv", "mnt", "media", "tmp", "dev", "proc", "sys", "run"):
        remove_tree(os.path.join(tmp, name))
    for name, target in (("home", "var/home"), ("root", "var/roothome"), ("opt", "var/opt"),
                         ("srv", "var/srv"), ("mnt", "var/mnt"), ("media", "run/media"),
                         ("ostree", "sysroot/ostree")):
        symlink(target, os.path.join(tmp, name))
    for name in ("dev", "proc", "sys", "run", "sysroot"):
        os.makedirs(os.path.join(tmp, name), exist_ok=True)
        os.chmod(os.path.join(tmp, name), 0o755)
    os.makedirs(os.path.join(tmp, "tmp"))
    os.chmod(os.path.join(tmp, "tmp"), 0o1777)
    write_stamp(tmp, BASE_VERSION + "." + TREE_VERSION)
    os.rename(tmp, tree)
    return tree


def make_overlay(path: str, version: int) -> None:
    """The per-version files committed on top of the tree."""
    write(os.path.join(path, "usr/share/boot-test/version"), f"{version}\n")
    write(os.path.join(path, "usr/etc/boot-test-vendor.conf"), f"vendor={version}\n")
    write(os.path.join(path, "usr/etc/boot-test-modified.conf"), f"modified=vendor{version}\n")
    if version == 1:
        write(os.path.join(path, "usr/etc/boot-test-removed.conf"), "removed-in-2\n")


# ------------------------------------------------------------- the sysroot
def tool_cmd(tool: str) -> list[str]:
    if tool == "ostree":
        return ["/usr/bin/ostree"]
    return [os.path.join(PROJECT, ".venv/bin/ostree-py")]


def deploy_and_upgrade(tool: str, tree: str, work: str, no_upgrade: bool = False) -> dict:
    ostree = tool_cmd(tool)
    sysroot = os.path.join(work, "sysroot")
    repo = os.path.join(sysroot, "ostree/repo")
    timings = {}

    def t(name, cmd, **kw):
        t1 = time.monotonic()
        r = run(cmd, **kw)
        timings[name] = timings.get(name, 0) + time.monotonic() - t1
        return r

    kargs = KARGS + ([] if os.environ.get("BOOT_TEST_VERBOSE") else ["quiet"])
    os.makedirs(sysroot)
    t("init-fs", [*ostree, "admin", "init-fs", sysroot])
    t("os-init", [*ostree, "admin", "os-init", f"--sysroot={sysroot}", OS_NAME])
    commits = []
    for version in (1, 2):
        overlay = os.path.join(work, f"overlay-{version}")
        make_overlay(overlay, version)
        log(f"{tool}: commit v{version}")
        # Fixed timestamps: both tools make the same commits from the same tree.
        r = t(f"commit v{version}", [*ostree, f"--repo={repo}", "commit", f"--branch={REF}",
                                     f"--timestamp=2024-01-0{version} 00:00:00 +0000",
                                     f"--subject=boot-test v{version}", f"--add-metadata-string=version={version}",
                                     f"--tree=dir={tree}", f"--tree=dir={overlay}"],
              capture_output=True, text=True)
        commits.append(r.stdout.strip())
        if version == 1:
            log(f"{tool}: admin deploy v1")
            t("deploy", [*ostree, "admin", "deploy", f"--sysroot={sysroot}", f"--os={OS_NAME}",
                         *[f"--karg={k}" for k in kargs], REF])
            dep = os.path.join(sysroot, "ostree/deploy", OS_NAME, "deploy", commits[0] + ".0")
            # Local changes to /etc, to be carried over by the upgrade's merge.
            write(os.path.join(dep, "etc/boot-test-local.conf"), "local=1\n")
            write(os.path.join(dep, "etc/boot-test-modified.conf"), "modified=local\n")
            # A file in the stateroot's /var, which every deployment shares.
            write(os.path.join(sysroot, "ostree/deploy", OS_NAME, "var/boot-test-stateroot"), "stateroot-var\n")
    if no_upgrade:
        log(f"{tool}: NOT upgrading (--no-upgrade): the guest checks must fail")
        return {"sysroot": sysroot, "commits": commits, "timings": timings, "kargs": kargs}
    log(f"{tool}: admin upgrade")
    t("upgrade", [*ostree, "admin", "upgrade", f"--sysroot={sysroot}", f"--os={OS_NAME}"])
    st = run([*ostree, "admin", "status", f"--sysroot={sysroot}"], capture_output=True, text=True)
    print(st.stdout, end="")
    return {"sysroot": sysroot, "commits": commits, "timings": timings, "kargs": kargs}


# ----------------------------------------------------------- rpm-ostree-py
PKG_SPEC = """Name: {name}
Version: 1.0
Release: 1
Summary: ostree-py boot test: a command layered by rpm-ostree-py
License: MIT
BuildArch: noarch
# No automatic dependencies (Requires: /bin/sh): the Debian base's rpmdb is empty.
AutoReqProv: no
%description
A shell script in /usr/bin that says hello.
%install
mkdir -p %{{buildroot}}/usr/bin
printf '#!/bin/sh\\necho "hello from {name}"\\n' > %{{buildroot}}/usr/bin/{name}
chmod 755 %{{buildroot}}/usr/bin/{name}
%files
/usr/bin/{name}
"""


def rpmostree_cmd() -> list[str]:
    return [os.path.join(PROJECT, ".venv/bin/rpm-ostree-py")]


def build_package_repo(work: str) -> str:
    """PKG built with rpmbuild into an rpm-md repo (createrepo_c); returns the repo folder."""
    top = os.path.join(work, "rpmbuild")
    spec = os.path.join(top, f"{PKG}.spec")
    write(spec, PKG_SPEC.format(name=PKG))
    run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--define", "_build_id_links none", spec],
        stdout=subprocess.DEVNULL)
    repo = os.path.join(work, "rpm-repo")
    os.makedirs(repo)
    for dirpath, _dirs, files in os.walk(os.path.join(top, "RPMS")):
        for name in files:
            shutil.copy(os.path.join(dirpath, name), repo)
    run(["createrepo_c", "-q", repo])
    return repo


def rpmostree_status(sysroot: str) -> list[dict]:
    r = run([*rpmostree_cmd(), "status", "--json", f"--sysroot={sysroot}"], capture_output=True, text=True)
    return json.loads(r.stdout)["deployments"]


def layer_package(sysroot: str, work: str, timings: dict) -> str:
    """rpm-ostree-py installs PKG from a repo served on 127.0.0.1, configured in the
    default deployment's /etc/yum.repos.d; returns the layered commit."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    t1 = time.monotonic()
    repo = build_package_repo(work)
    timings["rpmbuild+createrepo"] = time.monotonic() - t1
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=repo))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        default = rpmostree_status(sysroot)[0]
        dep = os.path.join(sysroot, "ostree/deploy", OS_NAME, "deploy", f"{default['checksum']}.{default['serial']}")
        write(os.path.join(dep, "etc/yum.repos.d/boot-test.repo"),
              f"[boot-test]\nname=ostree-py boot test\nbaseurl={url}\nenabled=1\ngpgcheck=0\n")
        log(f"rpm-ostree-py install {PKG} (repo {url})")
        t1 = time.monotonic()
        run([*rpmostree_cmd(), "install", f"--sysroot={sysroot}", f"--os={OS_NAME}", PKG])
        timings["rpm-ostree install"] = time.monotonic() - t1
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    layered = rpmostree_status(sysroot)[0]
    if layered.get("requested-packages") != [PKG] or layered.get("base-checksum") != default["checksum"]:
        raise SystemExit(f"boot-test: rpm-ostree-py install made no layered deployment of {PKG} on "
                         f"{default['checksum']}: {layered}")
    return layered["checksum"]


def rollback(sysroot: str, timings: dict) -> None:
    log("rpm-ostree-py rollback")
    t1 = time.monotonic()
    run([*rpmostree_cmd(), "rollback", f"--sysroot={sysroot}"])
    timings["rpm-ostree rollback"] = time.monotonic() - t1


def default_bls_entry(sysroot: str, quiet: bool = False) -> dict:
    """The BLS entry a boot loader starts by default: the highest version."""
    entries_dir = os.path.join(sysroot, "boot/loader/entries")
    best = None
    for name in os.listdir(entries_dir):
        if not name.endswith(".conf"):
            continue
        fields = {}
        with open(os.path.join(entries_dir, name)) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k:
                    fields[k] = v.strip()
        key = int(fields.get("version", "0"))
        if best is None or key > best[0]:
            best = (key, name, fields)
    if best is None:
        raise SystemExit(f"boot-test: no BLS entry in {entries_dir}")
    if not quiet:
        log(f"default BLS entry: {best[1]}")
    return best[2]


def make_image(sysroot: str, image: str) -> None:
    du = run(["du", "-s", "--block-size=1M", sysroot], capture_output=True, text=True)
    size_mb = int(du.stdout.split()[0]) * 13 // 10 + 512
    log(f"mke2fs -d: {size_mb} MiB ext4 image")
    run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "ostree-root", "-d", sysroot, image, f"{size_mb}M"])


def boot(sysroot: str, image: str, console: str, accel: str, timeout: float,
         extra_kargs: list[str]) -> tuple[bool, list[str]]:
    """Boot the default BLS entry; ``extra_kargs`` (the harness's expectations for the
    guest checks) go after the entry's options."""
    entry = default_bls_entry(sysroot)
    kernel = os.path.join(sysroot, "boot", entry["linux"].lstrip("/"))
    initrd = os.path.join(sysroot, "boot", entry["initrd"].lstrip("/"))
    append = " ".join([entry["options"], *extra_kargs])
    log(f"qemu ({accel}): -append {append!r}")
    cmd = ["qemu-system-x86_64", "-accel", accel, "-m", "1024", "-smp", "2",
           "-display", "none", "-monitor", "none", "-no-reboot",
           "-serial", f"file:{console}",
           "-drive", f"file={image},format=raw,if=virtio",
           "-kernel", kernel, "-initrd", initrd, "-append", append,
           "-nic", "none"]
    if accel == "kvm":
        cmd += ["-cpu", "host"]
    t1 = time.monotonic()
    proc = subprocess.Popen(cmd)
    lines: list[str] = []
    fatal = None
    try:
        while proc.poll() is None:
            if time.monotonic() - t1 > timeout:
                fatal = f"timed out after {timeout:.0f}s"
                break
            time.sleep(1)
            try:
                with open(console, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if "BOOT-TEST RESULT" in text:
                # The result is all we need: a few seconds for the power off
                # (slow under emulation), then the image is thrown away anyway.
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                break
            for bad in ("Kernel panic", "emergency mode", "Cannot open access to console"):
                if bad in text:
                    fatal = f"guest: {bad}"
            if fatal:
                time.sleep(3)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log(f"qemu ran {time.monotonic() - t1:.1f}s")
    with open(console, errors="replace") as f:
        text = f.read()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("BOOT-TEST")]
    ok = fatal is None and "BOOT-TEST RESULT PASS" in lines
    if fatal:
        log(fatal)
    return ok, lines


def sysroot_manifest(sysroot: str) -> dict:
    """Every path of a sysroot with type, mode, owner, link count, size, symlink
    target, and a content hash for the files that are not repository objects
    or their hard links (boot files, /etc copies, origins, refs, config).
    Times and the repository's tmp/ are left out: they differ between any two runs."""
    import hashlib
    import stat as st_
    out = {}
    for dirpath, dirnames, filenames in os.walk(sysroot):
        rel_dir = os.path.relpath(dirpath, sysroot)
        if rel_dir == "ostree/repo/tmp":
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(p)
            entry = [st_.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid]
            if st_.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            elif st_.S_ISREG(st.st_mode):
                entry += [st.st_nlink, st.st_size]
                if st.st_nlink == 1 and not rel.startswith("ostree/repo/objects/"):
                    with open(p, "rb") as f:
                        entry.append(hashlib.sha256(f.read()).hexdigest())
            out[rel] = entry
    return out


def compare_with_other_tool(cache: str, tool: str, tree: str, result: dict, work: str) -> bool:
    """Same tree, same commits: ostree-py and the reference must agree byte for byte.

    Each run leaves its commit checksums, default BLS entry and sysroot manifest
    in result.json; when the other tool's run used the same cached tree and
    kernel arguments, they must be equal.
    """
    tree_id = os.stat(os.path.join(tree, ".boot-test-stamp")).st_mtime_ns
    mine = {"tree": tree_id, "kargs": result["kargs"], "commits": result["commits"], "bls": default_bls_entry(result["sysroot"], quiet=True),
            "manifest": result["manifest"]}
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(mine, f, indent=1)
    other_tool = "ostree" if tool == "ostree-py" else "ostree-py"
    try:
        with open(os.path.join(cache, f"run-{other_tool}", "result.json")) as f:
            other = json.load(f)
    except (OSError, ValueError):
        log(f"no {other_tool} run to compare with (BOOT_TEST_TOOL={other_tool} makes one)")
        return True
    if other.get("tree") != tree_id or other.get("kargs") != mine["kargs"]:
        log(f"the {other_tool} run used another tree or kernel arguments: not compared")
        return True
    same = other["commits"] == mine["commits"] and other["bls"] == mine["bls"]
    log(f"commits and default BLS entry {'identical to' if same else 'DIFFER from'} the {other_tool} run's")
    if not same:
        log(f"  {tool}: {mine['commits']} {mine['bls']}")
        log(f"  {other_tool}: {other['commits']} {other['bls']}")
    a, b = mine["manifest"], other.get("manifest")
    if b is None:
        log(f"the {other_tool} run recorded no sysroot manifest: not compared")
        return same
    diffs = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    log(f"sysroot ({len(a)} paths): {len(diffs)} differ from the {other_tool} run's")
    for k in diffs[:30]:
        log(f"  {k}: {tool} {a.get(k)} / {other_tool} {b.get(k)}")
    return same and not diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", default=os.environ.get("BOOT_TEST_TOOL", "ostree-py"), choices=["ostree-py", "ostree"])
    ap.add_argument("--cache", default=os.environ.get("BOOT_CACHE") or os.path.join(PROJECT, ".cache/boot"))
    ap.add_argument("--accel", default=os.environ.get("BOOT_TEST_ACCEL", "tcg"), choices=["tcg", "kvm"])
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("BOOT_TEST_TIMEOUT", "900")))
    ap.add_argument("--rebuild", action="store_true")
    selfcheck = ap.add_mutually_exclusive_group()
    selfcheck.add_argument("--no-upgrade", action="store_true",
                           help="self-check of the harness: boot v1 without the upgrade; the test must FAIL")
    selfcheck.add_argument("--no-install", action="store_true",
                           help=f"self-check of the harness: boot v2 without layering {PKG}, with the "
                                "guest expecting it; the test must FAIL")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("boot-test: needs root (debootstrap, chroot, mounts)", file=sys.stderr)
        return 2
    cache = os.path.abspath(args.cache)
    os.makedirs(cache, exist_ok=True)
    ensure_host_packages()
    if args.rebuild:
        for name in os.listdir(cache):
            if name.startswith(("base-", "tree-")):
                remove_tree(os.path.join(cache, name))
    base = build_base(cache)
    tree = build_tree(cache, base)

    # The previous run's sysroot and image stay until the next run, to look at.
    work = os.path.join(cache, f"run-{args.tool}")
    run(["rm", "-rf", work])  # much faster than shutil.rmtree on a sysroot
    remove_tree(work)
    os.makedirs(work)
    prepared = time.monotonic()
    # A sysroot in a folder: no chattr +i on the deployments, so reruns can wipe it.
    os.environ["OSTREE_SYSROOT_DEBUG"] = "mutable-deployments"
    for var in ("OSTREE_SYSROOT", "OSTREE_REPO"):
        os.environ.pop(var, None)
    t_ostree = time.monotonic()
    result = deploy_and_upgrade(args.tool, tree, work, args.no_upgrade)
    t_ostree = time.monotonic() - t_ostree
    # The sysroot as ostree made it (before rpm-ostree-py, whose commits hold
    # rpm's install times): what the other tool's run is compared with.
    result["manifest"] = sysroot_manifest(result["sysroot"])
    sysroot, v2 = result["sysroot"], result["commits"][1]
    timings = result["timings"]
    # Each boot: (what, step before it, the commit that must be booted, kernel
    # arguments that tell the guest checks what to expect).
    pkg_karg = f"boot_test.pkg={PKG}"
    if args.no_upgrade:
        boots = [("v1 (self-check: not upgraded)", None, v2, [])]
    elif args.no_install:
        log(f"NOT layering {PKG} (--no-install): the guest checks must fail")
        boots = [("v2 (self-check: package not layered)", None, v2, [pkg_karg, "boot_test.layered=1"])]
    else:
        t1 = time.monotonic()
        layered = layer_package(sysroot, work, timings)
        t_ostree += time.monotonic() - t1
        print(run([*tool_cmd(args.tool), "admin", "status", f"--sysroot={sysroot}"],
                  capture_output=True, text=True).stdout, end="")
        boots = [(f"v2 + {PKG}", None, layered, [pkg_karg, "boot_test.layered=1"]),
                 ("v2 after rollback", rollback, v2, [pkg_karg, "boot_test.layered=0"])]
    image = os.path.join(work, "disk.img")
    t_img = t_boot = 0.0
    ok = True
    for n, (what, step, want, kargs) in enumerate(boots, 1):
        if step is not None:
            t1 = time.monotonic()
            step(sysroot, timings)
            t_ostree += time.monotonic() - t1
        log(f"boot {n}/{len(boots)}: {what}")
        t1 = time.monotonic()
        make_image(sysroot, image)
        t_img += time.monotonic() - t1
        t1 = time.monotonic()
        console = os.path.join(work, f"console-{n}.log")
        boot_ok, lines = boot(sysroot, image, console, args.accel, args.timeout, kargs)
        t_boot += time.monotonic() - t1
        for line in lines:
            print("   ", line)
        # The guest's `ostree admin status` must show the expected commit as booted.
        booted = [ln for ln in lines if ln.startswith("BOOT-TEST STATUS * ")]
        if not booted or f"{OS_NAME} {want}." not in booted[0]:
            log(f"boot {n}: the booted deployment is not {want}: {booted}")
            boot_ok = False
        log(f"boot {n} ({what}): {'PASS' if boot_ok else 'FAIL'}; console log: {console}")
        ok = ok and boot_ok
    if not (args.no_upgrade or args.no_install):  # a self-check run is no reference for the other tool
        ok = compare_with_other_tool(cache, args.tool, tree, result, work) and ok
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    log(f"{args.tool}: {timing}; all ostree/rpm-ostree steps {t_ostree:.1f}s; images {t_img:.1f}s; "
        f"{len(boots)} boot(s) {t_boot:.1f}s; total after cache {time.monotonic() - prepared:.1f}s")
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:  # tests/debian_chroot.py: no apt source, a mount that stays
        sys.exit(f"boot-test: {e}")
