"""Client-side initramfs, as rpm-ostree does it.

``regenerate``: dracut, taken from the new tree itself, run in a bubblewrap
container whose /usr is the tree's (read-only) and whose /etc is the
system's (the merge deployment's /etc here: there is no daemon on the
booted root); its arguments are the base commit's
``rpmostree.initramfs-args`` (else ``--no-hostonly`` and ``--rebuild`` of the
tree's initramfs) followed by the origin's ``initramfs-args``, then
``--kver``. rpm-ostree's /dev/random cpio is appended (FIPS needs the nodes
before udev), and the result replaces ``usr/lib/modules/KVER/initramfs.img``.

``overlay``: the files tracked with ``initramfs-etc --track``, packed as a
gzip'd newc cpio (``etc/...`` with their parent directories) that ostree
appends to the deployment's initrd list.
"""

import gzip
import io
import os
import shutil
import stat
import subprocess

from ostree_py.rpmostree import RpmOstreeError

_CAPS = ("cap_chown", "cap_dac_override", "cap_fowner", "cap_fsetid", "cap_kill", "cap_setgid",
         "cap_setuid", "cap_setpcap", "cap_sys_chroot", "cap_setfcap")
_USR_LINKS = ("lib", "lib32", "lib64", "bin", "sbin")
WRAPPER = "usr/bin/rpmostree-dracut-wrapper"
_WRAPPER_TEXT = """#!/usr/bin/bash
set -euo pipefail
extra_argv=; if (dracut --help; true) | grep -q -e --reproducible; then extra_argv="--reproducible"; fi
mkdir -p /tmp/dracut && dracut $extra_argv -v --add ostree --tmpdir=/tmp/dracut -f /tmp/initramfs.img "$@"
"""


def find_kernel(root: str):
    """(kver, kernel path, initramfs path or None), relative to ``root``: the kernel of
    /usr/lib/modules (one version directory with a vmlinuz)."""
    moddir = os.path.join(root, "usr/lib/modules")
    try:
        names = sorted(os.listdir(moddir))
    except FileNotFoundError:
        names = []
    found = [n for n in names if os.path.isfile(os.path.join(moddir, n, "vmlinuz"))]
    if not found:
        if not names:
            raise RpmOstreeError("/usr/lib/modules is empty")
        raise RpmOstreeError("Unable to find kernel (vmlinuz) in /boot or /usr/lib/modules "
                             "(bootdir=usr/lib/modules)")
    if len(found) > 1:
        raise RpmOstreeError(f"Multiple vmlinuz in usr/lib/modules, occurrences '{found[0]}' and '{found[1]}'")
    kver = found[0]
    initramfs = f"usr/lib/modules/{kver}/initramfs.img"
    return kver, f"usr/lib/modules/{kver}/vmlinuz", initramfs if os.path.isfile(os.path.join(root, initramfs)) \
        else None


def _random_cpio() -> bytes:
    """rpm-ostree's dracut-random.cpio.gz: /dev with the random and urandom nodes."""
    out = io.BytesIO()
    w = CpioWriter(out)
    w.entry(".", stat.S_IFDIR | 0o755, nlink=3)
    w.entry("dev", stat.S_IFDIR | 0o755, nlink=2)
    w.entry("dev/random", stat.S_IFCHR | 0o644, rdev=(1, 8))
    w.entry("dev/urandom", stat.S_IFCHR | 0o644, rdev=(1, 9))
    w.close()
    return gzip.compress(out.getvalue(), compresslevel=9, mtime=0)


