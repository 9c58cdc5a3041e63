"""The ``rpm`` tool (the real librpm) as a library: headers of package
files and rpmdbs, registering packages, their scriptlets.

rpm-ostree keeps the rpmdb in ``usr/share/rpm`` of the tree; every call
names it with ``--dbpath`` (Debian's rpm defaults to ~/.rpmdb).
"""

import os
import subprocess

from ostree_py.rpmostree import RpmOstreeError

DBPATH = "usr/share/rpm"
# field, record and package separators in query output
_F, _R, _P = "\x1f", "\x1e", "\x1d"
_DEPS = (("P", "PROVIDE"), ("R", "REQUIRE"), ("C", "CONFLICT"), ("O", "OBSOLETE"))
_QF = (_F.join(["%{NAME}", "%{EPOCHNUM}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{SIZE}",
                "%{SUMMARY}", "%{BUILDTIME}", "%{SIGMD5}"]) + _R
       + "".join(f"[{k}%{{{t}NAME}}{_F}%{{{t}FLAGS}}{_F}%{{{t}VERSION}}{_R}]" for k, t in _DEPS)
       + _P + "\n")
_SCRIPTS = ("PREIN", "POSTIN", "POSTTRANS")
_QF_SCRIPTS = _F.join(f"%{{{s}}}{_F}[%{{{s}PROG}} ]{_F}%{{{s}FLAGS}}" for s in _SCRIPTS) + _P

# rpm's sense flags
SENSE_LESS, SENSE_GREATER, SENSE_EQUAL = 2, 4, 8
SENSE_RPMLIB = 1 << 24


class Package:
    """One package header: NEVRA, size, dependencies (name, flags, version) lists."""

    __slots__ = ("name", "epoch", "version", "release", "arch", "size", "summary", "buildtime",
                 "sigmd5", "provides", "requires", "conflicts", "obsoletes", "path", "sha256", "repo",
                 "location", "checksum")

    def __init__(self):
        for s in self.__slots__:
            setattr(self, s, None)

    @property
    def evr(self) -> str:
        e = f"{self.epoch}:" if self.epoch else ""
        return f"{e}{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    @property
    def nevra_noepoch(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}"

    def __repr__(self):
        return f"Package({self.nevra})"


def _run(args, what: str, check=True) -> str:
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    except FileNotFoundError:
        raise RpmOstreeError(f"{what}: the rpm tool is not installed") from None
    out = p.stdout.decode("utf-8", "surrogateescape")
    if check and p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip()
        raise RpmOstreeError(f"{what}: {err or 'rpm exited with status %d' % p.returncode}")
    return out


def _env():
    env = dict(os.environ)
    env["LC_ALL"] = "C.UTF-8"
    return env


def _parse(out: str) -> list:
    pkgs = []
    for chunk in out.split(_P + "\n"):
        if not chunk.strip(_R + "\n"):
            continue
        head, _, rest = chunk.partition(_R)
        f = head.lstrip("\n").split(_F)
        p = Package()
        p.name, epoch, p.version, p.release, p.arch = f[0], f[1], f[2], f[3], f[4]
        p.epoch = int(epoch) if epoch.isdigit() else 0
        p.size = int(f[5]) if f[5].isdigit() else 0
        p.summary, p.buildtime, p.sigmd5 = f[6], int(f[7]) if f[7].isdigit() else 0, f[8]
        deps = {k: [] for k, _ in _DEPS}
        for rec in rest.split(_R):
            if not rec:
                continue
            name, flags, ver = rec[1:].split(_F)
            deps[rec[0]].append((name, int(flags) if flags.isdigit() else 0, ver))
        p.provides, p.requires, p.conflicts, p.obsoletes = deps["P"], deps["R"], deps["C"], deps["O"]
        pkgs.append(p)
    return pkgs


def query_file(path: str) -> Package:
    """The header of the package file at ``path``."""
    out = _run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _QF, path],
               f"Reading package header of {os.path.basename(path)}")
    pkgs = _parse(out)
    if len(pkgs) != 1:
        raise RpmOstreeError(f"Reading package header of {os.path.basename(path)}: not an RPM package")
    pkgs[0].path = path
    return pkgs[0]


