"""``rpm-ostree-py help [COMMAND]``: the manual page of a command (or the command list)."""

USAGE = "[COMMAND...]"
NEEDS_SYSROOT = False


def run(ctx, opts, args):
    import os
    import shutil
    import subprocess

    from . import COMMANDS, program
    path = " ".join(args)
    if path and path not in COMMANDS:
        from ostree_py.errors import OstreeError
        raise OstreeError(f"Unknown command '{path}'")
    if not path:
        ctx.stdout.write(program().command_help(ctx, ""))
        return 0
    page = "rpm-ostree-py-" + path.replace(" ", "-")
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "..", "man", page + ".1"),):
        cand = os.path.normpath(cand)
        if os.path.isfile(cand) and shutil.which("man"):
            return subprocess.call(["man", "-l", cand])
    if shutil.which("man"):
        return subprocess.call(["man", page])
    ctx.stdout.write(program().command_help(ctx, path))
    return 0