def regenerate(root: str, etc_dir: str, args, base_args, work: str, report) -> None:
    """Run the tree's dracut and install its initramfs into ``root``."""
    kver, _kernel, initramfs = find_kernel(root)
    if base_args is not None:
        argv = list(base_args)
        rebuild = None
    else:
        argv = ["--no-hostonly"]
        rebuild = initramfs
        if rebuild:
            argv = ["--rebuild", rebuild] + argv
    argv += list(args) + ["--kver", kver]
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RpmOstreeError("Generating initramfs: bubblewrap (bwrap) is not installed")
    tmp = os.path.join(work, "dracut-tmp")
    os.makedirs(tmp, exist_ok=True)
    wrapper = os.path.join(root, WRAPPER)
    with open(wrapper, "x", encoding="utf-8") as f:
        f.write(_WRAPPER_TEXT)
    os.chmod(wrapper, 0o755)
    try:
        cmd = [bwrap, "--ro-bind", os.path.join(root, "usr"), "/usr", "--ro-bind", etc_dir, "/etc",
               "--dev", "/dev", "--proc", "/proc", "--dir", "/run", "--bind", tmp, "/tmp", "--chdir", "/",
               "--die-with-parent", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--unshare-cgroup-try",
               "--unshare-net"]
        if os.getuid() == 0:
            cmd += ["--cap-drop", "ALL"]
            for c in _CAPS:
                cmd += ["--cap-add", c]
        for name in _USR_LINKS:
            if os.path.islink(os.path.join(root, name)):
                cmd += ["--symlink", f"usr/{name}", f"/{name}"]
        env = {"PATH": "/usr/sbin:/usr/bin", "LANG": os.environ.get("LANG", "C"), "DRACUT_NO_MKNOD": "1"}
        if "DRACUT_NO_XATTR" in os.environ:
            env["DRACUT_NO_XATTR"] = os.environ["DRACUT_NO_XATTR"]
        cmd += ["--", "/" + WRAPPER] + argv
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env)
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            report.msg_line(line + "\n")
        if p.returncode != 0:
            raise RpmOstreeError(f"bwrap({WRAPPER.rsplit('/', 1)[1]}): Child process exited with code "
                                 f"{p.returncode}")
    finally:
        os.unlink(wrapper)
    made = os.path.join(tmp, "initramfs.img")
    if not os.path.isfile(made):
        raise RpmOstreeError("Generating initramfs: dracut wrote no initramfs")
    # rpm-ostree's padding to 4 bytes (plus 4), then the /dev/random cpio
    with open(made, "ab") as f:
        n = f.seek(0, os.SEEK_END)
        f.write(b"\0" * (4 + (4 - n % 4) % 4))
        f.write(_random_cpio())
    dest = os.path.join(root, f"usr/lib/modules/{kver}/initramfs.img")
    os.chmod(made, 0o644)
    os.replace(made, dest)


# ------------------------------------------------------------------ cpio (newc)

class CpioWriter:
    """A streaming writer of the newc cpio format with fixed inode numbers."""

    def __init__(self, out):
        self.out = out
        self.ino = 0
        self.pos = 0

    def _write(self, b: bytes) -> None:
        self.out.write(b)
        self.pos += len(b)

    def _pad(self) -> None:
        if self.pos % 4:
            self._write(b"\0" * (4 - self.pos % 4))

    def entry(self, name: str, mode: int, uid=0, gid=0, nlink=1, mtime=0, size=0, rdev=(0, 0), data=None):
        self.ino += 1
        fields = (self.ino, mode, uid, gid, nlink, mtime, size, 0, 0, rdev[0], rdev[1], len(name.encode()) + 1, 0)
        self._write(b"070701" + b"".join(b"%08X" % f for f in fields))
        self._write(name.encode("utf-8", "surrogateescape") + b"\0")
        self._pad()
        if data is not None:
            copied = 0
            while copied < size:
                chunk = data.read(min(1 << 20, size - copied))
                if not chunk:
                    raise RpmOstreeError(f"{name}: file shrank while being archived")
                self._write(chunk)
                copied += len(chunk)
            self._pad()

    def close(self) -> None:
        self.entry("TRAILER!!!", 0, nlink=1)


def _gather(etc_dir: str, files) -> list:
    """rpm-ostree's list of the tracked files: every parent directory, then the files
    (directories recursively), sorted; paths relative to /etc."""
    out = set()
    for f in files:
        if not f.startswith("/etc/"):
            raise RpmOstreeError(f"Invalid non-/etc path: {f}")
        rel = f[len("/etc/"):]
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise RpmOstreeError(f"invalid path /etc/{rel}: must be canonical")
        for i in range(1, len(parts) + 1):
            out.add("/".join(parts[:i]))
        todo = [rel]
        while todo:
            p = todo.pop()
            try:
                st = os.lstat(os.path.join(etc_dir, p))
            except OSError as e:
                raise RpmOstreeError(f"Adding {rel}: stat: {os.strerror(e.errno)} (os error {e.errno})") from None
            if stat.S_ISDIR(st.st_mode):
                todo.extend(f"{p}/{n}" for n in os.listdir(os.path.join(etc_dir, p)))
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                raise RpmOstreeError(f"Adding {rel}: Invalid non-regfile/symlink/directory: {p}")
            out.add(p)
    return sorted(out)


def write_overlay(etc_dir: str, files, dest: str) -> None:
    """The overlay initrd of the tracked ``files`` (absolute /etc paths) read from
    ``etc_dir``, written to ``dest``."""
    names = _gather(etc_dir, files)
    with open(dest, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        w = CpioWriter(gz)
        for rel in names:
            path = os.path.join(etc_dir, rel)
            st = os.lstat(path)
            common = dict(uid=st.st_uid, gid=st.st_gid, mtime=int(st.st_mtime))
            if stat.S_ISDIR(st.st_mode):
                w.entry("etc/" + rel, st.st_mode, nlink=2, **common)
            elif stat.S_ISLNK(st.st_mode):
                target = os.readlink(path).encode("utf-8", "surrogateescape")
                w.entry("etc/" + rel, st.st_mode, size=len(target), data=io.BytesIO(target), **common)
            else:
                with open(path, "rb") as f:
                    w.entry("etc/" + rel, st.st_mode, size=st.st_size, data=f, **common)
        w.close()
