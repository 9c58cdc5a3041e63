"""Creating deployments and swapping boot configurations.

deploy_tree: check the commit out as ``ostree/deploy/OS/deploy/CSUM.SERIAL``
(hardlinks into the repo), find its kernel, copy ``usr/etc`` to ``etc`` and
apply the merge deployment's /etc changes (its ``etc`` against its own
``usr/etc``; the local version wins), write the origin, seal it.

write_deployments: assign boot serials, then either swap only the bootlinks
(``ostree/boot.N -> boot.N.M``) when kernels, arguments and versions are
unchanged, or write a complete new ``boot/loader.N`` (kernels copied into
``boot/ostree/OS-BOOTCSUM``, BLS entries, bootloader config), sync, and
rename ``boot/loader`` over: that rename is the commit point.
"""

import errno
import hashlib
import os
import stat

from ostree_py.core.keyfile import KeyFile
from ostree_py.errors import OstreeError
from ostree_py.sysroot.bootloader.bls import BootConfig
from ostree_py.sysroot.kargs import KernelArgs
from ostree_py.util.faults import checkpoint
from ostree_py.sysroot.sysroot import (
    RUNSTATE_STAGED_INITRDS_DIR,
    Deployment,
    Sysroot,
    SysrootError,
    parse_deploy_name,
    rm_rf,
    symlink_replace,
)
from ostree_py.core.objects import is_checksum
from ostree_py.util.fs import fsync_dir, strerror, write_atomic



def _hash_file(h, path: str) -> None:
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)


def _hash_dir(h, path: str) -> None:
    """Contents of every file below ``path``, names sorted at each level (checksum_dir_recurse)."""
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        st = os.lstat(p)
        if stat.S_ISDIR(st.st_mode):
            _hash_dir(h, p)
        else:
            try:
                _hash_file(h, p)
            except FileNotFoundError:
                pass


class KernelLayout:
    """Where a tree's kernel, initramfs, devicetree and HMAC are, and their /boot names."""

    __slots__ = ("boot_dir", "kernel_src", "kernel_namever", "hmac_src", "hmac_namever",
                 "initramfs_src", "initramfs_namever", "devicetree_src", "devicetree_namever", "bootcsum")

    def __init__(self, boot_dir):
        self.boot_dir = boot_dir
        self.kernel_src = self.kernel_namever = None
        self.hmac_src = self.hmac_namever = None
        self.initramfs_src = self.initramfs_namever = None
        self.devicetree_src = self.devicetree_namever = None
        self.bootcsum = None


def _kernel_from_usrlib_modules(deployment_dir: str, no_dtb: bool) -> KernelLayout | None:
    modules = os.path.join(deployment_dir, "usr/lib/modules")
    try:
        entries = list(os.scandir(modules))
    except FileNotFoundError:
        return None
    layout = kver = None
    for e in entries:
        if not e.is_dir(follow_symlinks=False):
            continue
        try:
            st = os.stat(os.path.join(e.path, "vmlinuz"))
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        kver = e.name
        layout = KernelLayout(e.path)
        layout.kernel_src = "vmlinuz"
        layout.kernel_namever = f"vmlinuz-{kver}"
        break
    if layout is None:
        return None
    h = hashlib.sha256()
    _hash_file(h, os.path.join(layout.boot_dir, "vmlinuz"))
    for name in ("initramfs.img", "initramfs"):
        p = os.path.join(layout.boot_dir, name)
        try:
            _hash_file(h, p)
        except FileNotFoundError:
            continue
        layout.initramfs_src = name
        layout.initramfs_namever = f"initramfs-{kver}.img"
        break
    if not no_dtb:
        dt = os.path.join(layout.boot_dir, "devicetree")
        try:
            _hash_file(h, dt)
            layout.devicetree_src = "devicetree"
            layout.devicetree_namever = f"devicetree-{kver}"
        except FileNotFoundError:
            dtb = os.path.join(layout.boot_dir, "dtb")
            if os.path.isdir(dtb):
                layout.devicetree_src = "dtb"
                layout.devicetree_namever = None
                _hash_dir(h, dtb)
    if os.path.exists(os.path.join(layout.boot_dir, ".vmlinuz.hmac")):
        layout.hmac_src = ".vmlinuz.hmac"
        layout.hmac_namever = f".{layout.kernel_namever}.hmac"
    layout.bootcsum = h.hexdigest()
    return layout


def _kernel_from_legacy(deployment_dir: str) -> KernelLayout | None:
    boot_dir = None
    for rel in ("usr/lib/ostree-boot", "boot"):
        p = os.path.join(deployment_dir, rel)
        if os.path.isdir(p) and not os.path.islink(p):
            boot_dir = p
            break
        if os.path.lexists(p) and not os.path.isdir(p):
            raise SysrootError(f"openat({rel}): Not a directory")
    if boot_dir is None:
        return None
    layout = KernelLayout(boot_dir)
    kernel_csum = initramfs_csum = dt_csum = None
    for name in os.listdir(boot_dir):
        if layout.kernel_src is None and name.startswith("vmlinuz-"):
            base, _, c = name.rpartition("-")
            if is_checksum(c):
                kernel_csum, layout.kernel_src, layout.kernel_namever = c, name, base
        elif layout.initramfs_src is None and name.startswith("initramfs-"):
            base, _, c = name.rpartition("-")
            if is_checksum(c):
                initramfs_csum, layout.initramfs_src, layout.initramfs_namever = c, name, base
        elif layout.devicetree_src is None and name.startswith("devicetree-"):
            base, _, c = name.rpartition("-")
            if is_checksum(c):
                dt_csum, layout.devicetree_src, layout.devicetree_namever = c, name, base
        if layout.kernel_src and layout.initramfs_src and layout.devicetree_src:
            break
    if layout.kernel_src is None:
        return None
    if layout.initramfs_src is not None and kernel_csum != initramfs_csum:
        raise SysrootError("Mismatched kernel checksum vs initrd")
    if layout.devicetree_src is not None and kernel_csum != dt_csum:
        raise SysrootError("Mismatched kernel checksum vs device tree in tree")
    layout.bootcsum = kernel_csum
    return layout


