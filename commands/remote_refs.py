"""``ostree remote refs``: the refs a remote's summary lists, as REMOTE:REF
(``-r``, ostree 2023.x: REMOTE:REF<TAB>CHECKSUM)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import UsageError

USAGE = "NAME"
NEEDS_REPO = True


def options(
    revision: Annotated[bool, typer.Option("--revision", "-r", help="Show revisions in listing")] = False,
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", parser=filename,
        help="Use custom cache dir")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.remote.pull import list_remote_refs
    repo = ctx.repo
    if not args:
        raise UsageError("NAME must be specified")
    name = args[0]
    refs = list_remote_refs(repo, name, cache_dir=opts.cache_dir)
    out = ctx.stdout
    for ref in sorted(refs, key=lambda s: s.encode("utf-8", "surrogateescape")):
        out.write(f"{name}:{ref}\t{refs[ref]}\n" if opts.revision else f"{name}:{ref}\n")
    return 0
