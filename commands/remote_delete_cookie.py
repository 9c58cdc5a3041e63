"""``ostree remote delete-cookie``: remove a cookie from the remote's jar."""

from ostree_py.errors import UsageError

USAGE = "NAME DOMAIN PATH COOKIE_NAME"
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.remote import cookies
    if len(args) < 4:
        raise UsageError("NAME, DOMAIN, PATH and COOKIE_NAME must be specified")
    cookies.delete_cookie(ctx.repo.path, *args[:4])
    return 0
