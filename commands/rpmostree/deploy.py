"""``rpm-ostree-py deploy REVISION``: deploy a specific base commit, keeping the layers."""

from typing import Annotated

import typer

USAGE = "REVISION"
NEEDS_OS = True


def options(
    reboot: Annotated[bool, typer.Option("--reboot", "-r",
        help="Initiate a reboot after operation is complete")] = False,
    preview: Annotated[bool, typer.Option("--preview", help="Just preview package differences")] = False,
    cache_only: Annotated[bool, typer.Option("--cache-only", "-C",
        help="Do not download latest ostree and RPM data")] = False,
    download_only: Annotated[bool, typer.Option("--download-only",
        help="Just download latest ostree and RPM data, don't deploy")] = False,
    skip_branch_check: Annotated[bool, typer.Option("--skip-branch-check",
        help="Do not check if commit belongs on the same branch")] = False,
    lock_finalization: Annotated[bool, typer.Option("--lock-finalization",
        help="Prevent automatic deployment finalization on shutdown")] = False,
    disallow_downgrade: Annotated[bool, typer.Option("--disallow-downgrade",
        help="Forbid deployment of chronologically older trees")] = False,
    unchanged_exit_77: Annotated[bool, typer.Option("--unchanged-exit-77",
        help="If no new deployment made, exit 77")] = False,
    install: Annotated[list[str], typer.Option("--install", metavar="PKG",
        help="Overlay additional package")] = [],
    uninstall: Annotated[list[str], typer.Option("--uninstall", metavar="PKG",
        help="Remove overlayed package")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def change_base(ctx, opts, new_refspec=None, revision=None):
    """deploy and rebase: a new origin base, pulled, then layered and deployed."""
    from ostree_py.rpmostree import core
    from ostree_py.rpmostree.origin import Origin

    from . import _common, _pkgops
    from .upgrade import pull_base
    sr = _common.open_sysroot(ctx)
    osname = _common.stateroot(sr, opts.os)
    merge = _common.merge_deployment(sr, osname)
    repo = sr.repo
    origin = Origin(merge.origin).new_for_upgrade()
    if new_refspec is not None:
        origin.refspec = new_refspec
    origin.override_commit = None
    local = []
    if getattr(opts, "uninstall", None):
        _pkgops.remove_requests(origin, opts.uninstall)
    if getattr(opts, "install", None):
        _c, local = _pkgops.add_requests(origin, opts.install)
    current_base = core.base_of(repo, merge.csum)
    if revision is not None:
        origin.override_commit = resolve_revision(ctx, repo, origin.refspec, revision,
                                                  getattr(opts, "skip_branch_check", False))
    new_base = pull_base(ctx, sr, origin, not opts.disallow_downgrade, opts.cache_only, current_base)
    if getattr(opts, "preview", False):
        _common.print_pkgdiff(ctx, *core.diff_pkglists(core.pkglist(repo, current_base),
                                                      core.pkglist(repo, new_base)))
        return 0
    if new_base == current_base and _same_origin(origin, Origin(merge.origin)):
        return _common.unchanged(ctx, opts)
    new = _common.deploy(ctx, sr, osname, merge, origin, new_base, local_paths=local, cache_only=opts.cache_only,
                         download_only=opts.download_only, lock_finalization=opts.lock_finalization,
                         reboot=opts.reboot)
    if new is _common.DOWNLOADED:
        return 0
    old_refspec = Origin(merge.origin).refspec
    if (new is not None and new_refspec is not None and not getattr(opts, "skip_purge", True)
            and old_refspec and old_refspec != new_refspec):
        # rebase: the previous branch is no longer followed; its ref goes (unless --skip-purge)
        # and with it, once no deployment uses them, its objects at the next cleanup
        from ostree_py.core.objects import parse_refspec
        old_remote, old_ref = parse_refspec(old_refspec)
        with repo.transaction():
            repo.set_ref(old_ref, None, remote=old_remote)
    return 0


def parse_revision(revision: str):
    """rpm-ostree's REVISION syntax: ("checksum", C) for ``revision=C`` (which must be a
    checksum) or a bare 64-hex checksum, else ("version", V) (``version=V`` or anything else)."""
    from ostree_py.core.objects import is_checksum
    from ostree_py.rpmostree import RpmOstreeError
    key, eq, value = revision.partition("=")
    if eq:
        if key.lower() == "revision":
            if not is_checksum(value):
                raise RpmOstreeError(f"Invalid checksum '{value}'" if value else "Invalid empty checksum")
            return "checksum", value
        if key.lower() == "version":
            return "version", value
    if is_checksum(revision):
        return "checksum", revision
    return "version", revision


def walk_history(repo, refspec: str):
    """The commits of ``refspec``'s history, newest first: the ref's commit (pulled from
    its remote first, when it has one) then its parents, pulled commit-only in batches of
    10, 20, 40... as rpm-ostree does, or read locally for a local ref. A commit of the
    chain that is not in the repository (pruned, or not on the remote) ends the walk with
    an error, as rpm-ostree's does."""
    from ostree_py.core.objects import parse_refspec
    from ostree_py.rpmostree import RpmOstreeError
    remote, ref = parse_refspec(refspec)
    if remote:
        from ostree_py.remote.pull import pull
        pull(repo, remote, [ref], commit_metadata_only=True)
    csum = repo.resolve_rev(refspec, allow_noent=True)
    if csum is None:
        raise RpmOstreeError(f"Refspec '{refspec}' not found")
    depth = 10
    while csum:
        if not repo.has_object("commit", csum) and remote:
            from ostree_py.remote.pull import pull
            pull(repo, remote, [csum], commit_metadata_only=True, depth=depth)
            depth *= 2
        if not repo.has_object("commit", csum):
            # rpm-ostree loads each commit of the walk and fails on one that is gone
            # (a parent pruned by a cleanup, or absent on the remote): the walk cannot
            # say whether the wanted commit lies beyond it.
            raise RpmOstreeError(f"No such metadata object {csum}.commit")
        c = repo.load_commit(csum)
        yield csum, c
        csum = c.parent


def resolve_revision(ctx, repo, refspec: str, revision: str, skip_branch_check: bool = False) -> str:
    """The commit that ``deploy REVISION`` pins: a version looked up in the history of
    ``refspec`` ("Resolving version"), or a checksum checked to be in it ("Validating
    checksum", unless ``skip_branch_check``)."""
    from ostree_py.rpmostree import RpmOstreeError
    kind, value = parse_revision(revision)
    if kind == "version":
        ctx.stdout.write(f"Resolving version '{value}'\n")
        for csum, c in walk_history(repo, refspec):
            v = c.metadata.get("version")
            v = getattr(v, "value", v)
            if isinstance(v, str) and v == value:
                return csum
        raise RpmOstreeError(f"Version {value} not found in {refspec}")
    if not skip_branch_check:
        ctx.stdout.write(f"Validating checksum '{value}'\n")
        if not any(csum == value for csum, _c in walk_history(repo, refspec)):
            raise RpmOstreeError(f"Checksum {value} not found in {refspec}")
    return value


def _same_origin(a, b) -> bool:
    """Whether two origins say the same, leaving out ostree's own [libostree-transient]
    group (the pin): a pinned deployment asked again for its own base is no change."""
    texts = []
    for o in (a, b):
        kf = o.to_keyfile()
        if "libostree-transient" in kf.groups():
            kf.remove_group("libostree-transient")
        texts.append(kf.to_text())
    return texts[0] == texts[1]


def run(ctx, opts, args):
    from ostree_py.errors import UsageError
    if len(args) != 1:
        raise UsageError("REVISION must be specified")
    return change_base(ctx, opts, None, args[0])
