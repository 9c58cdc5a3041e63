"""``ostree gpg-sign``: add (or with --delete remove) GPG signatures on a commit."""

from ostree_py.commands._cli import Option
from ostree_py.errors import UsageError

SUMMARY = "Sign a commit"
USAGE = "COMMIT KEY-ID..."
NEEDS_REPO = True
OPTIONS = [
    Option("delete", "d", help="Delete signatures having any of the GPG KEY-IDs"),
    Option("gpg-homedir", kind="filename", arg="HOMEDIR", help="GPG Homedir to use when looking for keyrings"),
]


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
