"""``ostree ls``: list paths in a commit, like ``ls -l``."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError, UsageError

USAGE = "COMMIT [PATH...]"
NEEDS_REPO = True


def options(
    dironly: Annotated[bool, typer.Option("--dironly", "-d",
        help="Do not recurse into directory arguments")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-R",
        help="Print directories recursively")] = False,
    checksum: Annotated[bool, typer.Option("--checksum", "-C", help="Print checksum")] = False,
    xattrs: Annotated[bool, typer.Option("--xattrs", "-X", help="Print extended attributes")] = False,
    nul_filenames_only: Annotated[bool, typer.Option("--nul-filenames-only",
        help="Print only filenames, NUL separated")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops.ls import list_path
    from ostree_py.repo.repofile import RepoFile
    if not args:
        raise UsageError("An COMMIT argument is required")
    repo = ctx.repo
    root = RepoFile.root(repo, repo.resolve_rev(args[0]))
    nul = opts.nul_filenames_only
    binary = getattr(ctx.stdout, "buffer", None) if nul else None
    if binary is not None:
        ctx.stdout.flush()

    def emit(text):
        if binary is not None:
            binary.write(text.encode("utf-8", "surrogateescape"))
        else:
            ctx.stdout.write(text)

    kw = dict(recursive=opts.recursive, dironly=opts.dironly, checksum=opts.checksum,
              xattrs=opts.xattrs, nul=nul)
    if len(args) > 1:
        for path in args[1:]:
            try:
                for line in list_path(root, path, **kw):
                    emit(line)
            except OstreeError as e:
                raise OstreeError(f"Inspecting path '{path}': {e.message}", e.exit_code) from None
    else:
        for line in list_path(root, "/", **kw):
            emit(line)
    if binary is not None:
        binary.flush()
    return 0
