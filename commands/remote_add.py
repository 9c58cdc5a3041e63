"""``ostree remote add``: add a remote to the repo config (or remotes.d for the system repo)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import OstreeError, UsageError

USAGE = "NAME [metalink=|mirrorlist=]URL [BRANCH...]"
NEEDS_REPO = False


def options(
    set: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE",
        help="Set config option KEY=VALUE for remote")] = [],
    no_gpg_verify: Annotated[bool, typer.Option("--no-gpg-verify", help="Disable GPG verification")] = False,
    no_sign_verify: Annotated[bool, typer.Option("--no-sign-verify",
        help="Disable signature verification")] = False,
    sign_verify: Annotated[list[str], typer.Option("--sign-verify", metavar="KEYTYPE=[inline|file]:PUBKEY",
        help="Verify signatures using KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key")] = [],
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists",
        help="Do nothing if the provided remote exists")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the provided remote if it exists")] = False,
    gpg_import: Annotated[str | None, typer.Option("--gpg-import", metavar="FILE", parser=filename,
        help="Import GPG key from FILE")] = None,
    custom_backend: Annotated[str | None, typer.Option("--custom-backend", metavar="NAME",
        help="This remote has content not fetched via libostree")] = None,
    contenturl: Annotated[str | None, typer.Option("--contenturl", metavar="URL",
        help="Use URL when fetching content")] = None,
    collection_id: Annotated[str | None, typer.Option("--collection-id", metavar="COLLECTION-ID",
        help="Globally unique ID for this repository as an collection of refs for redistribution to other repositories")] = None,
    repo: Annotated[str | None, typer.Option("--repo", metavar="PATH", parser=filename,
        help="Path to OSTree repository (defaults to /sysroot/ostree/repo)")] = None,
    sysroot: Annotated[str | None, typer.Option("--sysroot", metavar="PATH", parser=filename,
        help="Use sysroot at PATH (overrides --repo)")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


# Signature types this build can verify, as in the reference build (no libsodium: no ed25519).
SIGN_TYPES = ("ed25519", "dummy")  # the signing engines ostree_py.signing has


def open_repo_or_sysroot(ctx, opts):
    """ostree_parse_sysroot_or_repo_option: --sysroot's repo, else --repo (or the default)."""
    if opts.sysroot is not None:
        from ostree_py.sysroot import open_sysroot_repo
        return open_sysroot_repo(opts.sysroot)
    from ostree_py.commands._cli import resolve_repo_path
    ctx.repo_path = resolve_repo_path(ctx, opts.repo)
    return ctx.repo


def _sign_verify_option(options: dict, keyspec: str) -> str:
    keytype, eq, rest = keyspec.partition("=")
    if not eq:
        raise OstreeError(f"Failed to parse KEYTYPE=[inline|file]:DATA in {keyspec}")
    if keytype not in SIGN_TYPES:
        raise OstreeError("Requested signature type is not implemented")
    keyref, colon, data = rest.partition(":")
    if keyref == "inline":
        optname = f"verification-{keytype}-key"
    elif keyref == "file":
        optname = f"verification-{keytype}-file"
    else:
        raise OstreeError(f"Invalid key reference {keyref}, expected inline|file")
    if not colon:
        raise OstreeError(f"Failed to parse KEYTYPE=[inline|file]:DATA in {keyspec}")
    options[optname] = data
    return keytype


def run(ctx, opts, args):
    from ostree_py.repo import remotes
    repo = open_repo_or_sysroot(ctx, opts)
    url = None
    if opts.custom_backend is not None:
        if len(args) < 1:
            raise UsageError("NAME must be specified")
        if len(args) >= 2:
            url = args[1]
    else:
        if len(args) < 2:
            raise UsageError("NAME and URL must be specified")
        url = args[1]
    name = args[0]
    if opts.if_not_exists and opts.force:
        raise UsageError("Can only specify one of --if-not-exists and --force")

    options: dict = {}
    if len(args) > 2:
        options["branches"] = list(args[2:])
    if opts.contenturl is not None:
        options["contenturl"] = opts.contenturl
    if opts.custom_backend is not None:
        options["custom-backend"] = opts.custom_backend
    for kv in opts.set:
        key, eq, value = kv.partition("=")
        if not eq:
            raise OstreeError("Missing '=' in KEY=VALUE for --set")
        if not key:
            continue  # GLib refuses an empty key name (with a warning) and goes on
        options[key] = value
    if opts.no_gpg_verify or opts.no_sign_verify:
        options["gpg-verify"] = False
    if opts.no_sign_verify:
        if opts.sign_verify:
            raise OstreeError("Cannot specify both --sign-verify and --no-sign-verify")
        options["sign-verify"] = False
    types = [_sign_verify_option(options, spec) for spec in opts.sign_verify]
    if types:
        options["sign-verify"] = ",".join(types)
    if opts.collection_id is not None:
        options["collection-id"] = opts.collection_id

    remotes.add_remote(repo, name, url, options, if_not_exists=opts.if_not_exists, force=opts.force)
    if opts.gpg_import is not None:
        from ostree_py.signing.remote_gpg import import_keys_from
        imported = import_keys_from(repo, name, opts.gpg_import)
        ctx.stdout.write(f'Imported {imported} GPG key{"" if imported == 1 else "s"} to remote "{name}"\n')
    return 0
