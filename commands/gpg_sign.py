"""``ostree gpg-sign``: add (or with --delete remove) GPG signatures on a commit."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import UsageError

USAGE = "COMMIT KEY-ID..."
NEEDS_REPO = True


def options(
    delete: Annotated[bool, typer.Option("--delete", "-d",
        help="Delete signatures having any of the GPG KEY-IDs")] = False,
    gpg_homedir: Annotated[str | None, typer.Option("--gpg-homedir", metavar="HOMEDIR", parser=filename,
        help="GPG Homedir to use when looking for keyrings")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    if not args:
        raise UsageError("Need a COMMIT to sign")
    if len(args) < 2:
        raise UsageError("Need at least one GPG KEY-ID to sign with")
    from ostree_py.signing import gpg
    repo = ctx.repo
    checksum = repo.resolve_rev(args[0])
    key_ids = args[1:]
    if opts.delete:
        n = gpg.delete_signatures(repo, checksum, key_ids)
        ctx.stdout.write(f"Signatures deleted: {n}\n")
        return 0
    for key_id in key_ids:
        gpg.sign_commit(repo, checksum, key_id, opts.gpg_homedir)
    return 0
