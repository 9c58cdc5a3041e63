"""``ostree remote gpg-import``: add GPG keys to a remote's keyring (REPO/NAME.trustedkeys.gpg)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import OstreeError, UsageError

USAGE = "NAME [KEY-ID...]"
NEEDS_REPO = True


def options(
    keyring: Annotated[list[str], typer.Option("--keyring", "-k", metavar="FILE", parser=filename,
        help="Import keys from a keyring file (repeatable)")] = [],
    stdin: Annotated[bool, typer.Option("--stdin", help="Import keys from standard input")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.signing import remote_gpg
    repo = ctx.repo
    if not args:
        raise UsageError("NAME must be specified")
    if opts.stdin and opts.keyring:
        raise UsageError("--keyring and --stdin are mutually exclusive")
    name = args[0]
    key_ids = args[1:] or None
    if opts.stdin:
        stdin = getattr(ctx.stdin, "buffer", ctx.stdin)
        data = stdin.read()
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
    else:
        chunks = []
        for path in opts.keyring:
            try:
                with open(path, "rb") as f:
                    chunks.append(f.read())
            except OSError as e:
                raise OstreeError(f"Error opening file {path}: {e.strerror}") from None
        data = b"".join(chunks)
    n = remote_gpg.import_keys(repo, name, data, key_ids)
    ctx.stdout.write(f'Imported {n} GPG key{"" if n == 1 else "s"} to remote "{name}"\n')
    return 0