def query_root(root: str, dbpath: str = DBPATH) -> list:
    """The packages in the rpmdb of the tree at ``root`` (none when there is no rpmdb)."""
    if not os.path.isdir(os.path.join(root, dbpath)):
        return []
    out = _run(["rpm", "--root", root, "--dbpath", "/" + dbpath, "-qa", "--qf", _QF],
               "Reading rpmdb")
    return sorted(_parse(out), key=lambda p: (p.name, p.evr, p.arch))


def query_dbdir(dbdir: str) -> list:
    """The packages of an rpmdb directory."""
    out = _run(["rpm", "--dbpath", os.path.abspath(dbdir), "-qa", "--qf", _QF], "Reading rpmdb")
    return sorted(_parse(out), key=lambda p: (p.name, p.evr, p.arch))


def installed_files(root: str, name: str, dbpath: str = DBPATH) -> list:
    """(path, mode, user, group, link target) of the files of installed package ``name``."""
    qf = f"[%{{FILENAMES}}{_F}%{{FILEMODES}}{_F}%{{FILEUSERNAME}}{_F}%{{FILEGROUPNAME}}{_F}%{{FILELINKTOS}}{_R}]"
    out = _run(["rpm", "--root", root, "--dbpath", "/" + dbpath, "-q", "--qf", qf, name],
               f"Listing files of {name}")
    res = []
    for rec in out.split(_R):
        if rec:
            path, mode, user, group, link = rec.split(_F)
            res.append((path, int(mode) & 0o177777, user, group, link))
    return res


RPMFILE_GHOST = 1 << 6


def package_files(path: str) -> list:
    """The paths a package file puts on disk (its ghost entries left out)."""
    qf = f"[%{{FILENAMES}}{_F}%{{FILEFLAGS}}{_R}]"
    out = _run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", qf, path],
               f"Listing files of {os.path.basename(path)}")
    res = []
    for rec in out.split(_R):
        if rec:
            name, flags = rec.split(_F)
            if not int(flags or 0) & RPMFILE_GHOST:
                res.append(name)
    return res


def scripts(path: str) -> dict:
    """{"PREIN"|"POSTIN"|"POSTTRANS": (body, interpreter, flags)} of a package file."""
    out = _run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _QF_SCRIPTS, path],
               f"Reading scriptlets of {os.path.basename(path)}")
    f = out.rstrip(_P).split(_F)
    res = {}
    for i, name in enumerate(_SCRIPTS):
        body, prog, flags = f[3 * i], f[3 * i + 1].strip(), f[3 * i + 2]
        if body == "(none)":
            body = ""
        if prog == "(none)":
            prog = ""
        if body or prog:
            res[name] = (body, prog or "/bin/sh", int(flags) if flags.isdigit() else 0)
    return res


_S = "\x1c"     # between the sections of a trigger query
_QF_TRIGGERS = (f"%{{NAME}}{_S}[%{{TRIGGERFLAGS}} ]{_S}"
                f"[%{{TRANSFILETRIGGERSCRIPTPROG}}{_F}%{{TRANSFILETRIGGERSCRIPTFLAGS}}{_F}"
                f"%{{TRANSFILETRIGGERSCRIPTS}}{_R}]{_S}"
                f"[%{{TRANSFILETRIGGERNAME}}{_F}%{{TRANSFILETRIGGERFLAGS}}{_F}%{{TRANSFILETRIGGERINDEX}}{_R}]{_P}\n")


class Triggers:
    """A package's trigger scripts: ``trigger_flags`` (sense flags of its %trigger*
    scripts) and ``transfiletriggerin``: [(interpreter, flags, body, [path prefixes])]."""

    def __init__(self, name):
        self.name = name
        self.trigger_flags = []
        self.transfiletriggerin = []


def _num(s: str) -> int:
    return int(s) if s.isdigit() else 0


