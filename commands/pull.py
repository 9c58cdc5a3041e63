"""``ostree-py pull``: download data from a remote repository."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "REMOTE [BRANCH...]"
NEEDS_REPO = True


def options(
    commit_metadata_only: Annotated[bool, typer.Option("--commit-metadata-only",
        help="Fetch only the commit metadata")] = False,
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", parser=filename,
        help="Use custom cache dir")] = None,
    disable_fsync: Annotated[bool, typer.Option("--disable-fsync", help="Do not invoke fsync()")] = False,
    per_object_fsync: Annotated[bool, typer.Option("--per-object-fsync",
        help="Perform writes in such a way that avoids stalling concurrent processes")] = False,
    disable_static_deltas: Annotated[bool, typer.Option("--disable-static-deltas",
        help="Do not use static deltas")] = False,
    require_static_deltas: Annotated[bool, typer.Option("--require-static-deltas",
        help="Require static deltas")] = False,
    disable_retry_on_network_errors: Annotated[bool, typer.Option("--disable-retry-on-network-errors",
        help="Do not retry when network issues happen, instead fail automatically. (Currently only affects libcurl)")] = False,
    mirror: Annotated[bool, typer.Option("--mirror",
        help="Write refs suitable for a mirror and fetches all refs if none provided")] = False,
    subpath: Annotated[list[str], typer.Option("--subpath", parser=filename,
        help="Only pull the provided subpath(s)")] = [],
    untrusted: Annotated[bool, typer.Option("--untrusted",
        help="Verify checksums of local sources (always enabled for HTTP pulls)")] = False,
    http_trusted: Annotated[bool, typer.Option("--http-trusted",
        help="Do not verify checksums of HTTP sources (mostly useful when mirroring)")] = False,
    bareuseronly_files: Annotated[bool, typer.Option("--bareuseronly-files",
        help="Reject regular files with mode outside of 0775 (world writable, suid, etc.)")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run",
        help="Only print information on what will be downloaded (requires static deltas)")] = False,
    depth: Annotated[int | None, typer.Option("--depth", metavar="DEPTH",
        help="Traverse DEPTH parents (-1=infinite) (default: 0)")] = None,
    url: Annotated[str | None, typer.Option("--url", metavar="URL",
        help="Pull objects from this URL instead of the one from the remote config")] = None,
    http_header: Annotated[list[str], typer.Option("--http-header", metavar="NAME=VALUE",
        help="Add NAME=VALUE as HTTP header to all requests")] = [],
    update_frequency: Annotated[int | None, typer.Option("--update-frequency", metavar="FREQUENCY",
        help="Sets the update frequency, in milliseconds (0=1000ms) (default: 0)")] = None,
    network_retries: Annotated[int | None, typer.Option("--network-retries", metavar="N",
        help="Specifies how many times each download should be retried upon error (default: 5)")] = None,
    low_speed_limit_bytes: Annotated[int | None, typer.Option("--low-speed-limit-bytes", metavar="N",
        help="The average transfer speed per second of a transfer during the time set via 'low-speed-time-seconds' for libcurl to abort(default: 1000)")] = None,
    low_speed_time_seconds: Annotated[int | None, typer.Option("--low-speed-time-seconds", metavar="N",
        help="The time in number seconds that the transfer speed should be below the 'low-speed-limit-bytes' setting for libcurl to abort (default: 30)")] = None,
    max_outstanding_fetcher_requests: Annotated[int | None, typer.Option("--max-outstanding-fetcher-requests", metavar="N",
        help="The max amount of concurrent connections allowed. (default: 8)")] = None,
    localcache_repo: Annotated[list[str], typer.Option("--localcache-repo", "-L", metavar="REPO", parser=filename,
        help="Add REPO as local cache source for objects during this pull")] = [],
    timestamp_check: Annotated[bool, typer.Option("--timestamp-check", "-T",
        help="Require fetched commits to have newer timestamps")] = False,
    timestamp_check_from_rev: Annotated[str | None, typer.Option("--timestamp-check-from-rev",
        help="Require fetched commits to have newer timestamps than given rev")] = None,
    disable_verify_bindings: Annotated[bool, typer.Option("--disable-verify-bindings",
        help="Do not verify commit bindings")] = False,
    append_user_agent: Annotated[str | None, typer.Option("--append-user-agent", hidden=True,
        help="Append string to user agent")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _fetcher_options(opts) -> dict:
    """pull()'s arguments for the fetcher options of ostree 2023.7+: a negative number
    (as an absent option) leaves the default; 0 turns the low-speed check off, as in curl."""
    kw = {}
    if opts.low_speed_limit_bytes is not None and opts.low_speed_limit_bytes >= 0:
        kw["low_speed_limit"] = opts.low_speed_limit_bytes
    if opts.low_speed_time_seconds is not None and opts.low_speed_time_seconds >= 0:
        kw["low_speed_time"] = opts.low_speed_time_seconds
    if opts.max_outstanding_fetcher_requests is not None and opts.max_outstanding_fetcher_requests >= 0:
        kw["max_outstanding"] = opts.max_outstanding_fetcher_requests
    if opts.disable_retry_on_network_errors:
        kw["retry_network_errors"] = False
    return kw


class _TtyProgress:
    """A rich progress line on a terminal (objects, bytes, rate), imported only when used."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.bar = None
        self.task = None

    def __call__(self, p):
        from ostree_py.util.text import format_size
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.fields[detail]}"),
                                console=Console(file=self.ctx.stdout), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("Receiving", total=None, detail="")
        import time
        elapsed = time.monotonic() - p.start_time
        rate = format_size(int(p.bytes_transferred / elapsed)) + "/s" if elapsed >= 1 else "-/s"
        if p.outstanding_fetches and (p.scanning or p.outstanding_metadata_fetches):
            desc, total, done = f"Receiving metadata objects: {p.metadata_fetched}", None, 0
        elif p.outstanding_fetches:
            desc, total, done = f"Receiving objects: {p.fetched}/{p.requested}", p.requested or None, p.fetched
        elif p.outstanding_writes:
            desc, total, done = f"Writing objects: {p.outstanding_writes}", None, 0
        else:
            desc, total, done = f"Scanning metadata: {p.scanned_metadata}", None, 0
        self.bar.update(self.task, description=desc, total=total, completed=done,
                        detail=f"{rate} {format_size(p.bytes_transferred)}")

    def close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def run(ctx, opts, args):
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.core.objects import parse_refspec, validate_checksum_string
    if len(args) < 1:
        raise UsageError("REMOTE must be specified")
    if opts.dry_run and not opts.require_static_deltas:
        raise OstreeError("--dry-run requires --require-static-deltas")
    refs = None
    overrides = None
    if ":" not in args[0]:
        remote = args[0]
        if len(args) > 1:
            refs = []
            for i, a in enumerate(args[1:]):
                at = a.rfind("@")
                if at >= 0:
                    commit = a[at + 1:]
                    validate_checksum_string(commit)
                    if overrides is None:
                        overrides = [""] * i
                    overrides.append(commit)
                    refs.append(a[:at])
                else:
                    refs.append(a)
                    if overrides is not None:
                        overrides.append("")
    else:
        remote, ref = parse_refspec(args[0])
        refs = [ref]
    headers = []
    for kv in opts.http_header:
        if "=" not in kv:
            raise OstreeError("Missing '=' in --http-header")
        k, _, v = kv.partition("=")
        headers.append((k, v))
    depth = 0 if opts.depth is None else opts.depth
    if depth < -1:
        raise OstreeError(f"Invalid depth {depth}")
    retries = opts.network_retries
    from ostree_py.remote.pull import DEFAULT_N_NETWORK_RETRIES, pull
    if retries is None or retries < 0:
        retries = DEFAULT_N_NETWORK_RETRIES
    progress = _TtyProgress(ctx) if ctx.stdout_isatty and not opts.dry_run else None
    try:
        result = pull(ctx.repo, remote, refs, override_commit_ids=overrides, mirror=opts.mirror,
                      commit_metadata_only=opts.commit_metadata_only, subdirs=opts.subpath or None,
                      depth=depth, untrusted=opts.untrusted, http_trusted=opts.http_trusted,
                      bareuseronly_files=opts.bareuseronly_files,
                      disable_static_deltas=opts.disable_static_deltas,
                      require_static_deltas=opts.require_static_deltas, dry_run=opts.dry_run,
                      override_url=opts.url, http_headers=headers, append_user_agent=opts.append_user_agent,
                      n_network_retries=retries, localcache_repos=opts.localcache_repo,
                      timestamp_check=opts.timestamp_check,
                      timestamp_check_from_rev=opts.timestamp_check_from_rev,
                      disable_verify_bindings=opts.disable_verify_bindings,
                      per_object_fsync=opts.per_object_fsync, disable_fsync=opts.disable_fsync,
                      cache_dir=opts.cache_dir, progress=progress,
                      update_frequency=opts.update_frequency or 0,
                      **_fetcher_options(opts))
    finally:
        if progress is not None:
            progress.close()
    if opts.dry_run:
        from ostree_py.remote.pull import dry_run_status
        ctx.stdout.write(dry_run_status(result) + "\n")
    else:
        ctx.stdout.write(result.status() + "\n")
    return 0
