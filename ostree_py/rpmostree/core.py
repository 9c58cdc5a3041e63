"""The operations of rpm-ostree's client, daemonless, on an ostree sysroot.

Every deployment-changing operation follows one path (``Transaction``):
take the merge deployment's origin, change it, find the base commit,
compute the layered tree when the origin asks for one (``layer_commit``),
and only when all of that succeeded write the new deployment.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
import time

from ostree_py.errors import OstreeError
from ostree_py.core.gvariant import Variant
from ostree_py.rpmostree import RpmOstreeError
from ostree_py.rpmostree import rpm as _rpm
from ostree_py.rpmostree.origin import Origin

PKGCACHE_PREFIX = "rpmostree/pkg/"


class _Task:
    def __init__(self, text):
        self.text = text
        self.result = "done"      # what ends the line ("1 done")
        self.broken = False       # lines were printed since the task began


class Reporter:
    """Where progress goes: ``msg(text)`` lines and ``task(text)`` "text... done" pairs;
    lines printed inside a task (``msg_line``: script output) go on lines of their
    own, and the task's line is repeated with its result after them."""

    def __init__(self, write=None):
        self.write = write or (lambda s: None)
        self._task = None

    def msg(self, text: str) -> None:
        self.msg_line(text + "\n")

    def msg_line(self, line: str) -> None:
        t = self._task
        if t is not None and not t.broken:
            self.write("\n")
            t.broken = True
        self.write(line)

    @contextlib.contextmanager
    def task(self, text: str):
        self.write(f"{text}... ")
        t = self._task = _Task(text)
        try:
            yield t
        except BaseException:
            self._task = None
            self.write(f"{text}... failed\n" if t.broken else "failed\n")
            raise
        self._task = None
        self.write(f"{text}... {t.result}\n" if t.broken else f"{t.result}\n")


# ------------------------------------------------------------------ commits and packages

def _meta_value(meta: dict, key: str, default=None):
    v = meta.get(key)
    if v is None:
        return default
    return getattr(v, "value", v)


def commit_meta(repo, csum: str) -> dict:
    return repo.load_commit(csum).metadata


def is_layered(repo, csum: str) -> bool:
    try:
        return bool(_meta_value(commit_meta(repo, csum), "rpmostree.clientlayer", False))
    except OstreeError:
        return False


def base_of(repo, csum: str) -> str:
    """The base commit of a deployment's commit (its parent when it is a client layer)."""
    if is_layered(repo, csum):
        parent = repo.load_commit(csum).parent
        if parent:
            return parent
    return csum


def pkglist(repo, csum: str) -> list:
    """[(name, epoch, version, release, arch)] of the rpmdb of commit ``csum``."""
    meta = commit_meta(repo, csum)
    v = _meta_value(meta, "rpmostree.rpmdb.pkglist")
    if v is not None:
        return [tuple(x) for x in v]
    from ostree_py.ops.checkout import checkout_tree
    with tempfile.TemporaryDirectory(prefix="rpmostree-rpmdb-", dir=_tmpdir(repo)) as d:
        dest = os.path.join(d, "db")
        try:
            ok = checkout_tree(repo, csum, dest, subpath="/" + _rpm.DBPATH, force_copy=True, allow_noent=True)
        except OstreeError:
            ok = False
        if not ok or not os.path.isdir(dest):
            return []
        return [(p.name, p.epoch, p.version, p.release, p.arch) for p in _rpm.query_dbdir(dest)]


def rpmdb_version(repo, csum: str) -> str:
    """rpm-ostree's rpmdb version of a commit: ``COUNT:SHA256`` over the packages'
    ``[EPOCH:]NAME-VERSION-RELEASE.ARCH``, sorted by name then version (no gpg-pubkey)."""
    import functools
    pkgs = [t for t in pkglist(repo, csum) if t[0] != "gpg-pubkey"]

    def cmp(a, b):
        if a[0] != b[0]:
            return -1 if a[0] < b[0] else 1
        ev = lambda t: (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}"  # noqa: E731
        return _rpm.vercmp(ev(a), ev(b)) if ev(a) != ev(b) else 0
    h = hashlib.sha256()
    pkgs.sort(key=functools.cmp_to_key(cmp))
    for name, epoch, version, release, arch in pkgs:
        h.update(((f"{epoch}:" if epoch else "") + f"{name}-{version}-{release}.{arch}").encode())
    return f"{len(pkgs)}:{h.hexdigest()}"


