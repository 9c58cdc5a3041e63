"""``rpm-ostree-py cleanup``: drop pending/rollback deployments, unused cached packages and metadata."""

from .._cli import Option

SUMMARY = "Clear cached/pending data"
USAGE = ""
NEEDS_OS = True
OPTIONS = [
    Option("base", "b", help="Clear temporary files; will leave deployments unchanged"),
    Option("pending", "p", help="Remove pending deployment"),
    Option("rollback", "r", help="Remove rollback deployment"),
    Option("repomd", "m", help="Delete cached rpm repo metadata"),
]


def run(ctx, opts, args):
    import os
    import shutil

    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import core

    from . import _common
    if not (opts.base or opts.pending or opts.rollback or opts.repomd):
        raise UsageError("At least one cleanup option must be specified")
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    repo = sr.repo
    mine = [d for d in sr.deployments if d.osname == osname]
    booted = sr.booted_deployment
    default = booted if booted is not None else (mine[0] if mine else None)
    drop = []
    if default is not None:
        idx = mine.index(default)
        if opts.pending:
            drop += [d for d in mine[:idx] if not d.is_pinned]
        if opts.rollback:
            drop += [d for d in mine[idx + 1:] if not d.is_pinned]
    if drop:
        keep = [d for d in sr.deployments if d not in drop]
        sr.write_deployments(keep)
        for d in drop:
            ctx.stdout.write(f"Deployment {d.csum}.{d.deployserial} removed\n")
    elif opts.pending or opts.rollback:
        ctx.stdout.write("Deployments unchanged.\n")
    if opts.base:
        wanted = set()
        for d in sr.deployments:
            if core.is_layered(repo, d.csum):
                base = set(core.pkglist(repo, repo.load_commit(d.csum).parent))
                wanted |= {core.nevra_str(t) for t in core.pkglist(repo, d.csum) if t not in base}
        for ref in sorted(repo.list_refs(core.PKGCACHE_PREFIX, remotes=False)):
            full = ref if ref.startswith(core.PKGCACHE_PREFIX) else core.PKGCACHE_PREFIX + ref
            meta = core.commit_meta(repo, repo.resolve_rev(full))
            nevra = core._meta_value(meta, "rpmostree.nevra")
            if nevra not in wanted:
                repo.set_ref(full, None)
        sr.cleanup()
    if opts.repomd:
        d = sr.p(f"ostree/deploy/{osname}/var/cache/rpm-ostree/repomd")
        if os.path.isdir(d):
            shutil.rmtree(d)
    return 0
