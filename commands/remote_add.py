"""``ostree remote add``: add a remote to the repo config (or remotes.d for the system repo)."""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError, UsageError

SUMMARY = "Add a remote repository"
USAGE = "NAME [metalink=|mirrorlist=]URL [BRANCH...]"
NEEDS_REPO = False
OPTIONS = [
    Option("set", kind="string-array", arg="KEY=VALUE", help="Set config option KEY=VALUE for remote"),
    Option("no-gpg-verify", help="Disable GPG verification"),
    Option("no-sign-verify", help="Disable signature verification"),
    Option("sign-verify", kind="string-array", arg="KEYTYPE=[inline|file]:PUBKEY",
           help="Verify signatures using KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key"),
    Option("if-not-exists", help="Do nothing if the provided remote exists"),
    Option("force", help="Replace the provided remote if it exists"),
    Option("gpg-import", kind="filename", arg="FILE", help="Import GPG key from FILE"),
    Option("custom-backend", kind="string", arg="NAME", help="This remote has content not fetched via libostree"),
    Option("contenturl", kind="string", arg="URL", help="Use URL when fetching content"),
    Option("collection-id", kind="string", arg="COLLECTION-ID",
           help="Globally unique ID for this repository as an collection of refs for "
                "redistribution to other repositories"),
    Option("repo", kind="filename", arg="PATH",
           help="Path to OSTree repository (defaults to /sysroot/ostree/repo)"),
    Option("sysroot", kind="filename", arg="PATH", help="Use sysroot at PATH (overrides --repo)"),
]

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
