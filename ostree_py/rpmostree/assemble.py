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

from ostree_py.errors import OstreeError
from ostree_py.rpmostree import RpmOstreeError
from ostree_py.rpmostree import rpm as _rpm

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
    from ostree_py.ops.checkout import checkout_tree
    checkout_tree(repo, base, root)
    usr_etc, etc = os.path.join(root, "usr/etc"), os.path.join(root, "etc")
    if os.path.isdir(usr_etc) and not os.path.lexists(etc):
        os.rename(usr_etc, etc)
    for rel in ("etc", _rpm.DBPATH):
        if os.path.isdir(os.path.join(root, rel)):
            _copy_up(os.path.join(root, rel))


_SCRIPT_KINDS = (("PREIN", "%prein", "pre"), ("POSTIN", "%post", "post"), ("POSTTRANS", "%posttrans", "posttrans"))


def validate_scripts(pkgs) -> None:
    """rpm-ostree refuses packages with %triggerin / %triggerprein scripts."""
    from ostree_py.rpmostree.scripts import SENSE_TRIGGERIN, SENSE_TRIGGERPREIN, is_ignored
    for p in pkgs:
        t = _rpm.triggers(p.path)
        for bit, desc in ((SENSE_TRIGGERPREIN, "%triggerprein"), (SENSE_TRIGGERIN, "%triggerin")):
            if any(f & bit for f in t.trigger_flags) and not is_ignored(p.name, desc):
                raise RpmOstreeError(f"Package '{p.name}' has (currently) unsupported script of type '{desc}'; "
                                     "see https://github.com/coreos/rpm-ostree/issues/749")


def _script_body(pkg_name: str, desc: str, body: str, interp: str, flags: int):
    """(interpreter, body) to run, or None when rpm-ostree skips the script."""
    from ostree_py.rpmostree.scripts import SCRIPT_FLAG_EXPAND, lua_has_skip
    if interp.split()[:1] == ["<lua>"]:
        if lua_has_skip(body):
            return None
        raise RpmOstreeError(f"Package '{pkg_name}' has (currently) unsupported <lua> script in '{desc}'")
    if flags & SCRIPT_FLAG_EXPAND:
        body = _rpm.expand(body)
    return interp, body


def _matching_files(root: str, patterns) -> list:
    """rpm-ostree's %transfiletriggerin input: every non-directory under each pattern
    (a path prefix below /usr, not /usr/local), as absolute paths."""
    out = []
    for pattern in patterns:
        rel = pattern.strip("/")
        if not rel.startswith("usr/") or rel.startswith("usr/local"):
            continue
        top = os.path.join(root, rel)
        if os.path.lexists(top) and not (os.path.isdir(top) and not os.path.islink(top)):
            out.append("/" + rel)
            continue
        stack = [rel] if os.path.isdir(top) else []
        while stack:
            d = stack.pop()
            with os.scandir(os.path.join(root, d)) as it:
                entries = sorted(it, key=lambda e: e.name)
            for e in reversed(entries):
                if e.is_dir(follow_symlinks=False):
                    stack.append(f"{d}/{e.name}")
            out.extend(f"/{d}/{e.name}" for e in entries if not e.is_dir(follow_symlinks=False))
    return out


def run_scripts(root: str, packages, report, updates=()) -> None:
    """%pre, %post and %posttrans of the new packages, then the %transfiletriggerin of
    every package of the tree (base first), in a sandbox over ``root``."""
    from ostree_py.rpmostree.scripts import Sandbox, is_ignored
    validate_scripts(packages)
    script_sets = [(p, _rpm.scripts(p.path)) for p in packages]
    sandbox = Sandbox(root, os.path.join(os.path.dirname(root), "scripts"), report.msg_line)
    try:
        for kind, desc, title in _SCRIPT_KINDS:
            with report.task(f"Running {title} scripts") as task:
                n = 0
                for p, s in script_sets:
                    if kind not in s or is_ignored(p.name, desc):
                        continue
                    what = _script_body(p.name, desc, *s[kind])
                    if what is None:
                        continue
                    try:
                        sandbox.run(p.name, desc, what[0], what[1], "2" if p.name in updates else "1")
                    except RpmOstreeError as e:
                        raise RpmOstreeError(f"Running {desc} for {p.name}: {e}") from None
                    n += 1
                if kind == "POSTTRANS":
                    sandbox.sync()
                    n += _run_transfiletriggers(root, sandbox, {p.name for p in packages})
                task.result = f"{n} done"
        sandbox.finish()
    except BaseException:
        sandbox.abort()
        raise


