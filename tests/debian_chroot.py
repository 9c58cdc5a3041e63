"""Debian chroots for the test harnesses (tests/boot, tests/upstream/trixie.py).

The mirror that this machine's apt uses, the API file systems mounted into a
chroot (and always unmounted again), and a removal that refuses to descend
into a chroot that still has something mounted in it: a recursive delete
through a bind-mounted /dev would remove the host's device nodes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time


def host_codename() -> str:
    """The host's Debian codename (VERSION_CODENAME in /etc/os-release)."""
    with open("/etc/os-release", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError("no VERSION_CODENAME in /etc/os-release")


def apt_mirror(suite: str, etc_apt: str = "/etc/apt") -> str:
    """The mirror URI of this machine's apt source for `suite` (the main archive)."""
    texts = []
    extra = os.path.join(etc_apt, "sources.list.d")
    names = sorted(os.listdir(extra)) if os.path.isdir(extra) else []
    for path in [os.path.join(etc_apt, "sources.list")] + [os.path.join(extra, n) for n in names]:
        if path.endswith((".list", ".sources")) and os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append((path, f.read()))
    for path, text in texts:
        if path.endswith(".list"):
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words[:1] == ["deb"]:
                    words = words[1:]
                    if words and words[0].startswith("["):  # [option=value ...]
                        while words and not words[0].endswith("]"):
                            words = words[1:]
                        words = words[1:]
                    if len(words) >= 2 and words[1] == suite:
                        return words[0]
        else:
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
                if "deb" in fields.get("types", []) and suite in fields.get("suites", []) \
                        and fields.get("enabled", ["yes"])[0] != "no" and fields.get("uris"):
                    return fields["uris"][0]
    raise RuntimeError(f"no apt source for {suite} in {etc_apt}/sources.list*")


def mounts_under(path: str) -> list[str]:
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            # Field 5 is the mount point, with space, tab, newline and
            # backslash escaped as octal.
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(path: str) -> None:
    """Unmounts everything at or below `path` (lazily when busy); raises if any stays."""
    for point in mounts_under(path):
        if subprocess.run(["umount", point], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"still mounted: {', '.join(left)}")


def remove_tree(path: str) -> None:
    """Removes `path` after unmounting whatever is mounted below it."""
    if not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        unmount_all(path)
        try:
            shutil.rmtree(path)
        except PermissionError:
            # Deployments carry the immutable flag when made without the debug env.
            subprocess.run(["chattr", "-R", "-f", "-i", path], stderr=subprocess.DEVNULL)
            shutil.rmtree(path)
    else:
        os.unlink(path)


def chroot_processes(root: str) -> list[int]:
    """Processes whose root directory is `root` (or below it)."""
    root = os.path.realpath(root)
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                proc_root = os.readlink(f"/proc/{name}/root")
            except OSError:
                continue  # gone, or a kernel thread
            if proc_root == root or proc_root.startswith(root + "/"):
                found.append(int(name))
    return found


def kill_chroot_processes(root: str, grace: float = 5.0) -> list[int]:
    """Ends what still runs in the chroot (daemons a test left: gpg-agent, an HTTP server):
    SIGTERM, then SIGKILL after `grace` seconds. Returns the pids that were running."""
    pids = chroot_processes(root)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
            time.sleep(0.1)
        pids_left = [p for p in pids if os.path.exists(f"/proc/{p}")]
        if not pids_left:
            break
    return pids


class Mounts:
    """proc, sys, dev and dev/pts mounted into a chroot. On exit, also on failure, what
    still runs in the chroot is ended (it would keep /dev busy) and they are unmounted."""

    def __init__(self, root: str):
        self.root = root
        self.done: list[str] = []

    def __enter__(self):
        try:
            for kind, src, rel in (("proc", "proc", "proc"), ("sysfs", "sys", "sys"), ("bind", "/dev", "dev"),
                                   ("bind", "/dev/pts", "dev/pts")):
                target = os.path.join(self.root, rel)
                os.makedirs(target, exist_ok=True)
                if kind == "bind":
                    cmd = ["mount", "--bind", src, target]
                else:
                    cmd = ["mount", "-t", kind, src, target]
                subprocess.run(cmd, check=True)
                self.done.append(target)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        kill_chroot_processes(self.root)
        for target in reversed(self.done):
            if subprocess.run(["umount", target]).returncode != 0:
                subprocess.run(["umount", "-l", target])
        self.done = []