def nevra_str(t) -> str:
    name, epoch, version, release, arch = t
    e = f"{epoch}:" if epoch else ""
    return f"{name}-{e}{version}-{release}.{arch}"


def _tmpdir(repo) -> str:
    d = os.path.join(repo.path, "tmp")
    os.makedirs(d, exist_ok=True)
    return d


def escape_ref_part(s: str) -> str:
    """rpm-ostree's escaping of NEVRA parts in refs: '_' doubled, other bytes outside
    [A-Za-z0-9.-] as _XX."""
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c.isascii() and (c.isalnum() or c in ".-"):
            out.append(c)
        elif c == "_":
            out.append("__")
        else:
            out.append(f"_{ch:02X}")
    return "".join(out)


def pkgcache_ref(pkg) -> str:
    return f"{PKGCACHE_PREFIX}{escape_ref_part(pkg.name)}/{escape_ref_part(pkg.evr + '.' + pkg.arch)}"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_package(repo, pkg, path: str, repodata_checksum: str) -> str:
    """Store the package file in the system repo under its ``rpmostree/pkg/...`` ref."""
    from ostree_py.ops.commit import CommitBuilder, MutableTree, write_commit
    with tempfile.TemporaryDirectory(prefix="rpmostree-pkg-", dir=_tmpdir(repo)) as d:
        shutil.copyfile(path, os.path.join(d, pkg.nevra_noepoch + ".rpm"))
        os.chmod(d, 0o755)
        with repo.transaction():
            builder = CommitBuilder(repo)
            try:
                mtree = MutableTree()
                builder.write_dir_to_mtree(mtree, d)
                tree, meta = builder.write_mtree(mtree)
            finally:
                builder.close()
            csum = write_commit(repo, tree, meta, metadata=[
                ("rpmostree.nevra", Variant("s", pkg.nevra)),
                ("rpmostree.repodata_checksum", Variant("s", repodata_checksum)),
                ("rpmostree.sha256", Variant("s", sha256_file(path))),
            ], timestamp=0)
            repo.set_ref(pkgcache_ref(pkg), csum)
    return csum


def package_from_cache(repo, ref: str, dest_dir: str, want_checksum: str | None = None) -> str | None:
    """Write the cached package file of ``ref`` into ``dest_dir``; its path, or None."""
    csum = repo.resolve_rev(ref, allow_noent=True)
    if csum is None:
        return None
    c = repo.load_commit(csum)
    if want_checksum is not None and _meta_value(c.metadata, "rpmostree.repodata_checksum") != want_checksum:
        return None
    tree = repo.load_dirtree(c.root_tree)
    for name, fcsum in tree.files:
        if name.endswith(".rpm"):
            _info, stream = repo.load_file(fcsum)
            dest = os.path.join(dest_dir, name)
            with open(dest, "wb") as out:
                shutil.copyfileobj(stream, out)
            stream.close()
            return dest
    return None


def cached_local_package(repo, nevra: str, sha256: str, dest_dir: str) -> str:
    for ref, _c in repo.list_refs(PKGCACHE_PREFIX, remotes=False).items():
        ref = ref if ref.startswith(PKGCACHE_PREFIX) else PKGCACHE_PREFIX + ref
        meta = commit_meta(repo, repo.resolve_rev(ref))
        if _meta_value(meta, "rpmostree.nevra") == nevra and _meta_value(meta, "rpmostree.sha256") == sha256:
            p = package_from_cache(repo, ref, dest_dir)
            if p:
                return p
    raise RpmOstreeError(f"Local package {nevra} (sha256:{sha256}) is not in the package cache")


# ------------------------------------------------------------------ layering

def repomd_cachedir(sysroot, osname: str) -> str:
    """Where the stateroot's rpm-md metadata is cached (its /var/cache/rpm-ostree/repomd)."""
    return sysroot.p(f"ostree/deploy/{osname}/var/cache/rpm-ostree/repomd")


def refresh_metadata(sysroot, osname: str, confroot: str, report: Reporter, force: bool = False) -> list:
    """``refresh-md``: bring the enabled repos' metadata up to date and import it (no
    rpmdb, nothing deployed); ``force`` expires the cache first."""
    from ostree_py.rpmostree.solve import Pool
    configs = update_repos(confroot, repomd_cachedir(sysroot, osname), report, force=force)
    import_repos(Pool(), configs, report)
    return configs


