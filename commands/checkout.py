"""``ostree-py checkout``: check out a commit into a filesystem tree.

Like the reference, there are two code paths: a plain checkout (options
-U, --union, --subpath, --allow-noent only) uses the repository's
uncompressed-objects cache and honours --allow-noent; any other option
selects the "checkout_at" path, where the cache is off and --allow-noent has
no effect. The checks and messages of each path are the reference's.
"""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

from ostree_py.errors import OstreeError, UsageError

USAGE = "COMMIT [DESTINATION]"
NEEDS_REPO = True


def options(
    user_mode: Annotated[bool, typer.Option("--user-mode", "-U",
        help="Do not change file ownership or initialize extended attributes")] = False,
    disable_cache: Annotated[bool, typer.Option("--disable-cache",
        help="Do not update or use the internal repository uncompressed object cache")] = False,
    subpath: Annotated[str | None, typer.Option("--subpath", metavar="PATH", parser=filename,
        help="Checkout sub-directory PATH")] = None,
    union: Annotated[bool, typer.Option("--union",
        help="Keep existing directories, overwrite existing files")] = False,
    union_add: Annotated[bool, typer.Option("--union-add",
        help="Keep existing files/directories, only add new")] = False,
    union_identical: Annotated[bool, typer.Option("--union-identical",
        help="When layering checkouts, error out if a file would be replaced with a different version, but add new files and directories")] = False,
    whiteouts: Annotated[bool, typer.Option("--whiteouts",
        help="Process 'whiteout' (Docker style) entries")] = False,
    process_passthrough_whiteouts: Annotated[bool, typer.Option("--process-passthrough-whiteouts",
        help="Enable overlayfs whiteout extraction into char 0:0 devices")] = False,
    allow_noent: Annotated[bool, typer.Option("--allow-noent",
        help="Do nothing if specified path does not exist")] = False,
    from_stdin: Annotated[bool, typer.Option("--from-stdin",
        help="Process many checkouts from standard input")] = False,
    from_file: Annotated[str | None, typer.Option("--from-file", metavar="FILE",
        help="Process many checkouts from input file")] = None,
    fsync: Annotated[str | None, typer.Option("--fsync", metavar="POLICY",
        help="Specify how to invoke fsync()")] = None,
    require_hardlinks: Annotated[bool, typer.Option("--require-hardlinks", "-H",
        help="Do not fall back to full copies if hardlinking fails")] = False,
    force_copy_zerosized: Annotated[bool, typer.Option("--force-copy-zerosized", "-z", hidden=True,
        help="Do not hardlink zero-sized files")] = False,
    force_copy: Annotated[bool, typer.Option("--force-copy", "-C",
        help="Never hardlink (but may reflink if available)")] = False,
    bareuseronly_dirs: Annotated[bool, typer.Option("--bareuseronly-dirs", "-M",
        help="Suppress mode bits outside of 0775 for directories (suid, world writable, etc.)")] = False,
    skip_list: Annotated[str | None, typer.Option("--skip-list", metavar="FILE", parser=filename,
        help="File containing list of files to skip")] = None,
    selinux_policy: Annotated[str | None, typer.Option("--selinux-policy", metavar="PATH", parser=filename,
        help="Set SELinux labels based on policy in root filesystem PATH (may be /); implies --force-copy")] = None,
    selinux_prefix: Annotated[str | None, typer.Option("--selinux-prefix", metavar="PREFIX",
        help="When setting SELinux labels, prefix all paths by PREFIX")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _uses_checkout_at(opts) -> bool:
    return bool(opts.disable_cache or opts.whiteouts or opts.require_hardlinks or opts.union_add
                or opts.force_copy or opts.force_copy_zerosized or opts.bareuseronly_dirs
                or opts.union_identical or opts.skip_list or opts.selinux_policy or opts.selinux_prefix
                or opts.process_passthrough_whiteouts)


def _read_skip_list(path: str) -> set:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise OstreeError(f"openat({path}): {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OstreeError(f"Invalid UTF-8 in {path}") from None
    return {line for line in text.split("\n") if line}


def _selinux_policy(path: str) -> str:
    """Check --selinux-policy PATH; return it, or raise if labelling would be needed."""
    import os

    from ostree_py.ops.checkout import selinux_policy_enabled
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise OstreeError(f"selinux-policy: : opendir({path}): {e.strerror}") from None
    os.close(fd)
    name = selinux_policy_enabled(path)
    if name is not None:
        raise OstreeError(f"SELinux labeling is not supported by ostree-py "
                          f"(policy '{name}' is enabled in {path})")
    return path


def _one_checkout(ctx, repo, opts, resolved: str, subpath, destination: str) -> None:
    from ostree_py.ops.checkout import (MODE_NONE, MODE_USER, OVERWRITE_ADD_FILES, OVERWRITE_NONE,
                                    OVERWRITE_UNION_FILES, OVERWRITE_UNION_IDENTICAL, CheckoutOptions,
                                    checkout_tree)
    from ._progress import CountProgress
    mode = MODE_USER if opts.user_mode else MODE_NONE
    if not _uses_checkout_at(opts):
        # this path takes the destination as a GFile: made absolute and
        # canonicalized lexically ("missing/../x" is "x")
        import os
        destination = os.path.abspath(destination) if destination else destination
        if destination.startswith("//"):
            destination = "/" + destination.lstrip("/")
        co = CheckoutOptions(mode=mode, overwrite=OVERWRITE_UNION_FILES if opts.union else OVERWRITE_NONE,
                             subpath=subpath if subpath is not None else "/",
                             enable_uncompressed_cache=True, allow_noent=opts.allow_noent)
        with CountProgress(ctx, "Checking out") as progress:
            co.progress = progress if progress.enabled else None
            checkout_tree(repo, resolved, destination, co)
        return

    force_copy = opts.force_copy or bool(opts.selinux_policy)
    if opts.union and opts.union_add:
        raise OstreeError("Cannot specify both --union and --union-add")
    if opts.union and opts.union_identical:
        raise OstreeError("Cannot specify both --union and --union-identical")
    if opts.union_add and opts.union_identical:
        raise OstreeError("Cannot specify both --union-add and --union-identical")
    if opts.require_hardlinks and force_copy:
        raise OstreeError("Cannot specify both --require-hardlinks and --force-copy")
    if opts.selinux_prefix and not opts.selinux_policy:
        raise OstreeError("Cannot specify --selinux-prefix without --selinux-policy")
    overwrite = OVERWRITE_NONE
    if opts.union:
        overwrite = OVERWRITE_UNION_FILES
    elif opts.union_add:
        overwrite = OVERWRITE_ADD_FILES
    elif opts.union_identical:
        if not opts.require_hardlinks:
            raise OstreeError("--union-identical requires --require-hardlinks")
        overwrite = OVERWRITE_UNION_IDENTICAL
    policy = _selinux_policy(opts.selinux_policy) if opts.selinux_policy else None
    skip = _read_skip_list(opts.skip_list) if opts.skip_list else None
    co = CheckoutOptions(mode=mode, overwrite=overwrite, subpath=subpath if subpath is not None else "/",
                         require_hardlinks=opts.require_hardlinks, force_copy=force_copy,
                         bareuseronly_dirs=opts.bareuseronly_dirs, process_whiteouts=opts.whiteouts,
                         process_passthrough_whiteouts=opts.process_passthrough_whiteouts,
                         enable_uncompressed_cache=False, skip=skip, selinux_policy=policy)
    with CountProgress(ctx, "Checking out") as progress:
        co.progress = progress if progress.enabled else None
        checkout_tree(repo, resolved, destination, co)


def _read_many(ctx, opts) -> bytes:
    if opts.from_stdin:
        stdin = ctx.stdin
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    try:
        with open(opts.from_file, "rb") as f:
            return f.read()
    except OSError as e:
        raise OstreeError(f"Error opening file {opts.from_file}: {e.strerror}") from None


def _many_checkouts(ctx, repo, opts, target: str) -> None:
    """--from-stdin/--from-file: NUL-separated REV, SUBPATH pairs, all into ``target``."""
    data = _read_many(ctx, opts)
    fields = data.split(b"\0")
    i = 0
    while i < len(fields):
        rev = fields[i].decode("utf-8", "surrogateescape")
        if not rev:
            break
        subpath = fields[i + 1].decode("utf-8", "surrogateescape") if i + 1 < len(fields) else None
        i += 2
        resolved = repo.resolve_rev(rev, False)
        try:
            _one_checkout(ctx, repo, opts, resolved, subpath, target)
        except OstreeError as e:
            raise OstreeError(f"Processing tree {resolved}: {e.message}", e.exit_code) from None
        except OSError as e:
            raise OstreeError(f"Processing tree {resolved}: {e.strerror}") from None


def run(ctx, opts, args):
    from ostree_py.util.text import parse_boolean
    repo = ctx.repo
    if opts.fsync is not None and not parse_boolean(opts.fsync):
        repo.fsync = False
    if not args:
        raise UsageError("COMMIT must be specified")
    if opts.from_stdin or opts.from_file:
        _many_checkouts(ctx, repo, opts, args[0])
        return 0
    commit = args[0]
    destination = args[1] if len(args) > 1 else commit
    resolved = repo.resolve_rev(commit, False)
    _one_checkout(ctx, repo, opts, resolved, opts.subpath, destination)
    return 0
