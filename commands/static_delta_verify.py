"""``ostree static-delta verify DELTA [KEY-ID...]``: check a signed delta superblock."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError

USAGE = "STATIC-DELTA-FILE [KEY-ID...]"
NEEDS_REPO = True


def options(
    sign_type: Annotated[str | None, typer.Option("--sign-type", metavar="NAME",
        help="Signature type to use (defaults to 'ed25519')")] = None,
    keys_file: Annotated[str | None, typer.Option("--keys-file", metavar="NAME", hidden=True,
        help="Read key(s) from file")] = None,
    keys_dir: Annotated[str | None, typer.Option("--keys-dir", metavar="NAME", hidden=True,
        help="Redefine system-wide directories with public and revoked keys for verification")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.deltas import verify_delta_signature
    from .static_delta_apply_offline import load_verifier
    if not args:
        raise OstreeError("DELTA must be specified")
    try:
        sign = load_verifier(opts, args[1:], required=True)
    except OstreeError as e:
        if e.message == "Requested signature type is not implemented":
            ctx.stdout.write("Sign-type not supported\n")
        raise
    try:
        verify_delta_signature(ctx.repo, args[0], sign)
    except OstreeError:
        ctx.stdout.write("Verification fails\n")
        raise
    ctx.stdout.write("Verification OK\n")
    return 0
