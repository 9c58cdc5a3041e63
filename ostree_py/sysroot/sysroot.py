"""The sysroot: loading its state and writing new deployment lists.

State lives on disk only (see FORMATS.md "Sysroot"):
``boot/loader -> loader.N`` gives the bootversion N, ``ostree/boot.N ->
boot.N.M`` the subbootversion M, and the deployments are the BLS entries in
``boot/loader/entries/ostree-*.conf``, ordered by their ``version`` key
(highest first), each pointing through its ``ostree=`` argument at a
bootlink ``/ostree/boot.N/OS/BOOTCSUM/SERIAL -> ../../../deploy/OS/deploy/CSUM.SERIAL``.

Writing a new deployment list is one transaction whose commit point is a
rename: either of the ``ostree/boot.N`` symlink (same kernels and arguments:
only the bootlinks change) or of ``boot/loader`` (new BLS entries written
whole into the other ``loader.N``, synced, then swapped in). A crash before
the rename leaves the old configuration in force; cleanup removes leftovers.
"""

import errno
import fcntl
import os
import re
import stat

from ostree_py.errors import OstreeError
from ostree_py.util.fs import strerror, write_atomic
from ostree_py.core.keyfile import KeyFile
from ostree_py.sysroot import origin as _origin
from ostree_py.sysroot.bootloader.bls import BootConfig
from ostree_py.sysroot.kargs import KernelArgs

LOCKFILE = "ostree/lock"
PATH_BOOTED = "/run/ostree-booted"
RUNSTATE_STAGED = "/run/ostree/staged-deployment"
RUNSTATE_STAGED_LOCKED = "/run/ostree/staged-deployment-locked"
RUNSTATE_STAGED_INITRDS_DIR = "/run/ostree/staged-initrds/"
FINALIZE_STAGED_FAILURE_PATH = "ostree/finalize-failure.stamp"
DEPLOYMENT_RUNSTATE_DIR = "/run/ostree/deployment-state/"