def get_kernel_from_tree(sysroot: Sysroot, deployment_dir: str) -> KernelLayout:
    """The kernel layout of a checked-out tree: usr/lib/modules/KVER, else the legacy dirs."""
    modules = _kernel_from_usrlib_modules(deployment_dir, "no-dtb" in sysroot.debug_flags)
    legacy = _kernel_from_legacy(deployment_dir)
    if legacy is None:
        if modules is None:
            raise SysrootError("Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot")
        return modules
    if modules is not None and modules.initramfs_src is None and legacy.initramfs_src is not None:
        return legacy
    return modules if modules is not None else legacy


# ---------------------------------------------------------------- copying with attributes

def _copy_xattrs_path(src: str, dest: str, follow: bool) -> None:
    import xattr
    try:
        names = xattr.listxattr(src, symlink=not follow)
    except OSError:
        return
    for n in names:
        try:
            v = xattr.getxattr(src, n, symlink=not follow)
            xattr.setxattr(dest, n, v, symlink=not follow)
        except OSError:
            pass


def _copy_attrs_dir(src: str, dest: str, no_xattrs: bool) -> None:
    st = os.lstat(src)
    if not no_xattrs:
        _copy_xattrs_path(src, dest, True)
    os.chown(dest, st.st_uid, st.st_gid)
    os.chmod(dest, stat.S_IMODE(st.st_mode))


