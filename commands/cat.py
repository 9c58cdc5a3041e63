"""``ostree cat``: write the contents of files in a commit to stdout."""

from ostree_py.errors import UsageError

USAGE = "COMMIT PATH..."
NEEDS_REPO = True

_CHUNK = 256 * 1024


def run(ctx, opts, args):
    from ostree_py.repo.repofile import RepoFile
    if len(args) < 2:
        raise UsageError("A COMMIT and at least one PATH argument are required")
    repo = ctx.repo
    root = RepoFile.root(repo, repo.resolve_rev(args[0]))
    out = getattr(ctx.stdout, "buffer", None)
    if out is not None:
        ctx.stdout.flush()
    for path in args[1:]:
        stream = root.resolve_path(path).open()
        try:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                if out is not None:
                    out.write(chunk)
                else:
                    ctx.stdout.write(chunk.decode("utf-8", "surrogateescape"))
        finally:
            stream.close()
    if out is not None:
        out.flush()
    return 0
