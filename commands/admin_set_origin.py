"""``ostree-py admin set-origin``: point a deployment's origin at REMOTENAME (added if missing)."""

from typing import Annotated

import typer

USAGE = "REMOTENAME URL [BRANCH]"
NEEDS_SYSROOT = True


def options(
    set: Annotated[list[str], typer.Option("--set", "-s", metavar="KEY=VALUE",
        help="Set config option KEY=VALUE for remote")] = [],
    index: Annotated[int | None, typer.Option("--index", metavar="INDEX",
        help="Operate on the deployment INDEX, starting from zero")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.core.objects import parse_refspec
    from ostree_py.sysroot import origin as _origin

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if len(args) < 2:
        raise UsageError("REMOTENAME and URL must be specified")
    remotename, url = args[0], args[1]
    branch = args[2] if len(args) > 2 else None
    repo = sr.repo
    index = -1 if opts.index is None else opts.index
    if index == -1:
        target = sr.require_booted_deployment()
    else:
        target = sr.indexed_deployment(index)
    options = {}
    for kv in opts.set:
        k, eq, v = kv.partition("=")
        if not eq:
            raise OstreeError(f"Missing '=' in KEY=VALUE pair '{kv}'")
        options[k] = v
    remotes.add_remote(repo, remotename, url, options, if_not_exists=True)
    refspec = _origin.get_refspec(target.origin)
    if refspec is None:
        raise OstreeError("Invalid refspec: (null)")
    _remote, ref = parse_refspec(refspec)
    sr.write_origin_file(target, _origin.new_from_refspec(f"{remotename}:{branch or ref}"))
    return 0