def _copy_file(src: str, dest: str, st: os.stat_result, no_xattrs: bool) -> None:
    """glnx_file_copy_at with OVERWRITE: a regular file or symlink, owner, mode, xattrs, times."""
    if os.path.lexists(dest):
        os.unlink(dest)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
        os.lchown(dest, st.st_uid, st.st_gid)
        if not no_xattrs:
            _copy_xattrs_path(src, dest, False)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        return
    if not stat.S_ISREG(st.st_mode):
        raise SysrootError(f"Copying {os.path.basename(src)}: not a regular file or symlink")
    import shutil
    fd_in = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        fd_out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with open(fd_in, "rb", closefd=False) as fi, open(fd_out, "wb", closefd=False) as fo:
                shutil.copyfileobj(fi, fo, 1 << 20)
            os.fchown(fd_out, st.st_uid, st.st_gid)
            os.fchmod(fd_out, stat.S_IMODE(st.st_mode))
            if not no_xattrs:
                _copy_xattrs_path(src, dest, True)
            os.utime(fd_out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_dir_recurse(src_parent: str, dest_parent: str, name: str, no_xattrs: bool) -> None:
    src = os.path.join(src_parent, name)
    dest = os.path.join(dest_parent, name)
    try:
        os.mkdir(dest, 0o700)
    except FileExistsError:
        pass
    try:
        _copy_attrs_dir(src, dest, no_xattrs)
    except OSError as e:
        raise SysrootError(f"Copying attributes of {name}: {strerror(e)}") from None
    for e in os.scandir(src):
        st = e.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            _copy_dir_recurse(src, dest, e.name, no_xattrs)
        else:
            try:
                _copy_file(e.path, os.path.join(dest, e.name), st, no_xattrs)
            except OSError as err:
                raise SysrootError(f"Copying {e.name}: {strerror(err)}") from None


def _ensure_dir_from_template(modified_etc: str, new_etc: str, path: str, no_xattrs: bool) -> None:
    src = os.path.join(modified_etc, path)
    dest = os.path.join(new_etc, path)
    while True:
        try:
            os.mkdir(dest, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:
            parent = os.path.dirname(path)
            if parent:
                _ensure_dir_from_template(modified_etc, new_etc, parent, no_xattrs)
                continue
        break
    _copy_attrs_dir(src, dest, no_xattrs)


def _copy_modified_config_file(modified_etc: str, new_etc: str, path: str, no_xattrs: bool, message) -> None:
    src = os.path.join(modified_etc, path)
    try:
        mst = os.lstat(src)
    except OSError as e:
        raise SysrootError(f"Reading modified config file: fstatat({path}): {strerror(e)}") from None
    if "/" in path:
        _ensure_dir_from_template(modified_etc, new_etc, os.path.dirname(path), no_xattrs)
    dest = os.path.join(new_etc, path)
    try:
        nst = os.lstat(dest)
    except FileNotFoundError:
        nst = None
    if nst is not None:
        if stat.S_ISDIR(nst.st_mode):
            if not stat.S_ISDIR(mst.st_mode):
                raise SysrootError(f"Modified config file newly defaults to directory '{path}', cannot merge")
            return
        os.unlink(dest)
    if stat.S_ISDIR(mst.st_mode):
        _copy_dir_recurse(os.path.dirname(src), os.path.dirname(dest), os.path.basename(path), no_xattrs)
    elif stat.S_ISLNK(mst.st_mode) or stat.S_ISREG(mst.st_mode):
        try:
            _copy_file(src, dest, mst, no_xattrs)
        except OSError as e:
            raise SysrootError(f"Copying {path}: {strerror(e)}") from None
    # anything else (fifos, sockets, devices) is ignored, as the reference does


def merge_configuration(sysroot: Sysroot, merge: Deployment, new_dir: str) -> None:
    """Apply ``merge``'s local /etc changes to the new deployment's /etc."""
    from ostree_py.ops.diff import diff_dirs
    mdir = sysroot.deployment_dirpath(merge)
    orig_etc = os.path.join(mdir, "usr/etc")
    modified_etc = os.path.join(mdir, "etc")
    new_etc = os.path.join(new_dir, "etc")
    try:
        try:
            res = diff_dirs(orig_etc, modified_etc, ignore_xattrs=True)
        except OstreeError as e:
            raise SysrootError(f"While computing configuration diff: {e.message}") from None
        sysroot.message(f"Copying /etc changes: {len(res.modified)} modified, "
                        f"{len(res.removed)} removed, {len(res.added)} added")
        for d in (orig_etc, modified_etc, new_etc):
            if not os.path.isdir(d):
                raise SysrootError(f"opendir({os.path.relpath(d, os.path.dirname(os.path.dirname(d)))}): "
                                   "No such file or directory")
        no_x = sysroot.no_xattrs()
        for a in res.removed:
            rm_rf(os.path.join(new_etc, a.rel))
        for _a, b in res.modified:
            _copy_modified_config_file(modified_etc, new_etc, b.rel, no_x, sysroot.message)
        for b in res.added:
            _copy_modified_config_file(modified_etc, new_etc, b.rel, no_x, sysroot.message)
    except SysrootError as e:
        raise SysrootError(f"During /etc merge: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"During /etc merge: {strerror(e)}") from None


# ---------------------------------------------------------------- deploy_tree

def _allocate_deployserial(sysroot: Sysroot, osname: str, revision: str) -> int:
    serial = 0
    for _os, csum, s in _list_deployment_dirs(sysroot, osname):
        if csum == revision:
            serial = max(serial, s + 1)
    return serial


def _list_deployment_dirs(sysroot: Sysroot, osname: str):
    d = sysroot.p(f"ostree/deploy/{osname}/deploy")
    try:
        entries = list(os.scandir(d))
    except FileNotFoundError:
        return
    for e in entries:
        if not e.is_dir(follow_symlinks=False):
            continue
        csum, serial = parse_deploy_name(e.name)
        yield osname, csum, serial


def deploy_tree(sysroot: Sysroot, osname, revision: str, origin, merge: Deployment | None,
                override_kernel_argv=None, overlay_initrds=None) -> Deployment:
    """Check out ``revision`` as a new (not yet booted) deployment; see the module docstring."""
    d = initialize_deployment(sysroot, osname, revision, origin, override_kernel_argv, overlay_initrds)
    finalize_deployment(sysroot, d, merge)
    checkpoint("deployment")
    return d


def initialize_deployment(sysroot: Sysroot, osname, revision: str, origin, override_kernel_argv=None,
                          overlay_initrds=None) -> Deployment:
    """The checkout, kernel lookup and fresh /etc of a new deployment, before any /etc merge
    (what a staged deployment holds until finalize_deployment runs at shutdown)."""
    if osname is None:
        osname = sysroot.booted_deployment.osname
    repo = sysroot.repo
    serial = _allocate_deployserial(sysroot, osname, revision)
    d = Deployment(0, osname, revision, serial, None, -1)
    d.origin = origin
    ddir = sysroot.deployment_dirpath(d)
    # checkout
    try:
        parent = sysroot.p(f"ostree/deploy/{osname}/deploy")
        os.makedirs(parent, 0o775, exist_ok=True)
        rm_rf(ddir)
        from ostree_py.ops.checkout import checkout_tree
        checkout_tree(repo, revision, ddir, process_passthrough_whiteouts=True)
    except OstreeError as e:
        raise SysrootError(f"Checking out deployment tree: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"Checking out deployment tree: {strerror(e)}") from None
    try:
        _check_prepare_root_config(repo, ddir)
    except OstreeError as e:
        raise SysrootError(f"Checking out deployment tree: {e.message}") from None
    checkpoint("deployment")
    layout = get_kernel_from_tree(sysroot, ddir)
    d.bootcsum = layout.bootcsum
    d.bootconfig = BootConfig()
    if override_kernel_argv is not None:
        d.bootconfig.set("options", str(KernelArgs(override_kernel_argv)))
    _prepare_etc(sysroot, repo, d, ddir)
    checkpoint("deployment")
    _prepare_deployment_var(sysroot, repo, d, ddir)
    d.overlay_initrds = list(overlay_initrds) if overlay_initrds else None
    return d


PREPARE_ROOT_CONFIG = "ostree/prepare-root.conf"


def load_prepare_root_config(root: str) -> KeyFile:
    """otcore_load_config: the tree's usr/lib/ostree/prepare-root.conf, then its
    etc/ostree/prepare-root.conf; a file found later replaces the earlier one whole (GLib
    clears a key file it loads into). Neither: an empty key file."""
    config = KeyFile()
    for base in ("usr/lib", "etc"):
        path = os.path.join(root, base, PREPARE_ROOT_CONFIG)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise SysrootError(f"openat({base}/{PREPARE_ROOT_CONFIG}): {strerror(e)}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SysrootError("Invalid UTF-8") from None
        config = KeyFile.parse(text)
    return config


def _tristate(value: str | None, default: str) -> str:
    """_ostree_parse_tristate: "maybe", or a boolean as yes/no."""
    if value is None:
        return default
    value = value.strip()
    if value == "maybe":
        return "maybe"
    from ostree_py.util.text import parse_boolean
    try:
        return "yes" if parse_boolean(value) else "no"
    except OstreeError:
        raise SysrootError(f"Invalid tri-state value: {value}") from None


def composefs_enabled(config: KeyFile) -> str:
    """otcore_load_composefs_config's ``enabled``: yes, no or maybe; "signed" and "verity"
    are yes."""
    value = config.get("composefs", "enabled")
    if value in ("signed", "verity"):
        return "yes"
    try:
        return _tristate(value, "no")
    except OstreeError as e:
        raise SysrootError(f"Loading composefs config: {e.message}") from None


def _check_prepare_root_config(repo, ddir: str) -> None:
    """What a deploy reads of prepare-root.conf (ostree 2023.x on): ostree-py builds no
    composefs image, so, like an ostree built without composefs, it refuses a tree (or a
    repository, ``[ex-integrity] composefs``) that asks for one."""
    try:
        config = load_prepare_root_config(ddir)
    except OstreeError as e:
        raise SysrootError(f"Parsing prepare-root config: {e.message}") from None
    try:
        enabled = composefs_enabled(config)
    except OstreeError as e:
        raise SysrootError(f"Reading composefs config: {e.message}") from None
    try:
        if _tristate(repo.config.get("ex-integrity", "composefs"), "no") == "yes":
            enabled = "yes"
    except OstreeError:
        pass   # the repository's own reading of its config is not this check's business
    if enabled == "yes":
        raise SysrootError("composefs: enabled at runtime, but support is not compiled in")


def _prepare_etc(sysroot: Sysroot, repo, d: Deployment, ddir: str) -> None:
    etc = os.path.join(ddir, "etc")
    usr_etc = os.path.join(ddir, "usr/etc")
    try:
        etc_exists = os.path.lexists(etc)
        usretc_exists = os.path.lexists(usr_etc)
        if etc_exists and usretc_exists and os.path.isdir(etc) and not os.listdir(etc):
            # ostree 2023.x: an empty /etc beside /usr/etc is dropped (2022.7 refused the tree)
            os.rmdir(etc)
            etc_exists = False
        if etc_exists:
            if usretc_exists:
                raise SysrootError("Tree contains both /etc and /usr/etc")
            os.rename(etc, usr_etc)
            usretc_exists = True
        if usretc_exists:
            from ostree_py.ops.checkout import checkout_tree
            checkout_tree(repo, d.csum, etc, subpath="/usr/etc", force_copy=True)
    except OstreeError as e:
        raise SysrootError(f"Preparing /etc: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"Preparing /etc: {strerror(e)}") from None


def _prepare_deployment_var(sysroot: Sysroot, repo, d: Deployment, ddir: str) -> None:
    """ostree 2023.8's ``initial-var``: a stateroot whose ``var`` is still empty gets the
    commit's /var (copied, as a container volume is first filled from its image); when
    the tree has no usr/lib/tmpfiles.d, the standard directories are created too (what
    os-init did before). A non-empty stateroot var is left as it is: no merge."""
    if not os.path.isdir(os.path.join(ddir, "var")) or os.path.islink(os.path.join(ddir, "var")):
        return
    var = sysroot.p(f"ostree/deploy/{d.osname}/var")
    try:
        try:
            if os.listdir(var):
                return
        except OSError as e:
            raise SysrootError(f"Opening stateroot: opendir({os.path.relpath(var, sysroot.path)}): "
                               f"{strerror(e)}") from None
        from ostree_py.ops.checkout import checkout_tree
        checkout_tree(repo, d.csum, var, subpath="/var", force_copy=True, overwrite="union-files")
        if not os.path.lexists(os.path.join(ddir, "usr/lib/tmpfiles.d")):
            _legacy_var_init(var)
    except OstreeError as e:
        raise SysrootError(f"Preparing deployment /var: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"Preparing deployment /var: {strerror(e)}") from None


def _legacy_var_init(var: str) -> None:
    """The directories of /var that early boot needs, for trees without tmpfiles.d."""
    steps = [("Creating", "var/tmp", lambda p: os.makedirs(p, 0o777, exist_ok=True), "tmp"),
             ("fchmod", "var/tmp", lambda p: os.chmod(p, 0o1777), "tmp"),
             ("Creating", "var/lib", lambda p: os.makedirs(p, 0o777, exist_ok=True), "lib"),
             ("Creating", "var/log", lambda p: os.makedirs(p, 0o755, exist_ok=True), "log"),
             ("Symlinking", "var/run", lambda p: os.path.lexists(p) or os.symlink("../run", p), "run"),
             ("Symlinking", "var/lock", lambda p: os.path.lexists(p) or os.symlink("../run/lock", p), "lock")]
    for verb, what, fn, name in steps:
        try:
            fn(os.path.join(var, name))
        except OSError as e:
            raise SysrootError(f"Legacy mode stateroot var initialization: {verb} {what}: {strerror(e)}") from None


def finalize_deployment(sysroot: Sysroot, d: Deployment, merge: Deployment | None) -> None:
    """Kernel arguments from the merge deployment unless set, the /etc merge, origin, seal."""
    ddir = sysroot.deployment_dirpath(d)
    if merge is not None and d.bootconfig.get("options") is None and merge.bootconfig is not None:
        opts = merge.bootconfig.get("options")
        if opts is not None:
            d.bootconfig.set("options", opts)
    if merge is not None:
        merge_configuration(sysroot, merge, ddir)
    osdir = sysroot.p(f"ostree/deploy/{d.osname}")
    booted = sysroot.booted_deployment
    var = "/var" if booted is not None and booted.osname == d.osname else os.path.join(osdir, "var")
    if not os.path.isdir(var):
        raise SysrootError(f"opendir({'var' if var != '/var' else '/var'}): No such file or directory")
    for p in (os.path.join(ddir, "etc/.updated"), os.path.join(var, ".updated")):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    stamp = os.path.join(osdir, "var/.ostree-selabeled")
    if not os.path.lexists(stamp):
        sysroot.message("Relabeling /var (no stamp file 'var/.ostree-selabeled' found)")
        write_atomic(stamp, b"", 0o644, chmod=True)
    sysroot.write_origin_file(d, d.origin, sync=False, bump=False)
    if not sysroot.mutable_deployments():
        sysroot.set_mutable(d, False)


# ---------------------------------------------------------------- boot configuration

INITRAMFS_OVERLAYS = "ostree/initramfs-overlays"   # under /boot

def _assign_bootserials(deployments) -> None:
    counts: dict = {}
    for d in deployments:
        n = counts.get(d.bootcsum, 0)
        counts[d.bootcsum] = n + 1
        d.bootserial = n


def _nonostree_kargs(d: Deployment) -> str:
    k = KernelArgs.from_string(d.bootconfig.get("options") if d.bootconfig else None)
    k.replace("ostree")
    return str(k)


def _commit_version(repo, csum: str) -> str | None:
    try:
        meta = repo.load_commit(csum).metadata
    except OstreeError:
        return None
    v = meta.get("version")
    if v is None:
        return None
    val = getattr(v, "value", v)
    return val if isinstance(val, str) and getattr(v, "type", "s") == "s" else None


def _bootconfigs_equal(repo, a: Deployment, b: Deployment) -> bool:
    if a.bootcsum != b.bootcsum:
        return False
    if (a.overlay_initrds or []) != (b.overlay_initrds or []):
        return False
    if _nonostree_kargs(a) != _nonostree_kargs(b):
        return False
    if _commit_version(repo, a.csum) != _commit_version(repo, b.csum):
        return False
    # ostree 2023.x (cb70e406): entries of another stateroot point at other bootlinks
    return a.osname == b.osname


def _create_new_bootlinks(sysroot: Sysroot, bootversion: int, deployments) -> int:
    old = sysroot.subbootversion if bootversion == sysroot.bootversion else sysroot.read_subbootversion(bootversion)
    new = 0 if old == 1 else 1
    subdir = sysroot.p(f"ostree/boot.{bootversion}.{new}")
    try:
        rm_rf(subdir)
        os.makedirs(subdir, 0o755, exist_ok=True)
        for d in deployments:
            parent = os.path.join(subdir, d.osname, d.bootcsum)
            os.makedirs(parent, 0o755, exist_ok=True)
            symlink_replace(f"../../../deploy/{d.osname}/deploy/{d.csum}.{d.deployserial}",
                            os.path.join(parent, str(d.bootserial)))
    except OSError as e:
        raise SysrootError(f"Creating new current bootlinks: {strerror(e)}") from None
    return new


def _swap_bootlinks(sysroot: Sysroot, bootversion: int, new_sub: int) -> str:
    name = f"boot.{bootversion}.{new_sub}"
    try:
        symlink_replace(name, sysroot.p(f"ostree/boot.{bootversion}"))
    except OSError as e:
        raise SysrootError(f"Swapping new version bootlinks: {strerror(e)}") from None
    return name


def _full_system_sync(sysroot: Sysroot) -> None:
    from ostree_py.repo import syncfs
    for p in (sysroot.path, sysroot.p("boot")):
        try:
            fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            syncfs(fd)
        finally:
            os.close(fd)
    if "test-fifreeze" in sysroot.debug_flags:
        sysroot.warning("fifreeze watchdog was run")
        raise SysrootError("Full sync: During fsfreeze-thaw: aborting due to test-fifreeze")


def _parse_os_release(text: str) -> dict:
    import shlex
    out = {}
    for line in text.split("\n"):
        if line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        try:
            parts = shlex.split(v, posix=True) if v.strip() else [""]
            out[k] = " ".join(parts) if len(parts) != 1 else parts[0]
        except ValueError:
            continue
    return out


def _boot_files(sysroot: Sysroot, d: Deployment, layout: KernelLayout):
    """(source path, name in the bootcsum dir) for each file the deployment needs in /boot."""
    files = [(os.path.join(layout.boot_dir, layout.kernel_src), layout.kernel_namever)]
    if layout.initramfs_src:
        files.append((os.path.join(layout.boot_dir, layout.initramfs_src), layout.initramfs_namever))
    if layout.devicetree_src and layout.devicetree_namever:
        files.append((os.path.join(layout.boot_dir, layout.devicetree_src), layout.devicetree_namever))
    if layout.hmac_src:
        files.append((os.path.join(layout.boot_dir, layout.hmac_src), layout.hmac_namever))
    return files


# Tests set this to make every boot file count as copied (as across filesystems).
COPY_INTO_BOOT = False


def boot_free_bytes(path: str) -> int:
    """Free space on the filesystem of ``path`` (what a copy there may use)."""
    vfs = os.statvfs(path)
    return vfs.f_bavail * vfs.f_frsize


def _check_boot_space(sysroot: Sysroot, plans) -> None:
    """Refuse before writing anything when the kernels to copy do not fit in /boot."""
    boot = sysroot.p("boot")
    try:
        boot_dev = os.stat(boot).st_dev
        available = boot_free_bytes(boot)
    except OSError:
        return
    needed = 0
    seen = set()
    for d, layout in plans:
        bootcsumdir = os.path.join(boot, "ostree", f"{d.osname}-{d.bootcsum}")
        for src, name in _boot_files(sysroot, d, layout):
            dest = os.path.join(bootcsumdir, name)
            if dest in seen or os.path.exists(dest):
                continue
            seen.add(dest)
            st = os.stat(src)
            if st.st_dev == boot_dev and not COPY_INTO_BOOT:
                continue  # hardlinked, needs no space
            needed += st.st_blocks * 512 or st.st_size
        if layout.devicetree_src and not layout.devicetree_namever:
            dtdir = os.path.join(layout.boot_dir, layout.devicetree_src)
            if not os.path.exists(os.path.join(bootcsumdir, layout.devicetree_src)):
                for root, _dirs, names in os.walk(dtdir):
                    for n in names:
                        needed += os.lstat(os.path.join(root, n)).st_size
    if needed > available:
        from ostree_py.util.text import format_size
        raise SysrootError(f"Not enough space in /boot for the new kernels: {format_size(needed)} needed, "
                           f"{format_size(available)} available; the boot configuration was not changed")


def _install_into_boot(src: str, dest: str) -> None:
    try:
        os.link(src, dest)
        return
    except OSError as e:
        if e.errno not in (errno.EMLINK, errno.EXDEV):
            raise SysrootError(f"linkat({os.path.basename(dest)}): {strerror(e)}") from None
    st = os.stat(src)
    tmp = dest + f".tmp{os.urandom(3).hex()}"
    import shutil
    try:
        with open(src, "rb") as fi, open(tmp, "xb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
            os.fchown(fo.fileno(), st.st_uid, st.st_gid)
            os.fchmod(fo.fileno(), stat.S_IMODE(st.st_mode))
            fo.flush()
            os.fdatasync(fo.fileno())
        os.link(tmp, dest)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _install_deployment_kernel(sysroot: Sysroot, bootversion: int, d: Deployment, layout: KernelLayout,
                               n_deployments: int, show_osname: bool) -> None:
    repo = sysroot.repo
    ddir = sysroot.deployment_dirpath(d)
    bootcsumdir_rel = f"ostree/{d.osname}-{d.bootcsum}"
    bootcsumdir = sysroot.p("boot/" + bootcsumdir_rel)
    confdir = sysroot.p(f"boot/loader.{bootversion}/entries")
    conf_name = f"ostree-{n_deployments - d.index}-{d.osname}.conf"
    os.makedirs(bootcsumdir, 0o775, exist_ok=True)
    os.makedirs(confdir, 0o775, exist_ok=True)
    for src, name in _boot_files(sysroot, d, layout):
        dest = os.path.join(bootcsumdir, name)
        if not os.path.exists(dest):
            _install_into_boot(src, dest)
    if layout.devicetree_src and not layout.devicetree_namever:
        _copy_dir_recurse(layout.boot_dir, bootcsumdir, layout.devicetree_src, sysroot.no_xattrs())
    overlays = []
    for csum in d.overlay_initrds or ():
        # kept beside the bootcsum dirs, by checksum: shared by deployments, not part of the tree
        rel = f"{INITRAMFS_OVERLAYS}/{csum}.img"
        dest = sysroot.p("boot/" + rel)
        if not os.path.exists(dest):
            os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
            _install_into_boot(os.path.join(RUNSTATE_STAGED_INITRDS_DIR, csum), dest)
        overlays.append("/" + rel)
    osrel = os.path.join(ddir, "usr/lib/os-release")
    which = "/usr/lib/os-release"
    if not os.path.exists(osrel):
        osrel, which = os.path.join(ddir, "etc/os-release"), "/etc/os-release"
    try:
        with open(osrel, encoding="utf-8") as f:
            contents = f.read()
    except OSError as e:
        raise SysrootError(f"Reading {which}: {strerror(e)}") from None
    except UnicodeDecodeError:
        raise SysrootError(f"Reading {which}: Invalid UTF-8") from None
    vals = _parse_os_release(contents)
    title = vals.get("PRETTY_NAME") or vals.get("ID")
    if title is None:
        raise SysrootError("No PRETTY_NAME or ID in /etc/os-release")
    version = _commit_version(repo, d.csum)
    if version and version not in title:
        title += " " + version
    title += " (ostree"
    if show_osname:
        title += ":" + d.osname
    title += f":{d.index})"
    bc = d.bootconfig
    bc.set("title", title)
    bc.set("version", str(n_deployments - d.index))
    bc.set("linux", f"/{bootcsumdir_rel}/{layout.kernel_namever}")
    kargs = KernelArgs.from_string(bc.get("options"))
    if layout.initramfs_namever:
        bc.set("initrd", f"/{bootcsumdir_rel}/{layout.initramfs_namever}")
        if overlays:
            bc.overlay_initrds = overlays
    else:
        kargs.replace(f"init=/ostree/boot.{bootversion}/{d.osname}/{d.bootcsum}/{d.bootserial}"
                      "/usr/lib/ostree/ostree-prepare-root")
    if layout.devicetree_namever:
        bc.set("devicetree", f"/{bootcsumdir_rel}/{layout.devicetree_namever}")
    elif layout.devicetree_src:
        bc.set("fdtdir", f"/{bootcsumdir_rel}/{layout.devicetree_src}")
    kargs.replace(f"ostree=/ostree/boot.{bootversion}/{d.osname}/{d.bootcsum}/{d.bootserial}")
    bc.set("options", str(kargs))
    if d.index != 0:
        for k, v in _bls_append(repo).items():
            bc.set(k, v)
    write_atomic(os.path.join(confdir, conf_name), bc.to_text().encode("utf-8", "surrogateescape"),
                 0o644, fsync=False, chmod=True)


def _bls_append(repo) -> dict:
    cfg = repo.config
    try:
        items = cfg.get_list("sysroot", "bls-append-except-default", [])
    except OstreeError:
        return {}
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq:
            raise SysrootError("bls-append-except-default key must be of the form \"key1=value1;key2=value2...\"")
        out[k] = v
    return out


def _write_deployments_bootswap(sysroot: Sysroot, deployments) -> str:
    new_bootversion = 0 if sysroot.bootversion == 1 else 1
    show_osname = any(d.osname != deployments[0].osname for d in deployments[1:])
    plans = []
    for d in deployments:
        plans.append((d, get_kernel_from_tree(sysroot, sysroot.deployment_dirpath(d))))
    _check_boot_space(sysroot, plans)
    entries = sysroot.p(f"boot/loader.{new_bootversion}/entries")
    rm_rf(entries)
    os.makedirs(entries, 0o755, exist_ok=True)
    from ostree_py.sysroot.bootloader import query_bootloader
    bootloader = query_bootloader(sysroot)
    try:
        for d, layout in plans:
            _install_deployment_kernel(sysroot, new_bootversion, d, layout, len(deployments), show_osname)
    except SysrootError as e:
        raise SysrootError(f"Installing kernel: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"Installing kernel: {strerror(e)}") from None
    checkpoint("bootloader")
    new_sub = _create_new_bootlinks(sysroot, new_bootversion, deployments)
    checkpoint("bootloader")
    subbootdir = _swap_bootlinks(sysroot, new_bootversion, new_sub)
    checkpoint("bootloader")
    if bootloader is not None:
        try:
            bootloader.write_config(new_bootversion, deployments)
        except OstreeError as e:
            raise SysrootError(f"Bootloader write config: {e.message}") from None
        checkpoint("bootloader")
    # Preparing final bootloader swap
    try:
        if not os.path.lexists(sysroot.p("boot/boot")):
            os.symlink(".", sysroot.p("boot/boot"))
        symlink_replace(f"loader.{new_bootversion}", sysroot.p("boot/loader.tmp"))
    except OSError as e:
        raise SysrootError(f"Preparing final bootloader swap: {strerror(e)}") from None
    checkpoint("bootloader")
    _fsync_tree(sysroot.p(f"boot/loader.{new_bootversion}"))
    _full_system_sync(sysroot)
    # the commit point
    try:
        os.rename(sysroot.p("boot/loader.tmp"), sysroot.p("boot/loader"))
        fsync_dir(sysroot.p("boot"))
    except OSError as e:
        raise SysrootError(f"Final bootloader swap: {strerror(e)}") from None
    checkpoint("bootloader")
    if bootloader is not None:
        bootloader.post_bls_sync(new_bootversion)
        checkpoint("bootloader")
    return subbootdir, bootloader


def _fsync_tree(path: str) -> None:
    """fsync every file and directory of the new loader dir before it is swapped in."""
    for root, dirs, files in os.walk(path):
        for n in files:
            p = os.path.join(root, n)
            if os.path.islink(p):
                continue
            try:
                fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(root)


def write_deployments(sysroot: Sysroot, new_deployments: list, do_postclean: bool = True) -> None:
    """ostree_sysroot_write_deployments_with_options; see the module docstring."""
    removed_staged = sysroot.staged_deployment is not None
    if new_deployments:
        if new_deployments[0] is sysroot.staged_deployment:
            removed_staged = False
        new_deployments = [d for d in new_deployments if not d.staged]
    if removed_staged:
        # dropped from the new list: its state in /run and its checkout go
        from ostree_py.sysroot.sysroot import RUNSTATE_STAGED, RUNSTATE_STAGED_LOCKED
        staged = sysroot.staged_deployment
        try:
            os.unlink(RUNSTATE_STAGED)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SysrootError(f"unlinkat({RUNSTATE_STAGED}): {strerror(e)}") from None
        _rmrf_deployment(sysroot, staged.osname, staged.csum, staged.deployserial)
        try:
            os.unlink(RUNSTATE_STAGED_LOCKED)
        except FileNotFoundError:
            pass
        sysroot.staged_deployment = None
        sysroot.deployments = [d for d in sysroot.deployments if d is not staged]
    current = [d for d in sysroot.deployments if not d.staged]
    _assign_bootserials(new_deployments)
    requires_new_bootversion = False
    if len(new_deployments) != len(current):
        requires_new_bootversion = True
    else:
        is_noop = True
        for cur, new in zip(current, new_deployments):
            if not _bootconfigs_equal(sysroot.repo, cur, new):
                requires_new_bootversion = True
                is_noop = False
                break
            if cur is not new:
                is_noop = False
        if is_noop:
            return
    found_booted = False
    for i, d in enumerate(new_deployments):
        if d is sysroot.booted_deployment or d.equal(sysroot.booted_deployment):
            found_booted = True
        root = sysroot.deployment_dirpath(d)
        if not os.path.exists(root):
            raise SysrootError(f"Unable to find expected deployment root: {root}")
        d.index = i
    if sysroot.booted_deployment is not None and not found_booted:
        raise SysrootError("Attempting to remove booted deployment")
    bootloader = None
    if not requires_new_bootversion:
        new_sub = _create_new_bootlinks(sysroot, sysroot.bootversion, new_deployments)
        checkpoint("bootloader")
        _full_system_sync(sysroot)
        subbootdir = _swap_bootlinks(sysroot, sysroot.bootversion, new_sub)
        checkpoint("bootloader")
        atomic = True
    else:
        subbootdir, bootloader = _write_deployments_bootswap(sysroot, new_deployments)
        atomic = bootloader is not None and bootloader.is_atomic()
    sysroot.message(f"{'Transaction complete' if atomic else 'Bootloader updated'}; bootconfig swap: "
                    f"{'yes' if requires_new_bootversion else 'no'}; bootversion: {subbootdir}, "
                    f"deployment count change: {len(new_deployments) - len(sysroot.deployments)}")
    sysroot.bump_mtime()
    try:
        sysroot.load()
    except OstreeError as e:
        raise SysrootError(f"Reloading deployments after commit: {e.message}") from None
    for d in sysroot.deployments:
        p = sysroot.p(f"ostree/deploy/{d.osname}/current")
        if os.path.lexists(p):
            os.unlink(p)
    if do_postclean:
        try:
            cleanup(sysroot, True)
        except OstreeError as e:
            raise SysrootError(f"Performing final cleanup: {e.message}") from None


# ---------------------------------------------------------------- cleanup

def _cleanup_other_bootversions(sysroot: Sysroot) -> None:
    other = 0 if sysroot.bootversion == 1 else 1
    other_sub = 0 if sysroot.subbootversion == 1 else 1
    for rel in (f"boot/loader.{other}", f"ostree/boot.{other}", f"ostree/boot.{other}.0",
                f"ostree/boot.{other}.1", f"ostree/boot.{sysroot.bootversion}.{other_sub}"):
        rm_rf(sysroot.p(rel))


def _rmrf_deployment(sysroot: Sysroot, osname: str, csum: str, serial: int) -> None:
    rel = f"ostree/deploy/{osname}/deploy/{csum}.{serial}"
    path = sysroot.p(rel)
    st = os.stat(path)
    if (st.st_dev, st.st_ino) == (getattr(sysroot, "root_dev", None), getattr(sysroot, "root_ino", None)):
        return
    from ostree_py.sysroot.sysroot import set_immutable
    set_immutable(path, False)
    rm_rf(path + ".origin")
    checkpoint("deployment")
    rm_rf(path)
    checkpoint("deployment")


def _cleanup_old_deployments(sysroot: Sysroot) -> None:
    active = {sysroot.deployment_dirpath(d) for d in sysroot.deployments}
    active_bootcsums = {d.bootcsum for d in sysroot.deployments}
    deploy = sysroot.p("ostree/deploy")
    try:
        osnames = [e.name for e in os.scandir(deploy) if e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        osnames = []
    for osname in osnames:
        for _o, csum, serial in list(_list_deployment_dirs(sysroot, osname)):
            if sysroot.p(f"ostree/deploy/{osname}/deploy/{csum}.{serial}") in active:
                continue
            _rmrf_deployment(sysroot, osname, csum, serial)
    boot_ostree = sysroot.p("boot/ostree")
    try:
        entries = list(os.scandir(boot_ostree))
    except FileNotFoundError:
        entries = []
    for e in entries:
        if not e.is_dir(follow_symlinks=False):
            continue
        _osname, dash, csum = e.name.rpartition("-")
        if not dash or not is_checksum(csum):
            continue
        if csum in active_bootcsums:
            continue
        rm_rf(e.path)
    _cleanup_overlay_initrds(sysroot)


def _cleanup_overlay_initrds(sysroot: Sysroot) -> None:
    active = {os.path.basename(p) for d in sysroot.deployments if d.bootconfig is not None
              for p in d.bootconfig.overlay_initrds}
    try:
        entries = list(os.scandir(sysroot.p("boot/" + INITRAMFS_OVERLAYS)))
    except FileNotFoundError:
        return
    except OSError as e:
        raise SysrootError(f"open(initrd_overlays): {strerror(e)}") from None
    for e in entries:
        if e.is_file(follow_symlinks=False) and e.name not in active:
            os.unlink(e.path)


def _generate_deployment_refs(sysroot: Sysroot) -> None:
    repo = sysroot.repo
    bv, sbv = sysroot.bootversion, sysroot.subbootversion
    other_bv = 0 if bv == 1 else 1
    other_sbv = 0 if sbv == 1 else 1
    refs = repo.list_refs(remotes=False)
    for prefix in (f"ostree/{other_bv}/0/", f"ostree/{other_bv}/1/", f"ostree/{bv}/{other_sbv}/"):
        for ref in refs:
            if ref.startswith(prefix):
                repo.set_ref(ref, None)
    with repo.transaction():
        for i, d in enumerate(sysroot.deployments):
            repo.set_ref(f"ostree/{bv}/{sbv}/{i}", d.csum)


def _prune_repo(sysroot: Sysroot) -> None:
    from ostree_py.ops.prune import prune_from_reachable, traverse_reachable_refs
    from ostree_py.util.text import format_size
    from ostree_py.repo.traverse import traverse_commit
    repo = sysroot.repo
    try:
        with repo.lock(exclusive=True):
            reachable: set = set()
            traverse_reachable_refs(repo, 0, reachable)
            for d in sysroot.deployments:
                traverse_commit(repo, d.csum, 0, reachable)
            res = prune_from_reachable(repo, reachable)
    except OstreeError as e:
        raise SysrootError(f"Pruning system repository: {e.message}") from None
    if res.freed_bytes > 0:
        sysroot.message(f"Freed objects: {format_size(res.freed_bytes)}")


def cleanup(sysroot: Sysroot, prune: bool = True) -> None:
    """ostree_sysroot_cleanup: old boot versions, unreferenced deployments and /boot dirs,
    deployment refs, and (with ``prune``) unreachable repo objects."""
    try:
        _cleanup_other_bootversions(sysroot)
    except OSError as e:
        raise SysrootError(f"Cleaning bootversions: {strerror(e)}") from None
    checkpoint("deployment")
    try:
        _cleanup_old_deployments(sysroot)
    except OstreeError as e:
        raise SysrootError(f"Cleaning deployments: {e.message}") from None
    except OSError as e:
        raise SysrootError(f"Cleaning deployments: {strerror(e)}") from None
    try:
        _generate_deployment_refs(sysroot)
    except OstreeError as e:
        raise SysrootError(f"Generating deployment refs: {e.message}") from None
    if prune:
        _prune_repo(sysroot)