def update_repos(confroot: str, cachedir: str, report: Reporter, cache_only: bool = False,
                 force: bool = False) -> list:
    """The enabled repos of the tree at ``confroot``, their metadata brought up to date in
    ``cachedir`` as rpm-ostree does: a repo whose cache is intact and younger than its
    metadata_expire is used as it is, the others are checked with the server ("Updating
    metadata for 'ID'"; ``force``: all of them)."""
    from ostree_py.rpmostree import repos as _repos
    from ostree_py.rpmostree.solve import base_arch
    configs = [r for r in _repos.load_repo_configs(confroot, base_arch()) if r.enabled]
    if not configs:
        report.msg("No enabled rpm-md repositories.")
        return []
    report.msg("Enabled rpm-md repositories: " + " ".join(r.id for r in configs))
    for r in configs:
        if cache_only:
            _repos.load_cached_metadata(r, cachedir)
            report.msg(f"Using cached metadata for '{r.id}'")
        elif not _repos.use_cache(r, cachedir, force=force):
            with report.task(f"Updating metadata for '{r.id}'"):
                _repos.update_metadata(r, cachedir, force=force)
            r.updated = True
    return configs


def import_repos(pool, configs, report: Reporter) -> None:
    """Load the repos' primary metadata into ``pool`` ("Importing rpm-md") and print
    rpm-ostree's line per repo, "(cached)" for those not checked with the server."""
    if not configs:
        return
    loaded = []
    from ostree_py.rpmostree import repos as _repos
    with report.task("Importing rpm-md"):
        for r in configs:
            try:
                loaded.append(pool.add_rpmmd(r.id, r.primary, r.priority))
            except RpmOstreeError:
                _repos.invalidate_cache(r)
                raise
    for r, solv_repo in zip(configs, loaded):
        gen = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.timestamp)) if r.timestamp else "unknown"
        cached = "" if r.updated else " (cached)"
        report.msg(f"rpm-md repo '{r.id}'{cached}; generated: {gen} solvables: {solv_repo.nsolvables}")


class LayerResult:
    def __init__(self, commit, packages=(), inactive=(), removed=(), repos=()):
        self.commit = commit
        self.packages = list(packages)     # rpm.Package layered
        self.inactive = list(inactive)     # (request, providers)
        self.removed = list(removed)
        self.repos = list(repos)
        self.unchanged = False


