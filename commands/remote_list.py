"""``ostree remote list``: the names (and URLs) of the repo's remotes, its parent's included."""

from typing import Annotated

import typer

USAGE = ""
NEEDS_REPO = True


def options(
    show_urls: Annotated[bool, typer.Option("--show-urls", "-u", help="Show remote URLs in list")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    repo = ctx.repo
    names = remotes.list_remotes(repo)
    out = ctx.stdout
    if opts.show_urls:
        width = max((len(n.encode("utf-8", "surrogateescape")) for n in names), default=0)
        for n in names:
            url = remotes.get_url(repo, n)
            pad = width - len(n.encode("utf-8", "surrogateescape"))
            out.write(f"{n}{' ' * pad}  {url}\n")
    else:
        for n in names:
            out.write(n + "\n")
    return 0
