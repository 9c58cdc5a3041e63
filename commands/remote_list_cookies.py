"""``ostree remote list-cookies``: show the cookies of a remote's jar.

As in the reference, the jar ``NAME.cookies.txt`` is looked for in the
current directory, not in the repo (where add-cookie writes it).
"""

from ostree_py.errors import UsageError

USAGE = "NAME"
NEEDS_REPO = True


def run(ctx, opts, args):
    from ostree_py.remote import cookies
    if not args:
        raise UsageError("NAME must be specified")
    ctx.repo
    out = ctx.stdout
    for c in cookies.list_cookies(".", args[0]):
        out.write("--\n")
        out.write(f"Domain: {c.domain}\n")
        out.write(f"Path: {c.path}\n")
        out.write(f"Name: {c.name}\n")
        out.write(f"Secure: {c.secure}\n")
        expires = cookies.format_expires(c.expiration)
        if expires is not None:
            out.write(f"Expires: {expires}\n")
        out.write(f"Value: {c.value}\n")
    return 0
