"""``ostree find-remotes``: find remotes (and mounted repositories) serving collection refs."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "COLLECTION-ID REF [COLLECTION-ID REF...]"
NEEDS_REPO = True


def options(
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", parser=filename,
        help="Use custom cache dir")] = None,
    disable_fsync: Annotated[bool, typer.Option("--disable-fsync", help="Do not invoke fsync()")] = False,
    finders: Annotated[str | None, typer.Option("--finders", metavar="FINDERS",
        help="Use the specified comma separated list of finders (e.g. config,lan,mount)")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Pull the updates after finding them")] = False,
    mirror: Annotated[bool, typer.Option("--mirror",
        help="Do a mirror pull (see ostree pull --mirror)")] = False,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _avahi_warning(ctx):
    """The reference's warning when its LAN finder cannot reach an Avahi daemon."""
    import os
    import time
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
    ctx.stderr.write(f"\n({ctx.prog} find-remotes:{os.getpid()}): OSTree-WARNING **: {stamp}: "
                     "Avahi finder failed; removing it: Avahi daemon is not running: Daemon not running\n")


def run(ctx, opts, args):
    from ostree_py.remote import repo_finder
    from ostree_py.errors import OstreeError, UsageError
    from ostree_py.core.objects import validate_collection_id, validate_ref
    if len(args) < 2:
        raise UsageError("At least one COLLECTION-ID REF pair must be specified")
    if len(args) % 2 == 1:
        raise UsageError("Only complete COLLECTION-ID REF pairs may be specified")
    if opts.mirror and not opts.pull:
        raise UsageError("When --mirror is specified, --pull must also be")
    repo = ctx.repo
    if opts.disable_fsync:
        repo.fsync = False
    if opts.cache_dir is not None:
        import os
        if not os.path.isdir(opts.cache_dir):
            raise OstreeError(f"opendir({opts.cache_dir}): No such file or directory")
    refs = []
    for i in range(0, len(args), 2):
        validate_collection_id(args[i])
        validate_ref(args[i + 1])
        refs.append((args[i], args[i + 1]))
    finders = None
    if opts.finders is not None:
        finders = repo_finder.validate_finders(opts.finders.split(","))
        if "lan" in finders:
            # No Avahi here: the finder is dropped as the reference drops it
            # when the daemon is not running.
            _avahi_warning(ctx)
            finders = [f for f in finders if f != "lan"]
    results = repo_finder.find_remotes(repo, refs, finders, cache_dir=opts.cache_dir)
    out = ctx.stdout
    found = set()
    for i, res in enumerate(results):
        lines = []
        for ref, csum in res.ref_to_checksum.items():
            lines.append(f"    - ({ref[0]}, {ref[1]}) = {csum if csum is not None else '(not found)'}\n")
            if csum is not None:
                found.add(ref)
        lm = repo_finder.iso8601(res.summary_last_modified) if res.summary_last_modified > 0 else "unknown"
        out.write(f"Result {i}: {res.remote.url}\n"
                  f" - Finder: {res.finder}\n"
                  f" - Keyring: {res.remote.keyring}\n"
                  f" - Priority: {res.priority}\n"
                  f" - Summary last modified: {lm}\n"
                  f" - Refs:\n{''.join(lines)}\n")
    if not results:
        out.write("No results.\n")
        return 0
    out.write(f"{len(found)}/{len(refs)} refs were found.\n")
    if len(found) != len(refs):
        out.write("Refs not found in any remote:\n")
        for ref in refs:
            if ref not in found:
                out.write(f" - ({ref[0]}, {ref[1]})\n")
    if not opts.pull:
        return 0
    out.flush()
    repo_finder.pull_from_remotes(repo, results, mirror=opts.mirror,
                                  disable_fsync=opts.disable_fsync, cache_dir=opts.cache_dir)
    out.write(f"Pulled {len(refs)}/{len(refs)} refs successfully.\n")
    return 0
