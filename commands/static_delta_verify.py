"""``ostree static-delta verify DELTA [KEY-ID...]``: check a signed delta superblock."""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError

SUMMARY = "Verify static delta signatures"
USAGE = "STATIC-DELTA-FILE [KEY-ID...]"
NEEDS_REPO = True
OPTIONS = [
    Option("sign-type", kind="string", arg="NAME", help="Signature type to use (defaults to 'ed25519')"),
    # hidden: Debian's reference (no libsodium) does not list them in --help
    Option("keys-file", kind="string", arg="NAME", help="Read key(s) from file", hidden=True),
    Option("keys-dir", kind="string", arg="NAME", hidden=True,
           help="Redefine system-wide directories with public and revoked keys for verification"),
]


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
