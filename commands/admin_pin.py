"""``ostree-py admin pin``: keep deployments across upgrades (``-u`` to release them); INDEX is a
number or (ostree 2024.x) ``booted``, ``pending`` or ``rollback``."""

from typing import Annotated

import typer

USAGE = "INDEX"
NEEDS_SYSROOT = True


def options(
    unpin: Annotated[bool, typer.Option("--unpin", "-u", help="Unset pin")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _deployment_type_index(sr, name: str) -> int:
    """ostree 2024.x: ``booted``, ``pending`` or ``rollback`` for that deployment's index
    (pending and rollback relative to the booted one); -1 when there is none."""
    booted = sr.booted_deployment
    if booted is None:
        return -1
    if name == "booted":
        return booted.index
    pending, rollback = sr.query_deployments_for(None)
    target = pending if name == "pending" else rollback
    return target.index if target is not None else -1


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError

    from ._sysroot import c_int, open_sysroot, parse_strtoull_index
    sr = open_sysroot(ctx, opts)
    if not args:
        raise UsageError("INDEX must be specified")
    for text in args:
        if text in ("booted", "pending", "rollback"):
            index = _deployment_type_index(sr, text)
            if index < 0:
                raise OstreeError(f"Deployment type not found: {text}")
        else:
            value, overflow = parse_strtoull_index(text)
            if overflow:
                raise OstreeError(f"Index too large: {text}")
            index = value - 2**64 if value >= 2**63 else value   # ostree's gint64
        # ot_admin_get_indexed_deployment takes a C int
        d = sr.indexed_deployment(c_int(index))
        # ostree 2024.x prints the index it read (2022.7 echoed the argument as typed)
        desired = not opts.unpin
        if d.is_pinned == desired:
            ctx.stdout.write(f"Deployment {index} is already {'pinned' if desired else 'unpinned'}\n")
        else:
            sr.set_pinned(d, desired)
            ctx.stdout.write(f"Deployment {index} is now {'pinned' if desired else 'unpinned'}\n")
    return 0
