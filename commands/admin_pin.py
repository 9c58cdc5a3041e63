"""``ostree-py admin pin``: keep deployments across upgrades (``-u`` to release them)."""

from typing import Annotated

import typer

USAGE = "INDEX"
NEEDS_SYSROOT = True


def options(
    unpin: Annotated[bool, typer.Option("--unpin", "-u", help="Unset pin")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import open_sysroot
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("INDEX must be specified")
    for text in args:
        # g_ascii_strtoull: optional leading spaces and sign, digits; anything after is an error
        s = text.lstrip(" \t\n\v\f\r")
        neg = s.startswith("-")
        if s[:1] in "+-" and s:
            s = s[1:]
        digits = len(s) - len(s.lstrip("0123456789"))
        if s[digits:] != "":
            raise OstreeError(f"Invalid index: {text}")
        value = int(s[:digits]) if digits else 0
        if value >= 2**64:
            raise OstreeError(f"Index too large: {text}")
        if neg and value:
            value = 2**64 - value
        index = value & 0xFFFFFFFF
        if index >= 2**31:
            index -= 2**32
        d = sr.indexed_deployment(index)
        desired = not opts.unpin
        if d.is_pinned == desired:
            ctx.stdout.write(f"Deployment {text} is already {'pinned' if desired else 'unpinned'}\n")
        else:
            sr.set_pinned(d, desired)
            ctx.stdout.write(f"Deployment {text} is now {'pinned' if desired else 'unpinned'}\n")
    return 0
