"""``rpm-ostree-py db diff [FROM_REV] [TO_REV]``: package changes between two commits."""

from typing import Annotated

import typer

USAGE = "[FROM_REV] [TO_REV]"


def options(
    repo: Annotated[str | None, typer.Option("--repo", "-r", metavar="PATH",
        help="Path to OSTree repository (defaults to /sysroot/ostree/repo)")] = None,
    format: Annotated[str | None, typer.Option("--format", "-F", metavar="FORMAT",
        help='Output format: "diff" or "json" or (default) "block"')] = None,
    changelogs: Annotated[bool, typer.Option("--changelogs", "-c",
        help="Also output RPM changelogs")] = False,
    base: Annotated[bool, typer.Option("--base",
        help="Diff against deployments' base, not layered commits")] = False,
    advisories: Annotated[bool, typer.Option("--advisories", "-a",
        help="Also output matching advisories")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import json

    from ostree_py.errors import UsageError
    from ostree_py.rpmostree import RpmOstreeError, core

    from . import _common, _db
    fmt = opts.format or "block"
    if fmt not in ("block", "diff", "json"):
        raise UsageError("Format argument is invalid, pick one of: diff, block, json")
    if fmt == "json" and opts.changelogs:
        raise UsageError("json format and --changelogs not supported")
    if len(args) > 2:
        raise UsageError('"rpm-ostree-py db diff" takes at most 2 arguments')
    repo, sr = _db.open_repo(ctx, opts)
    if len(args) == 2:
        revs = [(args[0], _db.resolve(repo, args[0])), (args[1], _db.resolve(repo, args[1]))]
    else:
        if sr is None:
            raise UsageError("Need a sysroot (no --repo) to diff deployments")
        booted = sr.booted_deployment
        if booted is None:
            raise RpmOstreeError("Not booted into any deployment")
        b_csum = core.base_of(repo, booted.csum) if opts.base else booted.csum
        if args:
            revs = [("booted deployment", b_csum), (args[0], _db.resolve(repo, args[0]))]
        else:
            pending, rollback = sr.query_deployments_for(None)
            if pending is not None:
                o_csum = core.base_of(repo, pending.csum) if opts.base else pending.csum
                revs = [("booted deployment", b_csum), ("pending deployment", o_csum)]
            elif rollback is not None:
                o_csum = core.base_of(repo, rollback.csum) if opts.base else rollback.csum
                revs = [("rollback deployment", o_csum), ("booted deployment", b_csum)]
            else:
                raise RpmOstreeError("No pending or rollback deployment to diff against")
    (from_label, from_csum), (to_label, to_csum) = revs
    up, down, removed, added = core.diff_pkglists(core.pkglist(repo, from_csum), core.pkglist(repo, to_csum))
    if fmt == "json":
        # rpm-ostree's a(sua{sv}): name, type (0 added, 1 removed, 2 upgraded, 3 downgraded),
        # PreviousPackage / NewPackage as (name, evr, arch)
        def sss(t):
            return [t[0], (f"{t[1]}:" if t[1] else "") + f"{t[2]}-{t[3]}", t[4]]
        entries = [(t[0], 0, {"NewPackage": sss(t)}) for t in added]
        entries += [(t[0], 1, {"PreviousPackage": sss(t)}) for t in removed]
        entries += [(a[0], 2, {"PreviousPackage": sss(a), "NewPackage": sss(b)}) for a, b in up]
        entries += [(a[0], 3, {"PreviousPackage": sss(a), "NewPackage": sss(b)}) for a, b in down]
        doc = {"ostree-commit-from": from_csum, "ostree-commit-to": to_csum,
               "pkgdiff": [list(e) for e in sorted(entries, key=lambda e: e[0])], "advisories": []}
        ctx.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    w = ctx.stdout.write
    w(f"ostree diff commit from: {_db.label(from_label, from_csum)}\n")
    w(f"ostree diff commit to:   {_db.label(to_label, to_csum)}\n")
    if fmt == "diff":
        for a, b in up + down:
            w(f"!{core.nevra_str(a)}\n={core.nevra_str(b)}\n")
        for t in removed:
            w(f"-{core.nevra_str(t)}\n")
        for t in added:
            w(f"+{core.nevra_str(t)}\n")
        return 0
    _common.print_pkgdiff(ctx, up, down, removed, added)
    return 0