class Layering:
    """Computes layered commits for one stateroot."""

    def __init__(self, sysroot, osname: str, report: Reporter, cachedir: str | None = None,
                 cache_only: bool = False):
        self.cache_only = cache_only
        self.sysroot = sysroot
        self.repo = sysroot.repo
        self.osname = osname
        self.report = report
        self.cachedir = cachedir or repomd_cachedir(sysroot, osname)

    def _load_repos(self, confroot: str):
        return update_repos(confroot, self.cachedir, self.report, cache_only=self.cache_only)

    def compute(self, base: str, origin: Origin, confroot: str | None, dry_run: bool = False,
                allow_inactive: bool = True, local_paths=(), unchanged_if=None,
                download_only: bool = False) -> LayerResult:
        """Build (unless ``dry_run``) the layered commit of ``origin`` on ``base``.

        ``confroot``: the tree whose /etc/yum.repos.d gives the repos (the merge
        deployment); ``local_paths``: package files of new local requests;
        ``unchanged_if``: a set of NEVRAs: when the resolution layers exactly these,
        nothing is built and the result has ``commit`` None and ``unchanged`` set;
        ``download_only``: stop once the packages are in the package cache (``commit`` None).
        """
        repo = self.repo
        if not origin.may_require_local_assembly():
            return LayerResult(base)
        if origin.regenerate_initramfs and origin.initramfs_etc:
            raise RpmOstreeError("initramfs regeneration and /etc overlay not compatible; use dracut arg -I instead")
        from ostree_py.rpmostree.assemble import checkout_base, commit, layer
        from ostree_py.rpmostree.solve import Pool
        work = tempfile.mkdtemp(prefix="rpmostree-assemble-", dir=_tmpdir(repo))
        try:
            root = os.path.join(work, "root")
            pkgdir = os.path.join(work, "pkgs")
            os.makedirs(pkgdir)
            with self.report.task(f"Checking out tree {base[:7]}"):
                checkout_base(repo, base, root)
            base_pkgs = _rpm.query_root(root)
            pool = Pool()
            configs = self._load_repos(confroot or root) if origin.requested or origin.replace_repo else []
            import_repos(pool, configs, self.report)
            # local packages: the new ones given as files, the others from the package cache
            local_pkgs = []
            for path in local_paths:
                local_pkgs.append(_rpm.query_file(path))
            new_nevras = {p.nevra for p in local_pkgs}
            for nevra, sha in origin.local_nevras.items():
                if nevra not in new_nevras:
                    local_pkgs.append(_rpm.query_file(cached_local_package(repo, nevra, sha, pkgdir)))
            # local replacements of base packages, likewise
            replacing = set(origin.replace_local_nevras)
            for nevra, sha in origin.replace_local_nevras.items():
                if nevra not in new_nevras:
                    local_pkgs.append(_rpm.query_file(cached_local_package(repo, nevra, sha, pkgdir)))
            file_deps = self._file_deps(pool, local_pkgs)
            pool.add_installed(base_pkgs, [f for f in file_deps if os.path.lexists(os.path.join(root, f[1:]))
                                           or os.path.exists(os.path.join(root, f[1:]))])
            local_solv = [pool.add_local(p) for p in local_pkgs if p.nevra not in replacing]
            # rpm-ostree's inactive replacements: of a package the base lacks, or by the
            # base's own version; they stay in the origin but are left out here
            base_names = {p.name for p in base_pkgs}
            base_nevras = {p.nevra for p in base_pkgs}
            inactive = []
            repl_solv = []
            for p in local_pkgs:
                if p.nevra in replacing:
                    if p.name not in base_names or p.nevra in base_nevras:
                        inactive.append(p.nevra)
                    else:
                        repl_solv.append(pool.add_local(p))
            repo_repl = {}
            for repo_name, names in origin.replace_repo_map.items():
                inactive += [n for n in names if n not in base_names]
                repo_repl[repo_name] = [n for n in names if n in base_names]
            if inactive:
                self.report.msg("Inactive base replacements:")
                for item in inactive:
                    self.report.msg(f"  {item}")
            with self.report.task("Resolving dependencies"):
                res = pool.resolve(origin.requested, local_solv, origin.removals, replacements=repl_solv,
                                   repo_replacements=repo_repl)
            for req, providers in res.inactive:
                if not allow_inactive:
                    raise RpmOstreeError(f"\"{req}\" is already provided by: {' '.join(providers)}. "
                                         "Use --allow-inactive to explicitly require it.")
            if res.inactive:
                self.report.msg("Inactive requests:")
                for req, providers in res.inactive:
                    self.report.msg(f"  {req} (already provided by {' '.join(providers)})")
            resolved = {str(x) for x in res.install} | {str(new) for new, _old, _src in res.replaced}
            if unchanged_if is not None and resolved == set(unchanged_if):
                r = LayerResult(None, [], res.inactive, res.removed, configs)
                r.unchanged = True
                return r
            to_layer = []
            downloads = []
            for s in res.install + [new for new, _old, _src in res.replaced]:
                if s.repo == pool.local:
                    to_layer.append(pool.package_of(s))
                else:
                    downloads.append(s)
            # packages already in the package cache (same repodata checksum) are not downloaded
            cached = [s for s in downloads if self._in_pkgcache(s, pool)]
            downloads = [s for s in downloads if s not in cached]
            if downloads:
                size = sum(s.lookup_num(pool.solv.SOLVABLE_DOWNLOADSIZE) or 0 for s in downloads)
                self.report.msg(f"Will download: {len(downloads)} package{'s' if len(downloads) != 1 else ''} "
                                f"({_format_size(size)})")
            if dry_run:
                return LayerResult(None, [pool.package_of(s) or s for s in res.install], res.inactive,
                                   res.removed, configs)
            by_id = {r.id: r for r in configs}
            for s in cached:
                to_layer.append(self._fetch_package(s, by_id[s.repo.name], pkgdir, pool))
            for repo_id in sorted({s.repo.name for s in downloads}):
                with self.report.task(f"Downloading from '{repo_id}'"):
                    for s in (x for x in downloads if x.repo.name == repo_id):
                        to_layer.append(self._fetch_package(s, by_id[repo_id], pkgdir, pool))
            self._check_gpg(configs, to_layer, confroot or root)
            with self.report.task("Importing packages"):
                for p in to_layer:
                    if p.sha256 is None:
                        p.sha256 = sha256_file(p.path)
                    ref = pkgcache_ref(p)
                    have = repo.resolve_rev(ref, allow_noent=True)
                    if have is None or _meta_value(commit_meta(repo, have), "rpmostree.sha256") != p.sha256:
                        cache_package(repo, p, p.path, p.checksum or f"sha256:{p.sha256}")
            if download_only:
                return LayerResult(None, to_layer, res.inactive, res.removed, configs)
            replaced_names = {new.name for new, _old, _src in res.replaced}
            final = layer(repo, base, root, to_layer, [s.name for s in res.removed] + sorted(replaced_names),
                          self.report, replacefiles=set(origin.fileoverride_nevras), updates=replaced_names)
            if origin.regenerate_initramfs:
                from ostree_py.rpmostree import initramfs
                etc_dir = os.path.join(confroot, "etc") if confroot else os.path.join(root, "usr/etc")
                base_args = _meta_value(commit_meta(repo, base), "rpmostree.initramfs-args")
                with self.report.task("Generating initramfs"):
                    initramfs.regenerate(root, etc_dir, origin.initramfs_args,
                                         list(base_args) if base_args is not None else None, work, self.report)
            meta = self._metadata(base, origin, res, to_layer, final, configs)
            with self.report.task("Writing OSTree commit"):
                csum = commit(repo, root, base, meta)
            return LayerResult(csum, to_layer, res.inactive, res.removed, configs)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def newer_layered(self, base: str, layered: str, confroot: str) -> list:
        """[(pkglist tuple, evr, arch)]: the packages ``layered`` adds to ``base`` of which
        the rpm-md repos (metadata refreshed) have a newer version, the newest of each."""
        from ostree_py.rpmostree.solve import Pool
        added = diff_pkglists(pkglist(self.repo, base), pkglist(self.repo, layered))[3]
        if not added:
            return []
        pool = Pool()
        for r in self._load_repos(confroot):
            pool.add_rpmmd(r.id, r.primary, r.priority)
        out = []
        for t in added:
            old_evr = (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}"
            best = None
            for r in pool.repos.values():
                for sv in r.solvables_iter():
                    if sv.name != t[0] or sv.arch == "src":
                        continue
                    if _rpm.vercmp(sv.evr, old_evr) > 0 and (best is None or sv.evrcmp(best) > 0):
                        best = sv
            if best is not None:
                out.append((t, best.evr, best.arch))
        return out

    def _file_deps(self, pool, local_pkgs) -> set:
        deps = set()
        for p in local_pkgs:
            deps.update(n for n, _f, _v in p.requires if n.startswith("/"))
        solv = pool.solv
        for r in pool.repos.values():
            for s in r.solvables_iter():
                for d in s.lookup_deparray(solv.SOLVABLE_REQUIRES, 0):
                    n = str(d)
                    if n.startswith("/"):
                        deps.add(n.split(" ")[0])
        return deps

    def _in_pkgcache(self, s, pool) -> bool:
        """Whether the package cache already holds this very package (same repodata checksum)."""
        chk = s.lookup_checksum(pool.solv.SOLVABLE_CHECKSUM)
        if not chk:
            return False
        ref = f"{PKGCACHE_PREFIX}{escape_ref_part(s.name)}/{escape_ref_part(s.evr + '.' + s.arch)}"
        csum = self.repo.resolve_rev(ref, allow_noent=True)
        return csum is not None and \
            _meta_value(commit_meta(self.repo, csum), "rpmostree.repodata_checksum") == f"{chk.typestr()}:{chk.hex()}"

    def _fetch_package(self, s, repo_cfg, pkgdir: str, pool):
        from ostree_py.rpmostree import repos as _repos
        location = s.lookup_location()[0]
        chk = s.lookup_checksum(pool.solv.SOLVABLE_CHECKSUM)
        algo, hexsum = (chk.typestr(), chk.hex()) if chk else (None, None)
        repodata_checksum = f"{algo}:{hexsum}" if algo else None
        pkg_name = f"{s.name}-{s.evr}.{s.arch}"
        ref = f"{PKGCACHE_PREFIX}{escape_ref_part(s.name)}/{escape_ref_part(s.evr + '.' + s.arch)}"
        path = None
        if repodata_checksum:
            path = package_from_cache(self.repo, ref, pkgdir, repodata_checksum)
        if path is None:
            if self.cache_only:
                raise RpmOstreeError(f"Package {pkg_name} is not in the package cache (--cache-only)")
            path = os.path.join(pkgdir, os.path.basename(location))
            _repos.download(repo_cfg, location, (algo, hexsum) if algo else None, path,
                            s.lookup_num(pool.solv.SOLVABLE_DOWNLOADSIZE) or None)
        p = _rpm.query_file(path)
        if p.nevra != pkg_name and f"{p.name}-{p.evr}.{p.arch}" != pkg_name:
            raise RpmOstreeError(f"Downloaded package {os.path.basename(path)} is not {pkg_name}")
        p.repo = repo_cfg.id
        p.checksum = repodata_checksum
        return p

    def _check_gpg(self, configs, pkgs, root) -> None:
        from ostree_py.rpmostree import repos as _repos
        by_id = {r.id: r for r in configs}
        for p in pkgs:
            cfg = by_id.get(p.repo)
            if cfg is None or not cfg.gpgcheck:
                continue
            if not cfg.gpgkeys:
                raise RpmOstreeError(f"Package {p.nevra} from '{cfg.id}': gpgcheck is enabled but the repo "
                                     "has no gpgkey")
            keys = [_repos.resolve_gpgkey(k, root) for k in cfg.gpgkeys]
            _rpm.verify_signature(p.path, keys)

    def _removed_tuples(self, base, removed) -> list:
        names = {s.name for s in removed}
        return sorted(t for t in pkglist(self.repo, base) if t[0] in names)

    def _metadata(self, base, origin, res, layered, final, configs) -> list:
        repo = self.repo
        base_meta = commit_meta(repo, base)
        items = [(k, v) for k, v in base_meta.items()
                 if not k.startswith(("rpmostree.", "ostree.ref-binding", "ostree.collection-binding",
                                      "ostree.sizes"))]
        active = sorted(r for r in origin.requested if r not in {q for q, _ in res.inactive})
        state = hashlib.sha512()
        state.update(base.encode())
        for x in (sorted(origin.requested) + sorted(origin.requested_local)
                  + sorted(origin.requested_local_fileoverride) + sorted(origin.removals)
                  + sorted(origin.replace_local) + sorted(origin.replace_repo)):
            state.update(b"\0" + x.encode())
        items += [
            ("rpmostree.clientlayer", Variant("b", True)),
            ("rpmostree.clientlayer_version", Variant("u", 6)),
            ("rpmostree.packages", Variant("as", active)),
            ("rpmostree.modules", Variant("as", [])),
            # each removed package as rpm-ostree's (nevra, name, epoch, version, release, arch)
            ("rpmostree.removed-base-packages", Variant("av", [
                Variant("(sstsss)", (nevra_str(t), *t)) for t in self._removed_tuples(base, res.removed)])),
            ("rpmostree.replaced-base-packages", Variant("a(vv)", [
                (_gv_nevra(new), _gv_nevra(old)) for new, old, src in res.replaced if not src])),
            ("rpmostree.replaced-base-remote-packages", Variant("a{sv}", {
                src: Variant("a(vv)", [(_gv_nevra(n), _gv_nevra(o)) for n, o, x in res.replaced if x == src])
                for src in sorted({x for _n, _o, x in res.replaced if x})})),
            ("rpmostree.rpmmd-repos", Variant("aa{sv}", [
                {"id": Variant("s", r.id), "timestamp": Variant("t", r.timestamp)} for r in configs])),
            ("rpmostree.rpmdb.pkglist", Variant("a(stsss)", [
                (p.name, p.epoch, p.version, p.release, p.arch) for p in final])),
            ("rpmostree.state-sha512", Variant("s", state.hexdigest())),
        ]
        return items


def _gv_nevra(s) -> Variant:
    """rpm-ostree's (nevra, name, epoch, version, release, arch) of a solvable."""
    evr = s.evr
    epoch, _, vr = evr.rpartition(":") if ":" in evr else ("0", "", evr)
    version, _, release = vr.rpartition("-")
    nevra = f"{s.name}-{evr}.{s.arch}"
    return Variant("(sstsss)", (nevra, s.name, int(epoch or 0), version, release, s.arch))


def _format_size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


# ------------------------------------------------------------------ diff

def diff_pkglists(old: list, new: list):
    """(upgraded [(old,new)], downgraded, removed, added) by package name."""
    o = {p[0]: p for p in old}
    n = {p[0]: p for p in new}
    up, down, removed, added = [], [], [], []
    for name in sorted(set(o) | set(n)):
        a, b = o.get(name), n.get(name)
        if a is None:
            added.append(b)
        elif b is None:
            removed.append(a)
        elif a != b:
            ev = lambda t: (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}"  # noqa: E731
            (up if _rpm.vercmp(ev(a), ev(b)) < 0 else down).append((a, b))
    return up, down, removed, added
