"""``ostree-py pull-local``: copy data from another repository on this machine."""

from typing import Annotated

import typer

USAGE = "SRC_REPO [REFS...]"
NEEDS_REPO = True


def options(
    commit_metadata_only: Annotated[bool, typer.Option("--commit-metadata-only",
        help="Fetch only the commit metadata")] = False,
    remote: Annotated[str | None, typer.Option("--remote", metavar="REMOTE",
        help="Add REMOTE to refspec")] = None,
    disable_fsync: Annotated[bool, typer.Option("--disable-fsync", help="Do not invoke fsync()")] = False,
    per_object_fsync: Annotated[bool, typer.Option("--per-object-fsync",
        help="Perform writes in such a way that avoids stalling concurrent processes")] = False,
    untrusted: Annotated[bool, typer.Option("--untrusted",
        help="Verify checksums of local sources (always enabled for HTTP pulls)")] = False,
    bareuseronly_files: Annotated[bool, typer.Option("--bareuseronly-files",
        help="Reject regular files with mode outside of 0775 (world writable, suid, etc.)")] = False,
    require_static_deltas: Annotated[bool, typer.Option("--require-static-deltas",
        help="Require static deltas")] = False,
    disable_static_deltas: Annotated[bool, typer.Option("--disable-static-deltas",
        help="Do not use static deltas")] = False,
    gpg_verify: Annotated[bool, typer.Option("--gpg-verify",
        help="GPG verify commits (must specify --remote)")] = False,
    gpg_verify_summary: Annotated[bool, typer.Option("--gpg-verify-summary",
        help="GPG verify summary (must specify --remote)")] = False,
    disable_verify_bindings: Annotated[bool, typer.Option("--disable-verify-bindings",
        help="Do not verify commit bindings")] = False,
    depth: Annotated[int | None, typer.Option("--depth", metavar="DEPTH",
        help="Traverse DEPTH parents (-1=infinite) (default: 0)")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError
    from ostree_py.remote.pull_local import pull_local
    if len(args) < 1:
        ctx.stderr.write(ctx.help_text() + "\n")
        raise OstreeError("DESTINATION must be specified")
    # (a local pull copies objects and uses deltas only when required, so
    # --disable-static-deltas, ostree 2023.8+, changes nothing on its own)
    if opts.require_static_deltas or opts.gpg_verify or opts.gpg_verify_summary:
        return _pull_with_deltas(ctx, opts, args)
    if opts.per_object_fsync:
        ctx.repo.per_object_fsync = True
    depth = 0 if opts.depth is None else opts.depth
    if depth < -1:
        raise OstreeError(f"Invalid depth {depth}")
    try:
        stats = pull_local(ctx.repo, args[0], args[1:], remote=opts.remote, depth=depth,
                           untrusted=opts.untrusted, bareuseronly_files=opts.bareuseronly_files,
                           commit_metadata_only=opts.commit_metadata_only,
                           disable_fsync=opts.disable_fsync,
                           verify_bindings_=not opts.disable_verify_bindings)
    except OstreeError as e:
        if e.message.startswith("opendir("):
            raise OstreeError(f"opening repo: {e.message}") from None
        raise
    ctx.stdout.write(stats.status() + "\n")
    return 0


def _pull_with_deltas(ctx, opts, args):
    """--require-static-deltas, --gpg-verify(-summary): as the reference, a pull through the
    pull engine from a file:// URL, which applies the source's static deltas (and fails
    without them when required) and checks signatures with --remote's keys."""
    import os
    from ostree_py.errors import OstreeError
    from ostree_py.remote.pull import pull
    src = args[0]
    uri = src if src.startswith("file://") else "file://" + os.path.abspath(src)
    refs = list(args[1:])
    if not refs:
        from ostree_py.remote.pull_local import open_source_repo
        try:
            src_repo = open_source_repo(uri[len("file://"):])
        except OstreeError as e:
            raise OstreeError(f"opening repo: {e.message}") from None
        refs = sorted(src_repo.list_refs(remotes=False))
    depth = 0 if opts.depth is None else opts.depth
    res = pull(ctx.repo, uri, refs, require_static_deltas=opts.require_static_deltas,
               disable_static_deltas=opts.disable_static_deltas,
               override_remote_name=opts.remote, gpg_verify=opts.gpg_verify or None,
               gpg_verify_summary=opts.gpg_verify_summary or None,
               depth=depth, untrusted=opts.untrusted, bareuseronly_files=opts.bareuseronly_files,
               commit_metadata_only=opts.commit_metadata_only, disable_fsync=opts.disable_fsync,
               per_object_fsync=opts.per_object_fsync, disable_verify_bindings=opts.disable_verify_bindings,
               disable_sign_verify=True, disable_sign_verify_summary=True)
    ctx.stdout.write(res.status() + "\n")
    return 0