def _parse_triggers(out: str) -> list:
    res = []
    for chunk in out.split(_P + "\n"):
        if not chunk.strip():
            continue
        name, tflags, scripts, names = chunk.lstrip("\n").split(_S, 3)
        t = Triggers(name)
        t.trigger_flags = [_num(x) for x in tflags.split()]
        entries = []
        for rec in scripts.split(_R):
            if rec:
                prog, flags, body = rec.split(_F, 2)
                entries.append((prog if prog != "(none)" else "/bin/sh", _num(flags),
                                body if body != "(none)" else "", []))
        for rec in names.split(_R):
            if rec:
                pattern, sense, index = rec.split(_F)
                if _num(sense) & (1 << 16) and _num(index) < len(entries):
                    entries[_num(index)][3].append(pattern)
        t.transfiletriggerin = [e for e in entries if e[3]]
        res.append(t)
    return res


def triggers(path: str) -> "Triggers":
    """The triggers of a package file."""
    out = _run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _QF_TRIGGERS, path],
               f"Reading triggers of {os.path.basename(path)}")
    return _parse_triggers(out)[0]


def installed_triggers(root: str, dbpath: str = DBPATH) -> list:
    """The triggers of every package in the rpmdb of the tree at ``root``, in name order."""
    if not os.path.isdir(os.path.join(root, dbpath)):
        return []
    out = _run(["rpm", "--root", root, "--dbpath", "/" + dbpath, "-qa", "--qf", _QF_TRIGGERS],
               "Reading triggers")
    return sorted(_parse_triggers(out), key=lambda t: t.name)


def install(root: str, paths: list, dbpath: str = DBPATH, replacefiles: bool = False) -> None:
    """Unpack ``paths`` into ``root`` and register them in its rpmdb, without scripts or
    dependency checks (they were resolved, and scripts run sandboxed afterwards);
    ``replacefiles``: their files may replace other packages' files."""
    if not paths:
        return
    os.makedirs(os.path.join(root, dbpath), exist_ok=True)
    args = ["rpm", "--root", root, "--dbpath", "/" + dbpath, "-i", "--nodeps", "--noscripts",
            "--notriggers", "--ignoresize", "--nosignature", "--define", "_pkgverify_level digest",
            "--define", "_install_langs all"]
    if _has_force_debian():
        args.append("--force-debian")   # Debian's rpm otherwise warns that it is not dpkg
    if replacefiles:
        args.append("--replacefiles")
    _run(args + list(paths), "Installing packages")


def _has_force_debian(cache={}) -> bool:
    if "v" not in cache:
        cache["v"] = "--force-debian" in _run(["rpm", "--help"], "rpm --help", check=False)
    return cache["v"]


def erase(root: str, names: list, dbpath: str = DBPATH) -> None:
    """Remove installed packages ``names`` (files and rpmdb entries), without scripts."""
    if not names:
        return
    args = ["rpm", "--root", root, "--dbpath", "/" + dbpath, "-e", "--nodeps", "--noscripts", "--notriggers"]
    if _has_force_debian():
        args.append("--force-debian")
    _run(args + list(names), "Removing packages")


def verify_signature(path: str, keys: list) -> None:
    """Check ``path``'s signature against the GPG ``keys`` (files) in a throwaway keyring."""
    import tempfile
    name = os.path.basename(path)
    with tempfile.TemporaryDirectory(prefix="rpmostree-keys-") as d:
        for k in keys:
            _run(["rpm", "--dbpath", d, "--import", k], f"Importing GPG key {k}")
        p = subprocess.run(["rpm", "--dbpath", d, "-K", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=_env())
    out = p.stdout.decode("utf-8", "replace").strip()
    if p.returncode == 0 and "signatures OK" in out:
        return
    if p.returncode == 0:
        raise RpmOstreeError(f"Package {name} is not signed")
    raise RpmOstreeError(f"Package {name}: signature check failed: {out.partition(': ')[2] or out}")


def expand(text: str) -> str:
    """rpm's macro expansion of ``text`` (scripts flagged for expansion)."""
    return _run(["rpm", "--eval", text], "Expanding macros").removesuffix("\n")


def vercmp(a: str, b: str) -> int:
    """rpmvercmp of two EVR strings."""
    out = _run(["rpm", "--eval", f"%{{lua: print(rpm.vercmp('{a}', '{b}'))}}"], "Comparing versions")
    return int(out.strip() or 0)