def _run_transfiletriggers(root: str, sandbox, new_names: set) -> int:
    from ostree_py.rpmostree.scripts import is_ignored
    all_triggers = _rpm.installed_triggers(root)
    ordered = [t for t in all_triggers if t.name not in new_names] + \
        [t for t in all_triggers if t.name in new_names]
    n = 0
    for t in ordered:
        if not t.transfiletriggerin or is_ignored(t.name, "%transfiletriggerin"):
            continue
        for interp, flags, body, patterns in t.transfiletriggerin:
            try:
                what = _script_body(t.name, "%transfiletriggerin", body, interp, flags)
                if what is None:
                    continue
                files = _matching_files(root, patterns)
                if not files:
                    continue
                sandbox.run(t.name, "%transfiletriggerin", what[0], what[1], None,
                            stdin="".join(f + "\n" for f in files).encode("utf-8", "surrogateescape"))
            except RpmOstreeError as e:
                raise RpmOstreeError(f"Executing %transfiletriggerin for {t.name}: {e}") from None
            sandbox.sync()
            n += 1
    return n


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


def _path_in_root(root: str, path: str) -> str:
    """Where ``path`` of the tree at ``root`` is on disk, its directories' symlinks resolved
    inside the tree (as in a chroot); the last component is not followed."""
    parts = [p for p in path.split("/") if p]
    cur = root
    hops = 0
    while len(parts) > 1:
        comp = parts.pop(0)
        nxt = os.path.join(cur, comp)
        if os.path.islink(nxt):
            hops += 1
            if hops > 40:
                return os.path.join(nxt, *parts)
            target = os.readlink(nxt)
            base = root if target.startswith("/") else cur
            resolved = os.path.normpath(os.path.join(base, target.lstrip("/") if target.startswith("/") else target))
            if not (resolved + "/").startswith(root.rstrip("/") + "/"):
                resolved = root
            rel = os.path.relpath(resolved, root)
            parts = ([] if rel == "." else rel.split("/")) + parts
            cur = root
            continue
        cur = nxt
    return os.path.join(cur, *parts)


def _files_before(root: str, packages) -> dict:
    """{(package, path): ostree checksum} of the tree's files (not directories) that the
    packages also ship; /var and /run content becomes tmpfiles.d entries, not files."""
    from ostree_py.ops.diff import checksum_file
    before = {}
    for p in packages:
        for path in _rpm.package_files(p.path):
            if path.startswith(("/var/", "/run/")):
                continue
            disk = _path_in_root(root, path)
            try:
                st = os.lstat(disk)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                continue
            before[(p, path, disk)] = checksum_file(disk, st=st)
    return before


def _check_union_identical(before: dict) -> None:
    """rpm-ostree checks packages out over the base with ostree's UNION_IDENTICAL: a
    package file may only land where the tree has nothing or the very same file."""
    from ostree_py.ops.diff import checksum_file
    for (p, path, disk), old in before.items():
        new_path = disk
        if os.path.lexists(disk + ".rpmnew"):
            new_path = disk + ".rpmnew"          # a %config(noreplace) file rpm set aside
        try:
            new = checksum_file(new_path)
        except OstreeError:
            continue
        if new != old:
            raise RpmOstreeError(f"Checkout {p.nevra}: Hardlinking {new[:2]}/{new[2:]}.file to "
                                 f"{os.path.basename(path)}: File exists")


def layer(repo, base: str, root: str, packages, removals, report, replacefiles=(), updates=()) -> list:
    """Turn the checkout of ``base`` at ``root`` into the layered tree; return the final rpmdb.

    ``removals``: base packages taken out (replaced ones included); ``updates``: names
    of ``packages`` that replace a base package (their scripts get ``$1`` = 2).
    Packages whose NEVRA is in ``replacefiles`` (``install --force-replacefiles``) may
    overwrite the tree's files; the others may not change any of them."""
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
            plain = [p for p in packages if p.nevra not in replacefiles]
            forced = [p for p in packages if p.nevra in replacefiles]
            before = _files_before(root, plain)
            _rpm.install(root, [p.path for p in plain])
            _check_union_identical(before)
            # and last, the packages allowed to replace files
            _rpm.install(root, [p.path for p in forced], replacefiles=True)
        run_scripts(root, packages, report, updates)
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
    from ostree_py.ops.commit import CommitBuilder, CommitModifier, MutableTree, scan_hardlinks, write_commit
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
