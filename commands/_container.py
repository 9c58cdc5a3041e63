"""What the ``container`` commands share: labels, repositories named by argument,
layer progress lines."""

from ostree_py.errors import OstreeError, UsageError


def parse_labels(items) -> dict:
    """``KEY=VALUE`` strings as a dict (a later key wins); OstreeError without ``=``."""
    labels = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise OstreeError(f"Missing '=' in label {item}")
        labels[key] = value
    return labels


def open_repo_arg(ctx, path: str):
    """The repository named by a positional argument (``image pull REPO``)."""
    ctx.repo_path = path
    return ctx.repo


def require_args(ctx, args, names: str, n: int) -> None:
    """UsageError naming what is missing unless ``args`` holds at least ``n`` arguments."""
    if len(args) < n:
        ctx.stderr.write(ctx.help_text())
        missing = names.split()[len(args)]
        raise UsageError(f"{missing} must be specified")


def layer_progress(ctx):
    """The ``progress`` callback of store.pull_image: ostree-ext's lines, on a terminal only."""
    if not ctx.stdout_isatty:
        return None
    from ostree_py.util.text import format_size

    def progress(started, kind, layer):
        short = layer.digest[:19]
        if started:
            ctx.stdout.write(f"Fetching {kind} {short} ({format_size(layer.size)})\n")
        else:
            ctx.stdout.write(f"Fetched {kind} {short}\n")
        ctx.stdout.flush()
    return progress


