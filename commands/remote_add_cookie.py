"""``ostree remote add-cookie``: append a cookie to the remote's jar (REPO/NAME.cookies.txt)."""

from ostree_py.errors import UsageError

USAGE = "NAME DOMAIN PATH COOKIE_NAME VALUE"
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.remote import cookies
    if len(args) < 5:
        raise UsageError("NAME, DOMAIN, PATH, COOKIE_NAME and VALUE must be specified")
    cookies.add_cookie(ctx.repo.path, *args[:5])
    return 0
