"""``ostree static-delta apply-offline PATH [KEY-ID...]``: apply a delta from a directory or superblock file."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError

USAGE = ""
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


def load_verifier(opts, key_ids, required: bool):
    """The sign engine with its public keys, as apply-offline and verify set it up.

    Without KEY-IDs (or with --keys-file) keys are loaded from --keys-file,
    --keys-dir or the system directories; when none of those were asked for
    and none load, apply-offline goes on without an engine (``required`` False).
    """
    try:
        from ostree_py import signing
    except ImportError:  # a build without the sign API: as the reference without libsodium
        if required or opts.sign_type is not None:
            raise OstreeError("Requested signature type is not implemented") from None
        return None
    sign = signing.get_by_name(opts.sign_type if opts.sign_type is not None else signing.DEFAULT_SIGN_TYPE)
    for key in key_ids:
        sign.add_pk(key)
    if not key_ids or opts.keys_file:
        try:
            sign.load_pk(filename=opts.keys_file, basedir=opts.keys_dir)
        except OstreeError:
            if required or opts.keys_dir or opts.keys_file:
                raise
            return None
    return sign


def run(ctx, opts, args):
    from ostree_py.deltas.apply import apply_offline
    repo = ctx.repo
    if not args:
        raise OstreeError("PATH must be specified")
    sign = load_verifier(opts, args[1:], required=False)
    with repo.transaction():
        apply_offline(repo, args[0], sign)
    return 0
