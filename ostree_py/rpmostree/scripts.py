"""Package scriptlets run as rpm-ostree runs them: in a bubblewrap container whose
root is the new tree.

rpm-ostree mounts rofiles-fuse ``--copyup`` over /usr and /etc for scripts:
new files may be created, files renamed and removed, and a write to a file
that is hard-linked to a repo object copies it up first, so the object stays
intact. Here the same semantics come from the kernel without FUSE: an
overlay whose lower layer is the checkout and whose upper layer is a
directory next to it, mounted in a private mount namespace of the sandbox's
parent (``unshare --mount``), so it vanishes with the process and no mount is
ever left behind. A write to a hard-linked file is a copy-up into the upper
layer; the repo's objects are never opened for writing. After the scripts,
``Sandbox.sync`` moves the upper layer's files into the checkout (replacing,
never writing through, the hard-linked ones), applies its whiteouts and drops
overlayfs's own xattrs. Where no overlay can be mounted (no privilege, or a
filesystem overlayfs refuses as its upper layer), every hard-linked file of
the tree is copied first: slower, and just as safe for the repo.

Output is rpm-ostree's outside the journal: stdout and stderr of each script
buffered, then printed with each line prefixed by ``PKG.SCRIPT: ``.
"""

import os
import shutil
import stat
import subprocess
import tempfile

from ostree_py.rpmostree import RpmOstreeError

# rpm's script flag: expand macros in the body (``%post -e``)
SCRIPT_FLAG_EXPAND = 1
# rpm's sense bits of triggers
SENSE_TRIGGERIN = 1 << 16
SENSE_TRIGGERPREIN = 1 << 25

# capabilities scripts keep (rpm-ostree's subset of Docker's defaults)
_CAPS = ("cap_chown", "cap_dac_override", "cap_fowner", "cap_fsetid", "cap_kill", "cap_setgid",
         "cap_setuid", "cap_setpcap", "cap_sys_chroot", "cap_setfcap")

# scripts rpm-ostree never runs (package.script); the kernel's posttrans are its own
# initramfs generation, done by rpm-ostree itself
IGNORED = frozenset({
    "glibc.prein", "glibc-headers.prein", "coreutils.prein", "ca-certificates.prein", "libgcc.post",
    "filesystem.posttrans", "setup.post", "pinentry.prein", "fedora-release.posttrans", "vagrant.prein",
    "vagrant-libvirt.prein", "bash.post", "gdb.prein", "systemd.transfiletriggerin",
    "man-db.transfiletriggerin", "filesystem.transfiletriggerin", "nfs-utils.post", "microcode_ctl.post",
    "microcode_ctl.posttrans",
})
_KERNEL_POSTTRANS = ("kernel", "kernel-core", "kernel-modules", "kernel-uek", "kernel-lt", "kernel-ml")


def is_ignored(pkg: str, desc: str) -> bool:
    """Whether rpm-ostree skips script ``desc`` (``%post``) of package ``pkg``."""
    key = f"{pkg}.{desc.lstrip('%')}"
    if key in IGNORED:
        return True
    return desc == "%posttrans" and (pkg in _KERNEL_POSTTRANS or pkg.startswith("kernel-") and
                                     pkg.endswith(("-core", "-modules")))


def lua_has_skip(body: str) -> bool:
    """rpm-ostree's magic comment: a lua script with ``-- rpm-ostree-skip`` in its
    first ten lines is skipped."""
    return any(line.startswith("-- rpm-ostree-skip") for line in body.split("\n")[:10])


