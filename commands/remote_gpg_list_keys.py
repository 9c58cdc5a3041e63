"""``ostree remote gpg-list-keys``: the GPG keys trusted for a remote (or, without NAME, globally)."""

from ostree_py.errors import OstreeError

USAGE = "NAME"
NEEDS_REPO = True


def format_local_time(ts: int) -> str:
    """A timestamp in local time, in the locale's preferred form (GLib's "%c")."""
    import datetime
    import locale
    import time
    try:
        datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise OstreeError(f"Invalid timestamp: {ts}") from None
    try:
        locale.setlocale(locale.LC_TIME, "")
    except locale.Error:
        pass
    return time.strftime("%c", time.localtime(ts))


def _dump_subkey(out, sub, primary: bool):
    flags = (" (revoked)" if sub.revoked else "") + (" (invalid)" if sub.invalid else "")
    out.write(f"{'Key' if primary else '  Subkey'}: {sub.fingerprint}{flags}\n")
    indent = "  " if primary else "    "
    out.write(f"{indent}Created: {format_local_time(sub.created)}\n")
    if sub.expires > 0:
        out.write(f"{indent}{'Expired' if sub.expired else 'Expires'}: {format_local_time(sub.expires)}\n")


def dump_key(out, key) -> None:
    """ot_dump_gpg_key: the primary key, its user ids, then its subkeys."""
    _dump_subkey(out, key.subkeys[0], True)
    for uid in key.uids:
        flags = (" (revoked)" if uid.revoked else "") + (" (invalid)" if uid.invalid else "")
        out.write(f"  UID: {uid.uid}{flags}\n")
        out.write(f"  Advanced update URL: {uid.advanced_url or ''}\n")
        out.write(f"  Direct update URL: {uid.direct_url or ''}\n")
    for sub in key.subkeys[1:]:
        _dump_subkey(out, sub, False)


def run(ctx, opts, args):
    from ostree_py.signing import remote_gpg
    name = args[0] if args else None
    keys = remote_gpg.list_keys(ctx.repo, name, environ=ctx.environ)
    for key in keys:
        if key.subkeys:
            dump_key(ctx.stdout, key)
    return 0
