"""``ostree remote refs``: the refs a remote's summary lists, as REMOTE:REF."""

from ostree_py.commands._cli import Option
from ostree_py.errors import UsageError

SUMMARY = "List remote refs"
USAGE = "NAME"
NEEDS_REPO = True
OPTIONS = [
    Option("cache-dir", kind="filename", help="Use custom cache dir"),
]


def run(ctx, opts, args):
    from ostree_py.remote.pull import list_remote_refs
    repo = ctx.repo
    if not args:
        raise UsageError("NAME must be specified")
    name = args[0]
    refs = list_remote_refs(repo, name, cache_dir=opts.cache_dir)
    out = ctx.stdout
    for ref in sorted(refs, key=lambda s: s.encode("utf-8", "surrogateescape")):
        out.write(f"{name}:{ref}\n")
    return 0
