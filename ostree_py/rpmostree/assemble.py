"""Local assembly of a layered tree: the base checked out, base packages
removed, the resolved packages unpacked by rpm (which also updates the
rpmdb in usr/share/rpm), their %pre/%post/%posttrans scriptlets run in a
bubblewrap sandbox whose root is the new tree, rpm's paths turned into
ostree's (etc -> usr/etc, /var and /run -> tmpfiles.d, /opt -> usr/lib/opt),
and the result committed with the base as parent.
"""

import os
import shutil
import stat
import subprocess

from . import RpmOstreeError
from . import rpm as _rpm

CLIENTLAYER_VERSION = 6


def _copy_up(path: str) -> None:
    """Give every hard-linked regular file under ``path`` its own inode (the repo's
    objects must never be modified through a checkout)."""
    for dirpath, _dirs, files in os.walk(path):
        for n in files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                tmp = p + ".rpmostree-copy"
                shutil.copy2(p, tmp, follow_symlinks=False)
                os.chown(tmp, st.st_uid, st.st_gid)
                os.replace(tmp, p)


def checkout_base(repo, base: str, root: str) -> None:
    """Check out ``base`` at ``root`` in rpm's layout (etc, not usr/etc), writable where
    rpm and scriptlets write (etc, the rpmdb)."""
    from ..checkout import checkout_tree
    checkout_tree(repo, base, root)
    usr_etc, etc = os.path.join(root, "usr/etc"), os.path.join(root, "etc")
    if os.path.isdir(usr_etc) and not os.path.lexists(etc):
        os.rename(usr_etc, etc)
    for rel in ("etc", _rpm.DBPATH):
        if os.path.isdir(os.path.join(root, rel)):
            _copy_up(os.path.join(root, rel))


def bwrap_argv(root: str) -> list:
    return ["bwrap", "--bind", root, "/", "--ro-bind", os.path.join(root, "usr"), "/usr",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run",
            "--chdir", "/", "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "--setenv", "RPMOSTREE_SCRIPTLET", "1"]


def run_script(root: str, pkg, kind: str, body: str, interp: str, arg: str = "1") -> None:
    """Run one scriptlet of ``pkg`` in the sandbox (``$1`` = ``arg``, as rpm passes it)."""
    label = {"PREIN": "%prein", "POSTIN": "%post", "POSTTRANS": "%posttrans"}[kind]
    if interp.startswith("<lua>"):
        raise RpmOstreeError(f"Running {label} for {pkg.name}: lua scriptlets are not supported")
    argv = interp.split()
    argv = bwrap_argv(root) + ["--"] + argv + ["-c", body, f"{pkg.name}.{label[1:]}", arg]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise RpmOstreeError("Running scriptlets: bubblewrap (bwrap) is not installed") from None
    if p.returncode != 0:
        out = p.stdout.decode("utf-8", "replace").strip()
        tail = f"\n{out}" if out else ""
        raise RpmOstreeError(f"Running {label} for {pkg.name}: bwrap({argv[argv.index('--') + 1]}): "
                             f"Child process exited with code {p.returncode}{tail}")


def _tmpfiles_line(path: str, mode: int, user: str, group: str, link: str) -> str | None:
    if stat.S_ISDIR(mode):
        return f"d {path} {mode & 0o7777:04o} {user} {group} - -"
    if stat.S_ISLNK(mode):
        return f"L {path} - - - - {link}"
    return None


def translate_paths(root: str, pkgs, base_var: set, base_run: set) -> None:
    """rpm-ostree's path rules on the unpacked tree: content of /var and /run becomes
    tmpfiles.d entries (usr/lib/tmpfiles.d/pkg-NAME.conf), /opt content moves to
    usr/lib/opt (linked back from /var/opt), and etc goes back to usr/etc."""
    opt_is_link = os.path.islink(os.path.join(root, "opt"))
    usrlocal_is_link = os.path.islink(os.path.join(root, "usr/local"))
    for p in pkgs:
        lines = []
        for path, mode, user, group, link in _rpm.installed_files(root, p.name):
            if usrlocal_is_link and path.startswith("/usr/local/"):
                raise RpmOstreeError(f"Package {p.nevra} has content in /usr/local ({path}), which is a "
                                     "link to /var in this tree: not supported")
            if path.startswith("/opt/") and opt_is_link and path.count("/") == 2:
                # top-level /opt entries are moved to /usr/lib/opt and linked from /var/opt
                src = os.path.join(root, "var/opt", path[len("/opt/"):])
                dst = os.path.join(root, "usr/lib/opt", path[len("/opt/"):])
                if os.path.lexists(src):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.rename(src, dst)
                    lines.append(f"L /var/opt/{path[len('/opt/'):]} - - - - /usr/lib/opt/{path[len('/opt/'):]}")
                continue
            if path.startswith(("/var/", "/run/")) and not path.startswith("/var/opt/"):
                line = _tmpfiles_line(path, mode, user or "root", group or "root", link)
                if line:
                    lines.append(line)
        if lines:
            d = os.path.join(root, "usr/lib/tmpfiles.d")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"pkg-{p.name}.conf"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
    for top, keep in (("var", base_var), ("run", base_run)):
        d = os.path.join(root, top)
        if os.path.isdir(d) and not os.path.islink(d):
            for n in os.listdir(d):
                if n not in keep:
                    p = os.path.join(d, n)
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p)
                    else:
                        os.unlink(p)
    etc, usr_etc = os.path.join(root, "etc"), os.path.join(root, "usr/etc")
    if os.path.isdir(etc) and not os.path.lexists(usr_etc):
        os.rename(etc, usr_etc)


