"""``ostree sign``: sign a commit with a sign-API engine (ed25519, dummy), or --verify it."""

from typing import Annotated

import typer

from ostree_py.errors import OstreeError, UsageError

USAGE = "COMMIT KEY-ID..."
NEEDS_REPO = True


def options(
    delete: Annotated[bool, typer.Option("--delete", "-d",
        help="Delete signatures having any of the KEY-IDs")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Verify signatures")] = False,
    sign_type: Annotated[str | None, typer.Option("--sign-type", "-s", metavar="NAME",
        help="Signature type to use (defaults to 'ed25519')")] = None,
    keys_file: Annotated[str | None, typer.Option("--keys-file", metavar="NAME", hidden=True,
        help="Read key(s) from file")] = None,
    keys_dir: Annotated[str | None, typer.Option("--keys-dir", metavar="NAME", hidden=True,
        help="Redefine system-wide directories with public and revoked keys for verification")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py import signing
    if not args:
        raise UsageError("Need a COMMIT to sign or verify")
    if not opts.verify and not opts.keys_file and len(args) < 2:
        raise UsageError("Need at least one KEY-ID to sign with")
    repo = ctx.repo
    checksum = repo.resolve_rev(args[0])
    key_ids = args[1:]
    sign = signing.get_by_name(opts.sign_type or signing.DEFAULT_SIGN_TYPE)
    out = ctx.stdout
    if opts.verify:
        for key in key_ids:
            try:
                sign.set_pk(key)
                message = signing.commit_verify(repo, sign, checksum)
            except OstreeError:
                continue
            out.write(message + "\n")
            return 0
        if not key_ids or opts.keys_file:
            sign.load_pk(filename=opts.keys_file, basedir=opts.keys_dir)
            message = signing.commit_verify(repo, sign, checksum)
            out.write(message + "\n")
            return 0
        raise OstreeError("No valid signatures found")
    for key in key_ids:
        sign.set_sk(key)
        signing.sign_commit(repo, sign, checksum)
    if opts.keys_file:
        from ostree_py.signing.ed25519 import read_key_file
        for line in read_key_file(opts.keys_file):
            sign.set_sk(line)
            signing.sign_commit(repo, sign, checksum)
    return 0
