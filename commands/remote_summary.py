"""``ostree remote summary``: fetch a remote's summary and show it like ``summary --view``.

``--list-metadata-keys`` / ``--print-metadata-key=KEY`` (ostree 2023.x) print its metadata keys or one value.
"""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import OstreeError, UsageError

USAGE = "NAME"
NEEDS_REPO = True


def options(
    list_metadata_keys: Annotated[bool, typer.Option("--list-metadata-keys",
        help="List the available metadata keys")] = False,
    print_metadata_key: Annotated[str | None, typer.Option("--print-metadata-key", metavar="KEY",
        help="Print string value of metadata key")] = None,
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", parser=filename,
        help="Use custom cache dir")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Show raw variant data")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.remote.pull import fetch_summary
    from ostree_py.repo import remotes
    from ostree_py.ops.dump import summary_metadata_key_text, summary_metadata_keys_text, summary_text
    repo = ctx.repo
    if not args:
        raise UsageError("NAME must be specified")
    name = args[0]
    summary, signatures = fetch_summary(repo, name, cache_dir=opts.cache_dir)
    if summary is None:
        raise OstreeError("Remote server has no summary file")
    if opts.list_metadata_keys:
        ctx.stdout.write(summary_metadata_keys_text(summary))
        return 0
    if opts.print_metadata_key is not None:
        ctx.stdout.write(summary_metadata_key_text(summary, opts.print_metadata_key))
        return 0
    ctx.stdout.write(summary_text(summary, raw=opts.raw))
    # then the summary's GPG signatures (verified already by fetch_summary) when
    # the remote has gpg-verify-summary=true, after a blank line, as the reference
    if signatures is not None and not opts.raw and remotes.get_remote(repo, name).gpg_verify_summary:
        from ostree_py.signing import gpg
        result = gpg.verify_summary_result(repo, name, summary, signatures)
        ctx.stdout.write("\n" + gpg.verify_result_text(result))
    return 0
