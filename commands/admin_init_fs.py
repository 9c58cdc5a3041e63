"""``ostree-py admin init-fs``: create the top-level layout of a new root filesystem."""

from typing import Annotated

import typer

USAGE = "PATH"
NEEDS_SYSROOT = True


def options(
    modern: Annotated[bool, typer.Option("--modern", help="Only create /boot and /ostree")] = False,
    epoch: Annotated[int | None, typer.Option("--epoch", "-E",
        help="An integer value, defines initial state.  Must be in the range [0-1], inclusive.")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    import os

    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.sysroot import Sysroot
    if not args:
        raise UsageError("PATH must be specified")
    path = args[0]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        os.close(fd)
    except OSError as e:
        raise OstreeError(f"opendir({path}): {os.strerror(e.errno)}") from None
    os.makedirs(os.path.join(path, "boot"), 0o755, exist_ok=True)
    # ostree 2024.x's --epoch: 0 the traditional top-level directories, 1 (= --modern) only
    # boot and ostree, 2 as 1 with ostree 0700 (no access for unprivileged code)
    epoch = opts.epoch or 0
    if epoch < 0:
        raise OstreeError(f"Invalid epoch: {epoch}")
    if opts.modern and epoch == 0:
        epoch = 1
    if epoch == 0:
        for d in ("boot", "dev", "home", "proc", "run", "sys"):
            os.makedirs(os.path.join(path, d), 0o755, exist_ok=True)
        os.makedirs(os.path.join(path, "root"), 0o700, exist_ok=True)
        os.makedirs(os.path.join(path, "tmp"), 0o1777, exist_ok=True)
        try:
            os.chmod(os.path.join(path, "tmp"), 0o1777)
        except OSError as e:
            raise OstreeError(f"chmod: tmp: {os.strerror(e.errno)}") from None
    elif epoch == 2:
        os.makedirs(os.path.join(path, "ostree"), 0o700, exist_ok=True)
    Sysroot(path, ctx.environ).ensure_initialized()
    return 0
