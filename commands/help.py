"""``ostree-py help [COMMAND...]``: show a command's manual page.

On a terminal the page is opened with ``man -l``; otherwise it is printed
(formatted by man when it is installed, else as roff source), so
``ostree-py help commit | less`` and scripts work too.
"""

USAGE = "[COMMAND...]"


def man_page_path(args) -> str | None:
    """The file of the page for command path ``args`` ([] for the main page), or None."""
    import os
    import sys
    name = "-".join(["ostree-py"] + list(args)) + ".1"
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(os.path.dirname(here), "man"),             # source tree
              os.path.join(sys.prefix, "share", "man", "man1")):      # installed
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return None


def run(ctx, opts, args):
    import shutil
    import subprocess
    from ostree_py.errors import OstreeError

    path = man_page_path(args)
    if path is None:
        raise OstreeError("No manual entry for " + "-".join(["ostree-py"] + list(args)))
    man = shutil.which("man")
    if ctx.stdout_isatty and man:
        return subprocess.call([man, "-l", path])
    if man:
        env = dict(ctx.environ, MANPAGER="cat", PAGER="cat", MAN_KEEP_FORMATTING="")
        out = subprocess.run([man, "-l", path], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=False).stdout
        if out:
            ctx.stdout.write(out.decode("utf-8", "surrogateescape"))
            return 0
    with open(path, encoding="utf-8") as f:
        ctx.stdout.write(f.read())
    return 0