def _toplevel(root: str, name: str) -> set:
    d = os.path.join(root, name)
    if os.path.isdir(d) and not os.path.islink(d):
        return set(os.listdir(d))
    return set()


def layer(repo, base: str, root: str, packages, removals, report) -> list:
    """Turn the checkout of ``base`` at ``root`` into the layered tree; return the final rpmdb."""
    base_var, base_run = _toplevel(root, "var"), _toplevel(root, "run")
    if removals:
        with report.task("Removing base packages"):
            _rpm.erase(root, removals)
    if packages:
        # /opt and /usr/local are links into /var in ostree trees: give rpm their targets
        for link in ("opt", "usr/local"):
            p = os.path.join(root, link)
            if os.path.islink(p):
                target = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(p)))
                if not target.startswith(".."):
                    os.makedirs(os.path.join(root, target.lstrip("/")), exist_ok=True)
        with report.task("Checking out packages"):
            _rpm.install(root, [p.path for p in packages])
        script_sets = [(p, _rpm.scripts(p.path)) for p in packages]
        for kind, title in (("PREIN", "pre"), ("POSTIN", "post"), ("POSTTRANS", "posttrans")):
            todo = [(p, s[kind]) for p, s in script_sets if kind in s]
            if not todo:
                continue
            with report.task(f"Running {title} scripts"):
                for p, (body, interp) in todo:
                    run_script(root, p, kind, body, interp)
    translate_paths(root, packages, base_var, base_run)
    with report.task("Writing rpmdb"):
        pkglist = _rpm.query_root(root)
        _tidy_rpmdb(os.path.join(root, _rpm.DBPATH))
    return pkglist


def _tidy_rpmdb(dbdir: str) -> None:
    """Leave the rpmdb in sqlite's rollback-journal mode, without -wal/-shm files: in
    WAL mode sqlite cannot open the db on a read-only /usr unless its -shm file is
    there (``rpm -q`` on the booted system fails), and a committed -shm is a stale
    shared-memory index. Switching to DELETE mode checkpoints the log and removes
    both files; rpm goes back to WAL when it next opens the db for writing."""
    import sqlite3
    db = os.path.join(dbdir, "rpmdb.sqlite")
    if not os.path.isfile(db):
        return
    try:
        con = sqlite3.connect(db)
        try:
            con.execute("PRAGMA journal_mode=DELETE").fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise RpmOstreeError(f"Writing rpmdb: {e}") from None


def commit(repo, root: str, base: str, metadata: list) -> str:
    """Commit the tree at ``root`` with ``base`` as parent."""
    from ..commit import CommitBuilder, CommitModifier, MutableTree, scan_hardlinks, write_commit
    with repo.transaction():
        mod = CommitModifier()
        builder = CommitBuilder(repo, mod)
        builder.devino_cache = scan_hardlinks(repo)
        try:
            mtree = MutableTree()
            builder.write_dir_to_mtree(mtree, root)
            tree, meta = builder.write_mtree(mtree)
        finally:
            builder.close()
        return write_commit(repo, tree, meta, parent=base, metadata=metadata)
