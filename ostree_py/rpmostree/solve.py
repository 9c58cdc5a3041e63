"""Dependency resolution with libsolv (PyPI ``solv``).

The pool holds the base's packages as the installed repo (locked: layering
never changes them, except for requested removals), each rpm-md repo, and
the local package files. The result is the list of packages to layer.
"""

import os

from ostree_py.rpmostree import RpmOstreeError
from ostree_py.rpmostree.rpm import SENSE_EQUAL, SENSE_GREATER, SENSE_LESS, SENSE_RPMLIB


def _solv():
    try:
        import solv
    except ImportError:
        raise RpmOstreeError("libsolv's Python bindings (the 'solv' package) are not installed") from None
    return solv


def base_arch() -> str:
    return os.uname().machine


class Resolution:
    def __init__(self):
        self.install = []      # solv.XSolvable to layer
        self.inactive = []     # (request, [nevra of base packages providing it])
        self.removed = []      # base packages removed (solvables)
        self.replaced = []     # (new solvable, base solvable, source: "" local, "repo=NAME")


class Pool:
    """A libsolv pool for one transaction."""

    def __init__(self, arch: str | None = None):
        solv = _solv()
        self.solv = solv
        self.pool = solv.Pool()
        self.pool.setarch(arch or base_arch())
        self.installed = self.pool.add_repo("@System")
        self.pool.installed = self.installed
        self.local = self.pool.add_repo("@commandline")
        self.meta = {}        # solvable id -> rpm.Package (installed and local)
        self.repos = {}       # repo name -> Repo

    def _dep(self, name, flags, version):
        solv = self.solv
        d = self.pool.Dep(name)
        if version and flags & (SENSE_LESS | SENSE_GREATER | SENSE_EQUAL):
            rel = 0
            if flags & SENSE_LESS:
                rel |= solv.REL_LT
            if flags & SENSE_GREATER:
                rel |= solv.REL_GT
            if flags & SENSE_EQUAL:
                rel |= solv.REL_EQ
            d = d.Rel(rel, self.pool.Dep(version))
        return d

    def _add_package(self, repo, pkg):
        solv = self.solv
        s = repo.add_solvable()
        s.name, s.evr, s.arch = pkg.name, pkg.evr, pkg.arch
        for key, deps in ((solv.SOLVABLE_PROVIDES, pkg.provides), (solv.SOLVABLE_REQUIRES, pkg.requires),
                          (solv.SOLVABLE_CONFLICTS, pkg.conflicts), (solv.SOLVABLE_OBSOLETES, pkg.obsoletes)):
            for name, flags, version in deps or ():
                if flags & SENSE_RPMLIB or name.startswith("rpmlib("):
                    continue
                s.add_deparray(key, self._dep(name, flags, version))
        if not any(n == pkg.name for n, _f, _v in pkg.provides or ()):
            s.add_deparray(solv.SOLVABLE_PROVIDES, self.pool.Dep(pkg.name).Rel(solv.REL_EQ, self.pool.Dep(pkg.evr)))
        self.meta[s.id] = pkg
        return s

    def add_installed(self, pkgs, files=()) -> None:
        """The base's packages; ``files``: paths present in the base, provided as file deps."""
        for p in pkgs:
            self._add_package(self.installed, p)
        if files:
            # paths in the base tree satisfy file requirements (/bin/sh) even when the
            # owning package's file list is not in the pool
            holder = self.installed.add_solvable()
            holder.name, holder.evr, holder.arch = "rpmostree-base-files", "0-0", "noarch"
            for f in files:
                holder.add_deparray(self.solv.SOLVABLE_PROVIDES, self.pool.Dep(f))
        self.installed.internalize()

    def add_rpmmd(self, name: str, primary_path: str, priority: int = 99):
        solv = self.solv
        repo = self.pool.add_repo(name)
        repo.priority = -priority
        f = solv.xfopen(primary_path)
        if f is None:
            raise RpmOstreeError(f"Loading rpm-md repo '{name}': cannot open {primary_path}")
        try:
            if not repo.add_rpmmd(f, None):
                raise RpmOstreeError(f"Loading rpm-md repo '{name}': {self.pool.errstr}")
        finally:
            f.close()
        repo.internalize()
        self.repos[name] = repo
        return repo

    def add_local(self, pkg):
        s = self._add_package(self.local, pkg)
        self.local.internalize()
        return s

    def package_of(self, s):
        return self.meta.get(s.id)

    def resolve(self, requests, local_solvables=(), removals=(), allow_inactive=True, replacements=(),
                repo_replacements=None) -> Resolution:
        """``replacements``: local solvables replacing the base package of their name;
        ``repo_replacements``: {repo: [names]} replaced by that repo's best candidate."""
        solv = self.solv
        pool = self.pool
        pool.addfileprovides()
        pool.createwhatprovides()
        res = Resolution()
        jobs = []
        missing = []
        removed_ids = set()
        base_by_name = {}
        for s in self.installed.solvables_iter():
            if s.name != "rpmostree-base-files":
                base_by_name.setdefault(s.name, []).append(s)
        source = {}                     # replaced name -> "" (local) or "repo=NAME"
        # (the caller left out inactive replacements: each one replaces a base package)
        for s in replacements:
            source[s.name] = ""
            jobs.append(pool.Job(solv.Job.SOLVER_SOLVABLE | solv.Job.SOLVER_INSTALL, s.id))
        for repo_name, names in (repo_replacements or {}).items():
            repo = self.repos.get(repo_name)
            for name in names:
                cands = [s for s in repo.solvables_iter() if s.name == name] if repo is not None else []
                if not cands:
                    raise RpmOstreeError(f"No matches for '{name}' in repo '{repo_name}'")
                source[name] = f"repo={repo_name}"
                jobs.append(pool.Job(solv.Job.SOLVER_SOLVABLE_ONE_OF | solv.Job.SOLVER_INSTALL,
                                     pool.towhatprovides([s.id for s in cands])))
        for name in removals:
            sel = pool.select(name, solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_CANON
                              | solv.Selection.SELECTION_INSTALLED_ONLY)
            found = [s for s in sel.solvables() if s.repo == self.installed]
            if not found:
                raise RpmOstreeError(f"Package \"{name}\" not found in the base")
            for s in found:
                removed_ids.add(s.id)
                res.removed.append(s)
                jobs.append(pool.Job(solv.Job.SOLVER_SOLVABLE | solv.Job.SOLVER_ERASE, s.id))
        for s in self.installed.solvables_iter():
            if s.id not in removed_ids and s.name not in source:
                jobs.append(pool.Job(solv.Job.SOLVER_SOLVABLE | solv.Job.SOLVER_LOCK, s.id))
        flags = (solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_PROVIDES
                 | solv.Selection.SELECTION_CANON | solv.Selection.SELECTION_DOTARCH
                 | solv.Selection.SELECTION_REL | solv.Selection.SELECTION_GLOB
                 | solv.Selection.SELECTION_FILELIST)
        for req in requests:
            sel = pool.select(req, flags)
            if sel.isempty():
                missing.append(req)
                continue
            in_base = [s for s in sel.solvables() if s.repo == self.installed and s.id not in removed_ids
                       and s.name != "rpmostree-base-files"]
            if in_base:
                res.inactive.append((req, sorted(str(s) for s in in_base)))
                continue
            jobs += sel.jobs(solv.Job.SOLVER_INSTALL)
        if missing:
            raise RpmOstreeError(f"Packages not found: {', '.join(missing)}")
        for s in local_solvables:
            jobs.append(pool.Job(solv.Job.SOLVER_SOLVABLE | solv.Job.SOLVER_INSTALL, s.id))
        solver = pool.Solver()
        solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
        solver.set_flag(solv.Solver.SOLVER_FLAG_ALLOW_DOWNGRADE, 1)
        problems = solver.solve(jobs)
        if problems:
            n = len(problems)
            lines = [f"Could not depsolve transaction; {n} problem{'s' if n != 1 else ''} detected:"]
            for i, p in enumerate(problems, 1):
                rules = p.findallproblemrules()
                text = "\n  - ".join(r.info().problemstr() for r in rules) if rules else str(p)
                lines.append(f" Problem {i}: {p}" if n > 1 else f" Problem: {p}")
                if rules:
                    lines.append("  - " + text)
            raise RpmOstreeError("\n".join(lines))
        trans = solver.transaction()
        new = sorted(trans.newsolvables(), key=lambda s: (s.name, s.evr))
        res.install = [s for s in new if s.name not in source]
        for s in new:
            if s.name in source:
                old = next((o for o in base_by_name[s.name] if o.evr != s.evr or o.arch != s.arch),
                           base_by_name[s.name][0])
                res.replaced.append((s, old, source[s.name]))
        return res