_DEPLOY_NAME = re.compile(r"^([0-9a-f]+)\.([0-9]+)$")
_BOOTLINK = re.compile(r"^/ostree/boot.([01])/([^/]+)/([^/]+)/([0-9]+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SysrootError(OstreeError):
    """A sysroot that cannot be loaded or changed as asked."""


def _prefixed(prefix: str):
    """Decorator: OstreeError/OSError messages get ``prefix: `` (GLNX_AUTO_PREFIX_ERROR)."""
    def deco(fn):
        def wrapper(*a, **kw):
            try:
                return fn(*a, **kw)
            except OstreeError as e:
                raise OstreeError(f"{prefix}: {e.message}", e.exit_code) from e
        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper
    return deco


def strverscmp(a: str, b: str) -> int:
    """glibc strverscmp for the digit-only versions BLS entries carry (and a fallback)."""
    ta = re.findall(r"\d+|\D+", a)
    tb = re.findall(r"\d+|\D+", b)
    for x, y in zip(ta, tb):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            # leading zeros: fractional comparison, as glibc does
            if x.startswith("0") or y.startswith("0"):
                return -1 if x < y else 1
            return -1 if int(x) < int(y) else 1
        return -1 if x < y else 1
    return (len(ta) > len(tb)) - (len(ta) < len(tb))


def rm_rf(path: str) -> None:
    """Remove ``path`` and everything below it; clears the immutable bit of directories."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    import shutil

    def onerror(func, p, exc):
        if isinstance(exc[1], PermissionError):
            try:
                set_immutable(p if os.path.isdir(p) else os.path.dirname(p), False)
                func(p)
                return
            except OSError:
                pass
        if isinstance(exc[1], FileNotFoundError):
            return
        raise exc[1]
    shutil.rmtree(path, onerror=onerror)


_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_IMMUTABLE_FL = 0x10


def set_immutable(path: str, immutable: bool) -> None:
    """chattr +i/-i on a directory; filesystems without the flag are ignored, as the reference does."""
    import array
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf, True)
        except OSError as e:
            if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL):
                return
            raise
        flags = buf[0]
        new = (flags | _FS_IMMUTABLE_FL) if immutable else (flags & ~_FS_IMMUTABLE_FL)
        if new == flags:
            return
        buf[0] = new
        try:
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, buf, True)
        except OSError as e:
            if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM):
                return
            raise
    finally:
        os.close(fd)


def symlink_replace(target: str, path: str) -> None:
    """Make ``path`` a symlink to ``target`` atomically (new link renamed over the old)."""
    tmp = os.path.join(os.path.dirname(path), f"_symlink-tmp.{os.urandom(4).hex()}")
    os.symlink(target, tmp)
    try:
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Deployment:
    """One deployment: a checkout of ``csum`` in stateroot ``osname`` with its boot config."""

    __slots__ = ("index", "osname", "csum", "deployserial", "bootcsum", "bootserial",
                 "bootconfig", "origin", "unlocked", "staged", "finalization_locked", "overlay_initrds")

    def __init__(self, index, osname, csum, deployserial, bootcsum=None, bootserial=-1):
        self.index = index
        self.osname = osname
        self.csum = csum
        self.deployserial = deployserial
        self.bootcsum = bootcsum
        self.bootserial = bootserial
        self.bootconfig: BootConfig | None = None
        self.origin: KeyFile | None = None
        self.unlocked = "none"
        self.staged = False
        # a staged deployment that finalize-staged leaves alone (ostree 2023.8)
        self.finalization_locked = False
        self.overlay_initrds: list[str] | None = None

    def clone(self) -> "Deployment":
        d = Deployment(self.index, self.osname, self.csum, self.deployserial, self.bootcsum, self.bootserial)
        d.bootconfig = self.bootconfig.copy() if self.bootconfig else None
        d.origin = _origin.copy(self.origin) if self.origin is not None else None
        d.unlocked = self.unlocked
        d.staged = self.staged
        d.finalization_locked = self.finalization_locked
        d.overlay_initrds = list(self.overlay_initrds) if self.overlay_initrds else None
        return d

    def equal(self, other: "Deployment | None") -> bool:
        return (other is not None and self.osname == other.osname and self.csum == other.csum
                and self.deployserial == other.deployserial)

    @property
    def relpath(self) -> str:
        return f"ostree/deploy/{self.osname}/deploy/{self.csum}.{self.deployserial}"

    @property
    def origin_relpath(self) -> str:
        return self.relpath + ".origin"

    @property
    def is_pinned(self) -> bool:
        return _origin.is_pinned(self.origin)

    def __repr__(self):
        return f"Deployment({self.index}, {self.osname!r}, {self.csum[:12]}.{self.deployserial})"


def parse_deploy_name(name: str) -> tuple[str, int]:
    m = _DEPLOY_NAME.match(name)
    if not m:
        raise SysrootError(f"Invalid deploy name '{name}', expected CHECKSUM.TREESERIAL")
    return m.group(1), int(m.group(2))


def deployment_to_variant(d: "Deployment"):
    """The a{sv} naming a deployment in the staged state (name, osname, bootcsum)."""
    from ostree_py.core.gvariant import Variant
    return Variant("a{sv}", {"name": Variant("s", f"{d.csum}.{d.deployserial}"),
                             "osname": Variant("s", d.osname),
                             "bootcsum": Variant("s", d.bootcsum)})


def deployment_from_variant(v) -> "Deployment":
    """The reverse of deployment_to_variant; the deployment may not exist on disk."""
    dct = v.value if hasattr(v, "value") else v
    for key in ("name", "bootcsum", "osname"):
        if key not in dct or dct[key].type != "s":
            raise SysrootError(f"Missing key: {key}")
    csum, serial = parse_deploy_name(dct["name"].value)
    return Deployment(-1, dct["osname"].value, csum, serial, dct["bootcsum"].value, -1)


def default_sysroot_path(environ=None) -> str:
    """$OSTREE_SYSROOT, else "/" (what ostree_sysroot_new (NULL) uses)."""
    env = os.environ if environ is None else environ
    return env.get("OSTREE_SYSROOT") or "/"


class Sysroot:
    """A physical (or booted) ostree root at ``path``.

    ``message`` is called with the informational lines the reference prints
    while it works ("Copying /etc changes: ..."); the CLI prints them.
    """

    def __init__(self, path: str | None = None, environ=None, message=None, warning=None):
        env = os.environ if environ is None else environ
        self.environ = env
        self.path = os.path.abspath(path if path is not None else default_sysroot_path(env))
        self.debug_flags = {f.strip() for f in (env.get("OSTREE_SYSROOT_DEBUG") or "").split(",") if f.strip()}
        self.opt_flags = {f.strip() for f in (env.get("OSTREE_SYSROOT_OPTS") or "").split(",") if f.strip()}
        # what the reference prints: progress on stdout (message), notes and
        # warnings on stderr (warning); the library never prints itself
        self.message = message or (lambda text: None)
        self.warning = warning or (lambda text: None)
        self.deployments: list[Deployment] = []
        self.booted_deployment: Deployment | None = None
        self.staged_deployment: Deployment | None = None
        self.staged_deployment_data: dict | None = None
        self.bootversion = -1
        self.subbootversion = -1
        self.loaded = False
        self.is_physical = False
        self._repo = None
        self._lock_fd = None
        self._initialized = False
        self.root_is_ostree_booted = False

    # ------------------------------------------------------------ basics

    def p(self, rel: str) -> str:
        """Absolute path of ``rel`` inside the sysroot."""
        return os.path.join(self.path, rel)

    def deployment_dirpath(self, d: Deployment) -> str:
        return self.p(d.relpath)

    def mutable_deployments(self) -> bool:
        return "mutable-deployments" in self.debug_flags

    def no_xattrs(self) -> bool:
        return "no-xattrs" in self.debug_flags

    def initialize(self) -> None:
        """Check the sysroot opens and whether it is the booted root (ostree_sysroot_initialize)."""
        if self._initialized:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            os.close(fd)
        except OSError as e:
            raise SysrootError(f"opendir({self.path}): {strerror(e)}") from None
        booted = os.path.exists(PATH_BOOTED)
        root = os.stat("/")
        self.root_dev, self.root_ino = root.st_dev, root.st_ino
        me = os.stat(self.path)
        self.root_is_ostree_booted = booted and (me.st_dev, me.st_ino) == (root.st_dev, root.st_ino)
        self._initialized = True

    @property
    def repo(self):
        """The system repository (``ostree/repo``), opened on first use."""
        if self._repo is None:
            from ostree_py.repo import Repo
            try:
                fd = os.open(self.p("ostree/repo"), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                os.close(fd)
            except OSError as e:
                raise SysrootError(f"opendir(ostree/repo): {strerror(e)}") from None
            self._repo = Repo.open(self.p("ostree/repo"))
            self._repo.sysroot_path = self.path
            self._repo.sysroot_is_physical = self.is_physical or self.booted_deployment is None
        return self._repo

    def lock(self, on_wait=None) -> None:
        """Take ``ostree/lock`` exclusively; ``on_wait`` is called once if someone else holds it."""
        if self._lock_fd is not None:
            return
        waited = False
        while True:
            try:
                fd = os.open(self.p(LOCKFILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as e:
                raise SysrootError(strerror(e)) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait and not waited:
                    on_wait()
                    waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            # the holder before us may have unlinked the file on release: then lock the new one
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)
                continue
            break
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock; the lock file is removed first, as glnx_release_lock_file does."""
        if self._lock_fd is not None:
            try:
                os.unlink(self.p(LOCKFILE))
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    def bump_mtime(self) -> None:
        """Touch ``ostree/deploy`` so watchers see a change."""
        try:
            os.utime(self.p("ostree/deploy"))
        except OSError as e:
            raise SysrootError(f"futimens: {strerror(e)}") from None

    # ------------------------------------------------------------ loading

    def load(self) -> None:
        """Read bootversion, subbootversion and the deployments (ostree_sysroot_load)."""
        try:
            self._load()
        except OstreeError as e:
            raise SysrootError(f"loading sysroot: {e.message}", e.exit_code) from e

    def _load(self) -> None:
        self.initialize()
        self.repo  # noqa: B018 - opened (and checked) first, as the reference does
        try:
            os.stat(self.p("ostree/deploy"))
        except OSError as e:
            raise SysrootError(f"fstatat(ostree/deploy): {strerror(e)}") from None
        self.booted_deployment = None
        self.staged_deployment = None
        bootversion = self._read_bootversion()
        subbootversion = self.read_subbootversion(bootversion)
        deployments = []
        for cfg in self.read_loader_configs(bootversion):
            deployments.append(self._deployment_from_entry(cfg))
        if self.root_is_ostree_booted and self.booted_deployment is None:
            if not os.path.lexists(self.p("boot/loader")):
                raise SysrootError(f"Unexpected state: {PATH_BOOTED} found, but no /boot/loader directory")
            raise SysrootError(f"Unexpected state: {PATH_BOOTED} found and in / sysroot, "
                               "but bootloader entry not found")
        self._reload_staged()
        if self.staged_deployment is not None:
            deployments.insert(0, self.staged_deployment)
        for i, d in enumerate(deployments):
            d.index = i
        if not self.loaded:
            if self.booted_deployment is not None:
                self.is_physical = False
            else:
                self.is_physical = not os.path.exists(self.p("sysroot"))
            self.loaded = True
            if self._repo is not None:
                self._repo.sysroot_is_physical = self.is_physical
        self.bootversion = bootversion
        self.subbootversion = subbootversion
        self.deployments = deployments

    def _read_bootversion(self) -> int:
        path = self.p("boot/loader")
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return 0
        except OSError as e:
            raise SysrootError(f"fstatat(boot/loader): {strerror(e)}") from None
        if not stat.S_ISLNK(st.st_mode):
            raise SysrootError("Not a symbolic link: boot/loader")
        target = os.readlink(path)
        if target == "loader.0":
            return 0
        if target == "loader.1":
            return 1
        raise SysrootError(f"Invalid target '{target}' in boot/loader")

    def read_subbootversion(self, bootversion: int) -> int:
        """The M of ``ostree/boot.N -> boot.N.M`` (0 when the link is missing)."""
        name = f"ostree/boot.{bootversion}"
        try:
            target = os.readlink(self.p(name))
        except FileNotFoundError:
            return 0
        except OSError as e:
            if e.errno == errno.EINVAL:
                raise SysrootError(f"readlinkat: {strerror(e)}") from None
            raise SysrootError(f"fstatat({name}): {strerror(e)}") from None
        if target.endswith(".0"):
            return 0
        if target.endswith(".1"):
            return 1
        raise SysrootError(f"Invalid target '{target}' in {name}")

    def read_loader_configs(self, bootversion: int) -> list[BootConfig]:
        """The ``ostree-*.conf`` entries of ``loader.N``, highest ``version`` first."""
        d = self.p(f"boot/loader.{bootversion}/entries")
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise SysrootError(f"opendir(boot/loader.{bootversion}/entries): {strerror(e)}") from None
        configs = []
        for name in names:
            if not (name.startswith("ostree-") and name.endswith(".conf")):
                continue
            path = os.path.join(d, name)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
                configs.append(BootConfig.load(path))
            except OSError as e:
                raise SysrootError(f"Parsing {name}: {strerror(e)}") from None
            except OstreeError as e:
                raise SysrootError(f"Parsing {name}: {e.message}") from None
        import functools

        def cmp(a, b):
            va, vb = a.get("version"), b.get("version")
            if va is not None and vb is not None:
                return -strverscmp(va, vb)
            return -1 if va is not None else 1
        configs.sort(key=functools.cmp_to_key(cmp))
        return configs

    def _deployment_from_entry(self, cfg: BootConfig) -> Deployment:
        ostree_arg = None
        for opt in (cfg.get("options") or "").split(" "):
            if opt.startswith("ostree="):
                ostree_arg = opt[len("ostree="):]
                break
        if ostree_arg is None:
            raise SysrootError("No ostree= kernel argument found")
        m = _BOOTLINK.match(ostree_arg)
        if not m:
            raise SysrootError(f"Invalid ostree= argument '{ostree_arg}', expected "
                               "ostree=/ostree/boot.BOOTVERSION/OSNAME/BOOTCSUM/TREESERIAL")
        osname, bootcsum, treebootserial = m.group(2), m.group(3), int(m.group(4))
        prefix = f"Parsing deployment {ostree_arg} in stateroot '{osname}'"
        rel = ostree_arg.lstrip("/")
        try:
            target = os.readlink(self.p(rel))
        except OSError as e:
            raise SysrootError(f"{prefix}: readlinkat: {strerror(e)}") from None
        try:
            csum, serial = parse_deploy_name(os.path.basename(target))
        except OstreeError as e:
            raise SysrootError(f"{prefix}: {e.message}") from None
        try:
            st = os.stat(self.p(rel))
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        except OSError as e:
            raise SysrootError(f"{prefix}: opendir({rel}): {strerror(e)}") from None
        d = Deployment(-1, osname, csum, serial, bootcsum, treebootserial)
        try:
            self._load_origin(d)
        except OstreeError as e:
            raise SysrootError(f"{prefix}: {e.message}") from None
        d.unlocked = "none"
        runstate = f"{DEPLOYMENT_RUNSTATE_DIR}{csum}.{serial}/"
        if os.path.lexists(runstate + "unlocked-development"):
            d.unlocked = "development"
        elif os.path.lexists(runstate + "unlocked-transient"):
            d.unlocked = "transient"
        elif d.origin is not None and d.origin.get("origin", "unlocked") == "hotfix":
            d.unlocked = "hotfix"
        d.bootconfig = cfg
        if cfg.overlay_initrds:
            csums = []
            for path in cfg.overlay_initrds:
                base = os.path.basename(path)
                if len(base) != 64 + len(".img"):
                    raise SysrootError(f"Malformed overlay initrd filename: {base}")
                csums.append(base[:64])
            d.overlay_initrds = csums
        if self.root_is_ostree_booted and self.booted_deployment is None:
            if (st.st_dev, st.st_ino) == (self.root_dev, self.root_ino):
                self.booted_deployment = d
        return d

    def _load_origin(self, d: Deployment) -> None:
        path = self.p(d.origin_relpath)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        except OSError as e:
            raise SysrootError(f"openat({d.origin_relpath}): {strerror(e)}") from None
        try:
            d.origin = KeyFile.parse(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise SysrootError(f"Parsing {d.origin_relpath}: Invalid UTF-8") from None
        except OstreeError as e:
            raise SysrootError(f"Parsing {d.origin_relpath}: {e.message}") from None

    def _reload_staged(self) -> None:
        """A staged deployment is only meaningful on the booted system (``/run/ostree``)."""
        self.staged_deployment_data = None
        if not self.root_is_ostree_booted:
            return
        try:
            with open(RUNSTATE_STAGED, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        except OSError as e:
            raise SysrootError(f"Loading staged deployment: {strerror(e)}") from None
        from ostree_py.core import gvariant
        try:
            dct = gvariant.deserialize("a{sv}", data)
            target = dct.get("target")
            if target is None:
                return
            d = deployment_from_variant(target)
            kargs = dct["kargs"].value if "kargs" in dct else None
            initrds = dct["overlay-initrds"].value if "overlay-initrds" in dct else None
            locked = bool(dct["locked"].value) if "locked" in dct else False
        except (OstreeError, KeyError, AttributeError, TypeError) as e:
            msg = e.message if isinstance(e, OstreeError) else str(e)
            raise SysrootError(f"Loading staged deployment: {msg}") from None
        d.bootconfig = BootConfig()
        if kargs is not None:
            d.bootconfig.set("options", str(KernelArgs(list(kargs))))
        d.overlay_initrds = list(initrds) if initrds else None
        self._load_origin(d)
        d.staged = True
        d.finalization_locked = locked
        self.staged_deployment = d
        self.staged_deployment_data = dct

    # ------------------------------------------------------------ queries

    def require_booted_deployment(self) -> Deployment:
        if self.booted_deployment is None:
            raise SysrootError("Not currently booted into an OSTree system")
        return self.booted_deployment

    def query_deployments_for(self, osname: str | None):
        """(pending, rollback) for ``osname`` around the booted deployment."""
        if osname is None:
            osname = self.booted_deployment.osname
        pending = rollback = None
        found_booted = False
        for d in self.deployments:
            if d.osname != osname:
                continue
            if self.booted_deployment is not None and d.equal(self.booted_deployment):
                found_booted = True
                continue
            if not found_booted and pending is None:
                pending = d
            elif found_booted and rollback is None:
                rollback = d
        return pending, rollback

    def get_merge_deployment(self, osname: str | None) -> Deployment | None:
        """The deployment whose /etc and kernel arguments a new one for ``osname`` inherits."""
        if osname is None:
            osname = self.booted_deployment.osname
        if self.booted_deployment is not None and self.booted_deployment.osname == osname:
            return self.booted_deployment
        return self.query_deployments_for(osname)[0]

    def indexed_deployment(self, index: int) -> Deployment:
        if index < 0:
            raise SysrootError(f"Invalid index {index}")
        if index >= len(self.deployments):
            raise SysrootError(f"Out of range deployment index {index}, expected < {len(self.deployments)}")
        return self.deployments[index]

    # ------------------------------------------------------------ setup

    def ensure_initialized(self) -> None:
        """Create ``ostree/repo`` (bare) and ``ostree/deploy`` if missing."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            os.close(fd)
        except OSError as e:
            raise SysrootError(f"opendir({self.path}): {strerror(e)}") from None
        os.makedirs(self.p("ostree/repo"), 0o755, exist_ok=True)
        os.makedirs(self.p("ostree/deploy"), 0o755, exist_ok=True)
        from ostree_py.repo import Repo
        if not os.path.exists(self.p("ostree/repo/config")):
            Repo.create(self.p("ostree/repo"), "bare")
        else:
            # ostree_repo_create_at on an existing repo only checks it opens
            Repo.open(self.p("ostree/repo"))

    def init_osname(self, osname: str) -> None:
        """Create the stateroot ``ostree/deploy/OSNAME`` with its shared, empty ``var``.

        ostree 2023.8 on (the ``initial-var`` feature): the first deployment fills
        ``var`` from its commit (deploy.prepare_deployment_var); 2022.7 created
        var/tmp, lib, log, run and lock here.
        """
        deploydir = f"ostree/deploy/{osname}"
        base = self.p(deploydir)
        for what, path in ((deploydir, base), ("var", os.path.join(base, "var"))):
            try:
                os.mkdir(path, 0o777)
            except OSError as e:
                raise SysrootError(f"Creating {what}: {strerror(e)}") from None
        self.bump_mtime()

    # ------------------------------------------------------------ origin, pin, mutability

    def write_origin_file(self, d: Deployment, new_origin: KeyFile | None = None, sync: bool = True,
                          bump: bool = True) -> None:
        origin = new_origin if new_origin is not None else d.origin
        if origin is not None:
            try:
                write_atomic(self.p(d.origin_relpath), origin.to_text().encode("utf-8", "surrogateescape"),
                             0o644, fsync=sync, chmod=True)
            except OSError as e:
                raise SysrootError(f"Writing out origin file: {strerror(e)}") from None
        if bump:
            self.bump_mtime()

    def set_pinned(self, d: Deployment, pinned: bool) -> None:
        if d.is_pinned == pinned:
            return
        if d.staged:
            raise SysrootError("Cannot pin staged deployment")
        new = _origin.copy(d.origin) if d.origin is not None else KeyFile()
        if pinned:
            new.set_boolean(_origin.TRANSIENT_GROUP, "pinned", True)
        else:
            try:
                new.remove_key(_origin.TRANSIENT_GROUP, "pinned")
            except OstreeError:
                pass
        self.write_origin_file(d, new)

    def set_mutable(self, d: Deployment, mutable: bool) -> None:
        try:
            set_immutable(self.deployment_dirpath(d), not mutable)
        except OSError as e:
            raise SysrootError(f"ioctl(FS_IOC_SETFLAGS): {strerror(e)}") from None

    # ------------------------------------------------------------ writing deployments

    def write_deployments(self, new_deployments: list, do_postclean: bool = True) -> None:
        """Make ``new_deployments`` the boot configuration (ostree_sysroot_write_deployments)."""
        from ostree_py.sysroot import deploy
        deploy.write_deployments(self, list(new_deployments), do_postclean)

    def simple_write_deployment(self, osname: str | None, new_deployment: Deployment,
                                merge_deployment: Deployment | None, *, no_clean: bool = False,
                                not_default: bool = False, retain: bool = False,
                                retain_pending: bool = False, retain_rollback: bool = False) -> None:
        """Add ``new_deployment`` and drop the old ones of ``osname`` that are not kept
        (transaction.new_deployment_list); a cleanup follows unless ``no_clean``."""
        from ostree_py.sysroot.transaction import new_deployment_list
        new_list = new_deployment_list(self, osname, new_deployment, merge_deployment, not_default=not_default,
                                       retain=retain, retain_pending=retain_pending,
                                       retain_rollback=retain_rollback)
        self.write_deployments(new_list, do_postclean=not no_clean)

    def deploy_tree(self, osname, revision, origin, merge_deployment, override_kernel_argv=None,
                    overlay_initrds=None):
        from ostree_py.sysroot import deploy
        return deploy.deploy_tree(self, osname, revision, origin, merge_deployment, override_kernel_argv,
                                  overlay_initrds)

    def cleanup(self, prune: bool = True) -> None:
        from ostree_py.sysroot import deploy
        deploy.cleanup(self, prune)

    def prepare_cleanup(self) -> None:
        self.cleanup(prune=False)

    def set_kargs(self, d: Deployment, new_kargs: list) -> None:
        """Redeploy the boot configuration with ``d`` booting with ``new_kargs``."""
        new_d = d.clone()
        if new_d.bootconfig is None:
            new_d.bootconfig = BootConfig()
        new_d.bootconfig.set("options", str(KernelArgs(new_kargs)))
        new_list = [new_d if cur is d else cur for cur in self.deployments]
        self.write_deployments(new_list)

    def set_kargs_in_place(self, d: Deployment, kargs_str: str) -> None:
        """Rewrite ``d``'s BLS entry in the current loader with ``kargs_str`` as its options."""
        if d.staged:
            from ostree_py.sysroot.stage import set_staged_kargs
            set_staged_kargs(self, kargs_str)
            return
        d.bootconfig.set("options", kargs_str)
        name = f"ostree-{len(self.deployments) - d.index}-{d.osname}.conf"
        path = self.p(f"boot/loader.{self.bootversion}/entries/{name}")
        try:
            write_atomic(path, d.bootconfig.to_text().encode("utf-8", "surrogateescape"), 0o644, fsync=False, chmod=True)
        except OSError as e:
            raise SysrootError(f"{name}: {strerror(e)}") from None


def open_sysroot_repo(sysroot: str):
    """The repo of the sysroot at ``sysroot``, loaded as ostree_sysroot_load + get_repo do.

    Errors read "loading sysroot: ..." as in the reference. The repo is marked
    as the sysroot's (``repo.sysroot_path``, ``repo.sysroot_is_physical``) so
    that remotes go to SYSROOT/etc/ostree/remotes.d when the sysroot is a
    deployment (has a ``sysroot`` directory, or is the booted root) rather
    than the physical root.
    """
    s = Sysroot(sysroot)
    s.load()
    return s.repo


def current_deployment_dir(sysroot_path: str | None = None, environ=None) -> str:
    """Path of the first deployment (``ostree admin --print-current-dir``)."""
    env = os.environ if environ is None else environ
    path = sysroot_path if sysroot_path not in (None, "/") else default_sysroot_path(env)
    sr = Sysroot(path, env)
    sr.initialize()
    sr.lock()
    try:
        sr.load()
    finally:
        sr.unlock()
    if not sr.deployments:
        raise SysrootError("Unable to find a deployment in sysroot")
    return sr.deployment_dirpath(sr.deployments[0])
