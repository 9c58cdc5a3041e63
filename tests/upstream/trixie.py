#!/usr/bin/env python3
"""ostree 2025.2's upstream test suite (Debian trixie) against ostree-py.

Usage: tests/upstream/trixie.py [-j N] [-o OUTDIR] [--reference] [--list FILE] [--rebuild] [TEST...]

The host is Debian 12 with ostree 2022.7 (tests/upstream/run). The newer
suite runs in a Debian trixie chroot, built once with debootstrap from the
mirror this machine's apt uses, with ostree, ostree-tests and the tests'
dependencies, and cached in .cache/trixie/ (rebuilt when missing or when
the recipe below changes; --rebuild forces it). Each run then:
  - copies the checkout (the files git tracks or would track) into the
    chroot's /opt/ostree-py, so the tests run the current code;
  - builds /opt/ostree-py/.venv with the chroot's python3 (3.13) and pip
    installs ostree-py and its dependencies from the package registry;
  - runs tests/upstream/run in the chroot on the scripts listed in
    tests/upstream/passing-2025.txt (or the TEST arguments), in parallel
    (-j), with the shim (ostree-py as `ostree`) first on PATH, or, with
    --reference, with the chroot's own ostree 2025.2;
  - copies the logs out to OUTDIR (default: a new folder in $TMPDIR).
/proc, /sys, /dev and /dev/pts are mounted into the chroot only while it
is used, and unmounted on every exit. Needs root. Exits non-zero when a
test fails; the last line is "N passed, N failed".
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from debian_chroot import (Mounts, apt_mirror, host_codename, kill_chroot_processes,  # noqa: E402
                           mounts_under, remove_tree, unmount_all)

SUITE = "trixie"
# Bump when the package list changes: a cached chroot of another recipe is rebuilt.
RECIPE = "1"
# The reference and its suite, and what the scripts call beyond the
# packages' own dependencies (the same as the host's list in the Makefile,
# less nginx, rpm and man-db, which only tests/ outside upstream use);
# python3-venv for the venv, ca-certificates for pip.
PACKAGES = ["ostree", "ostree-tests", "attr", "python3-yaml", "python3-gi", "gir1.2-glib-2.0", "gnupg",
            "xz-utils", "python3", "python3-venv", "ca-certificates", "procps"]
TESTS_DIR = "/usr/libexec/installed-tests/libostree"
# 2023.6 moved trivial-httpd out of the CLI; libtest.sh finds it through this.
HTTPD = f"{TESTS_DIR}/ostree-trivial-httpd"
SRC = "/opt/ostree-py"          # the checkout's copy, inside the chroot
OUT = "/tmp/ostree-py-upstream"  # the logs, inside the chroot
DEFAULT_LIST = os.path.join(HERE, "passing-2025.txt")
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8", "HOME": "/root", "TMPDIR": "/tmp"}
T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[trixie {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def fail(msg: str) -> "SystemExit":
    return SystemExit(f"error: {msg}")


def chroot(root: str, *cmd: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", root, *cmd], env=dict(CHROOT_ENV, **(env or {})), **kw)


def checked(proc: subprocess.CompletedProcess, what: str, logfile: str | None = None) -> None:
    if proc.returncode != 0:
        raise fail(f"{what} failed (exit {proc.returncode})" + (f"; see {logfile}" if logfile else ""))


def ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    log("installing debootstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                              "debootstrap"]):
        checked(subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL), " ".join(cmd[:2]))


def read_stamp(root: str) -> str | None:
    try:
        with open(os.path.join(root, ".ostree-py-recipe"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return None


def build_chroot(cache: str, rebuild: bool) -> str:
    """The cached trixie chroot, debootstrapped and provisioned when missing."""
    root = os.path.join(cache, "root")
    if not rebuild and read_stamp(root) == RECIPE:
        log(f"chroot cached: {root}")
        return root
    ensure_debootstrap()
    tmp = root + ".tmp"
    remove_tree(tmp)
    remove_tree(root)
    mirror = apt_mirror(host_codename())
    build_log = os.path.join(cache, "build.log")
    log(f"debootstrap --variant=minbase {SUITE} (once; log in {build_log})")
    with open(build_log, "wb") as out:
        checked(subprocess.run(["debootstrap", "--variant=minbase", SUITE, tmp, mirror],
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
                "debootstrap", build_log)
        # No daemon starts from a package's maintainer scripts in the chroot.
        policy = os.path.join(tmp, "usr/sbin/policy-rc.d")
        with open(policy, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        log(f"apt-get install {' '.join(PACKAGES)}")
        with Mounts(tmp):
            for cmd in (["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
                        ["apt-get", "clean"]):
                out.flush()
                checked(chroot(tmp, *cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
                        " ".join(cmd[:2]), build_log)
    shutil.rmtree(os.path.join(tmp, "var/lib/apt/lists"), ignore_errors=True)
    with open(os.path.join(tmp, ".ostree-py-recipe"), "w", encoding="utf-8") as f:
        f.write(RECIPE + "\n")
    os.rename(tmp, root)
    return root


def checkout_files() -> list[str]:
    """The checkout's files as git sees them: tracked (and present) or untracked, not ignored."""
    proc = subprocess.run(["git", "-C", PROJECT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True)
    if proc.returncode != 0:
        raise fail(f"git ls-files in {PROJECT}: {proc.stderr.decode(errors='replace').strip()}")
    return sorted({p for p in proc.stdout.decode().split("\0") if p and os.path.lexists(os.path.join(PROJECT, p))})


def copy_checkout(root: str) -> None:
    dest = root + SRC
    remove_tree(dest)
    for rel in checkout_files():
        src, dst = os.path.join(PROJECT, rel), os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


def trust_host_cas(root: str, out) -> None:
    """The certificate authorities this machine adds to Debian's (/usr/local/share/ca-certificates),
    also trusted in the chroot: pip reaches the package registry the way the host does."""
    src, dest = "/usr/local/share/ca-certificates", os.path.join(root, "usr/local/share/ca-certificates")
    remove_tree(dest)
    if os.path.isdir(src):
        shutil.copytree(src, dest, symlinks=False)
    else:
        os.makedirs(dest)
    checked(chroot(root, "update-ca-certificates", "--fresh", stdout=out, stderr=subprocess.STDOUT,
                   stdin=subprocess.DEVNULL), "update-ca-certificates")


def install_venv(root: str, logfile: str) -> None:
    """A fresh venv of the chroot's python with ostree-py and its dependencies (pip's cache is kept)."""
    with open(logfile, "wb") as out:
        trust_host_cas(root, out)
        for cmd in (["python3", "-m", "venv", f"{SRC}/.venv"],
                    [f"{SRC}/.venv/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", SRC],
                    # What `make bytecode` does: the scripts' first commands
                    # would otherwise all compile the sources at once.
                    [f"{SRC}/.venv/bin/python", "-m", "compileall", "-q", f"{SRC}/ostree_py", f"{SRC}/commands"]):
            out.flush()
            checked(chroot(root, *cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL),
                    " ".join(cmd[-3:]), logfile)


def read_list(path: str) -> list[str]:
    names = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            name = line.split("#", 1)[0].strip()
            if name:
                names.append(name)
    return names


def clean_tmp(root: str) -> None:
    tmp = os.path.join(root, "tmp")
    for name in os.listdir(tmp):
        remove_tree(os.path.join(tmp, name))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="tests/upstream/trixie.py",
                                 description="ostree 2025.2's upstream tests, in a trixie chroot, against ostree-py.")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2, metavar="N", help="scripts run in parallel")
    ap.add_argument("-o", metavar="OUTDIR", help="where the logs go (default: a new folder in $TMPDIR)")
    ap.add_argument("--list", default=DEFAULT_LIST, metavar="FILE",
                    help="the scripts to run when no TEST is given (default: tests/upstream/passing-2025.txt)")
    ap.add_argument("--reference", action="store_true", help="run the chroot's ostree 2025.2 instead of ostree-py")
    ap.add_argument("--rebuild", action="store_true", help="debootstrap the chroot again")
    ap.add_argument("--all", action="store_true", help="run every script of the suite")
    ap.add_argument("tests", nargs="*", metavar="TEST")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise fail("tests/upstream/trixie.py needs root (debootstrap, chroot, mounts)")
    if args.tests and args.all:
        raise fail("--all and TEST arguments exclude each other")
    if args.j < 1:
        raise fail("-j wants a positive number")
    tests = args.tests or ([] if args.all else read_list(args.list))

    cache = os.path.join(PROJECT, ".cache", "trixie")
    os.makedirs(cache, exist_ok=True)
    # One run at a time per checkout: they share the chroot.
    lock = open(os.path.join(cache, "lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another run holds the chroot; waiting")
        fcntl.flock(lock, fcntl.LOCK_EX)
    root = os.path.join(cache, "root")
    # A run killed before its cleanup leaves its mounts: undo them first.
    for prefix in (root, root + ".tmp"):
        if os.path.isdir(prefix) and kill_chroot_processes(prefix):
            log(f"ended processes that an earlier run left in {prefix}")
        if mounts_under(prefix):
            log(f"unmounting what an earlier run left mounted in {prefix}")
            unmount_all(prefix)
    root = build_chroot(cache, args.rebuild)
    if args.all:
        tests = sorted(n for n in os.listdir(root + TESTS_DIR) if n.startswith("test-") and n.endswith((".sh", ".py"))
                       and os.access(os.path.join(root + TESTS_DIR, n), os.X_OK))
    missing = [t for t in tests if not os.path.isfile(os.path.join(root + TESTS_DIR, t))]
    if missing:
        raise fail(f"not in ostree-tests {SUITE}: {', '.join(missing)}")

    if not tests:
        log("no scripts to run")
        print("0 passed, 0 failed")
        return 0
    out = args.o or tempfile.mkdtemp(prefix="ostree-py-trixie.", dir=os.environ.get("TMPDIR", "/tmp"))
    os.makedirs(out, exist_ok=True)
    clean_tmp(root)
    log("copying the checkout to the chroot's " + SRC)
    copy_checkout(root)
    try:
        with Mounts(root):
            if not args.reference:
                log(f"python3 -m venv {SRC}/.venv; pip install {SRC} (log in {out}/venv.log)")
                install_venv(root, os.path.join(out, "venv.log"))
            what = "the reference ostree" if args.reference else "ostree-py"
            log(f"{len(tests)} scripts against {what}, {args.j} at a time")
            cmd = [f"{SRC}/tests/upstream/run", "-j", str(args.j), "-o", OUT]
            if args.reference:
                cmd.append("-r")
            proc = chroot(root, *cmd, *tests, env={"OSTREE_HTTPD": HTTPD}, stdin=subprocess.DEVNULL)
    finally:
        # Also after a failure or an interruption: the logs so far.
        logs = os.path.join(root, OUT.lstrip("/"))
        if os.path.isdir(logs):
            shutil.copytree(logs, out, dirs_exist_ok=True)
        clean_tmp(root)
        log(f"logs in {out}")
    return proc.returncode


def _terminate(signum, frame):
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the mounts are undone.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main(sys.argv[1:]))
    except (RuntimeError, OSError) as e:
        sys.exit(f"error: {e}")
    except KeyboardInterrupt:
        sys.exit("error: interrupted")
