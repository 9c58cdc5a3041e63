"""``ostree-py admin``: the group of commands managing a booted ostree system."""

USAGE = "--print-current-dir|COMMAND"
NEEDS_SYSROOT = True
COMMAND_LIST_WIDTH = 19


def run(ctx, opts, args):
    """``admin`` without a subcommand: act on --print-current-dir, else fall through."""
    if opts.print_current_dir:
        return print_current_dir(ctx, opts)
    return None


def print_current_dir(ctx, opts) -> int:
    """Print the checkout directory of the booted deployment (--print-current-dir).

    Every admin command accepts the (hidden) option and does this instead of
    its own work, as the reference does.
    """
    from ostree_py.sysroot import current_deployment_dir
    ctx.stdout.write(current_deployment_dir(ctx.sysroot_path) + "\n")
    return 0