class Sandbox:
    """Scripts of one transaction over the tree at ``root``; ``work`` is a directory on
    the same filesystem, outside ``root``, for the overlay's upper layer."""

    def __init__(self, root: str, work: str, write):
        self.root = root
        self.work = work
        self.write = write          # where prefixed script output goes
        self.upper = os.path.join(work, "overlay-upper")
        self.ovwork = os.path.join(work, "overlay-work")
        self.empty = os.path.join(work, "empty")
        self.statedir = os.path.join(work, "rpm-state")
        for d in (self.upper, self.ovwork, self.empty, self.statedir):
            os.makedirs(d, exist_ok=True)
        # mount points of the sandbox (removed again by finish())
        self._created = []
        for rel in ("var/tmp", "var/lib/rpm-state", "run", "tmp", "usr/share/rpm"):
            p = os.path.join(root, rel)
            if not os.path.lexists(p):
                os.makedirs(p)
                self._created.append(rel)
        self._tools = {}
        for t in ("bwrap", "unshare", "mount"):
            path = shutil.which(t) or shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")
            if path is None:
                what = "bubblewrap (bwrap)" if t == "bwrap" else f"{t} (util-linux)"
                raise RpmOstreeError(f"Running scriptlets: {what} is not installed")
            self._tools[t] = path
        try:
            self._check_overlay()
            self.overlay = True
        except RpmOstreeError:
            from ostree_py.rpmostree.assemble import _copy_up
            _copy_up(root)
            self.overlay = False

    def _wrapper(self) -> list:
        """argv prefix: a private mount namespace with the overlay over the root."""
        opts = "lowerdir=%s,upperdir=%s,workdir=%s" % (
            os.path.relpath(self.root, self.work), os.path.relpath(self.upper, self.work),
            os.path.relpath(self.ovwork, self.work))
        return [self._tools["unshare"], "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                'cd "$1" && "$2" -t overlay -o "$3" overlay "$4" || exit 125; shift 4; exec "$@"',
                "rpmostree-overlay", self.work, self._tools["mount"], opts, self.root]

    def _check_overlay(self) -> None:
        p = subprocess.run(self._wrapper() + ["/bin/true"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            out = p.stdout.decode("utf-8", "replace").strip()
            raise RpmOstreeError("Running scriptlets: cannot mount an overlay over the new tree "
                                 f"(scripts must not write to the repo's objects): {out or p.returncode}")

    def bwrap_argv(self) -> list:
        root = self.root
        argv = [self._tools["bwrap"], "--bind", root, "/", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "--chdir", "/", "--die-with-parent", "--unshare-pid", "--unshare-uts",
                "--unshare-ipc", "--unshare-cgroup-try", "--unshare-net"]
        if os.getuid() == 0:
            argv += ["--cap-drop", "ALL"]
            for c in _CAPS:
                argv += ["--cap-add", c]
        # /var read-only but for a transient /var/tmp and rpm's state directory
        argv += ["--ro-bind", os.path.join(root, "var"), "/var", "--tmpfs", "/var/tmp",
                 "--bind", self.statedir, "/var/lib/rpm-state"]
        # scripts do not see the rpmdb
        argv += ["--ro-bind", self.empty, "/usr/share/rpm"]
        argv += ["--tmpfs", "/run", "--ro-bind", "/dev/null", "/run/ostree-booted"]
        return argv

    def run(self, pkg: str, desc: str, interp: str, body: str, arg: str | None = None,
            stdin: bytes | None = None) -> None:
        """Run one script; its output is printed prefixed, a failure raises
        ``bwrap(INTERP): Child process exited with code N``."""
        pkg_script = f"{pkg}.{desc.lstrip('%')}"
        fd = os.memfd_create(pkg_script, 0)
        try:
            os.write(fd, body.encode("utf-8", "surrogateescape"))
            os.lseek(fd, 0, os.SEEK_SET)
            argv = (self._wrapper() if self.overlay else []) + self.bwrap_argv() + ["--"] + interp.split() + \
                [f"/proc/self/fd/{fd}"]
            if arg is not None:
                argv.append(arg)
            env = {"PATH": "/usr/sbin:/usr/bin", "LANG": os.environ.get("LANG", "C"), "SYSTEMD_OFFLINE": "1"}
            with tempfile.TemporaryFile(dir=self.work) as out, \
                    tempfile.TemporaryFile(dir=self.work) as inp:
                if stdin is not None:
                    inp.write(stdin)
                    inp.seek(0)
                p = subprocess.run(argv, stdin=inp if stdin is not None else subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, pass_fds=(fd,), env=env)
                out.seek(0)
                for line in out:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    self.write(f"{pkg_script}: {text}\n")
        finally:
            os.close(fd)
        if p.returncode != 0:
            child = interp.split()[0] if interp.split() else interp
            if p.returncode == 125 and self.overlay:
                raise RpmOstreeError(f"bwrap({child}): could not mount the scripts' overlay")
            if p.returncode < 0:
                raise RpmOstreeError(f"bwrap({child}): Child process killed by signal {-p.returncode}")
            raise RpmOstreeError(f"bwrap({child}): Child process exited with code {p.returncode}")

    def sync(self) -> None:
        """Move the scripts' changes so far into the tree (the next script sees them
        through a fresh overlay)."""
        if self.overlay:
            merge_upper(self.upper, self.root)
        for d in (self.upper, self.ovwork):
            shutil.rmtree(d)
            os.makedirs(d)

    def abort(self) -> None:
        shutil.rmtree(self.upper, ignore_errors=True)
        shutil.rmtree(self.ovwork, ignore_errors=True)

    def finish(self) -> None:
        """Move the scripts' changes into the tree and remove the sandbox's mount points."""
        if self.overlay:
            merge_upper(self.upper, self.root)
        for rel in ("var/tmp", "var/lib/rpm-state"):
            p = os.path.join(self.root, rel)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
        for rel in reversed(self._created):
            p = os.path.join(self.root, rel)
            try:
                os.rmdir(p)
            except OSError:
                pass
        shutil.rmtree(self.upper, ignore_errors=True)
        shutil.rmtree(self.ovwork, ignore_errors=True)


# ------------------------------------------------------------------ overlay upper layer -> tree

_OVL_PREFIX = "trusted.overlay."


def _is_whiteout(st) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _user_xattrs(path: str) -> dict:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names if not n.startswith(_OVL_PREFIX)}


def _strip_overlay_xattrs(path: str) -> None:
    """Drop overlayfs's bookkeeping xattrs and whiteouts under ``path`` (an upper-layer
    tree about to become part of the commit)."""
    todo = [path]
    while todo:
        p = todo.pop()
        st = os.lstat(p)
        if _is_whiteout(st):
            os.unlink(p)
            continue
        try:
            for n in os.listxattr(p, follow_symlinks=False):
                if n.startswith(_OVL_PREFIX):
                    os.removexattr(p, n, follow_symlinks=False)
        except OSError:
            pass
        if stat.S_ISDIR(st.st_mode):
            todo.extend(os.path.join(p, n) for n in os.listdir(p))


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def merge_upper(upper: str, lower: str) -> None:
    """Apply an overlay upper layer to the directory it was mounted over: whiteouts
    remove, opaque or new directories and all non-directories replace (by rename:
    a hard-linked file of the lower tree is never written), copied-up directories
    are merged and take the upper's metadata."""
    for name in sorted(os.listdir(upper)):
        u, low = os.path.join(upper, name), os.path.join(lower, name)
        st = os.lstat(u)
        if _is_whiteout(st):
            _remove(low)
            continue
        if stat.S_ISDIR(st.st_mode):
            opaque = False
            try:
                opaque = os.getxattr(u, _OVL_PREFIX + "opaque", follow_symlinks=False) == b"y"
            except OSError:
                pass
            if not opaque and os.path.isdir(low) and not os.path.islink(low):
                merge_upper(u, low)
                _copy_dir_meta(st, u, low)
                continue
            _remove(low)
            _strip_overlay_xattrs(u)
            os.rename(u, low)
            continue
        _strip_overlay_xattrs(u)
        if os.path.isdir(low) and not os.path.islink(low):
            shutil.rmtree(low)
        os.replace(u, low)


def _copy_dir_meta(st, src: str, dst: str) -> None:
    dst_st = os.lstat(dst)
    if (dst_st.st_uid, dst_st.st_gid) != (st.st_uid, st.st_gid):
        os.chown(dst, st.st_uid, st.st_gid)
    if stat.S_IMODE(dst_st.st_mode) != stat.S_IMODE(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    want, have = _user_xattrs(src), _user_xattrs(dst)
    for n in have.keys() - want.keys():
        os.removexattr(dst, n)
    for n, v in want.items():
        if have.get(n) != v:
            os.setxattr(dst, n, v)
