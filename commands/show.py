"""``ostree show``: print a commit (or other object), or one piece of its metadata.

The options are ostree 2025.2's: ``--list-metadata-keys``, ``--list-detached-metadata-keys``
(hidden before) and ``--print-hex`` came with ostree 2023.x.
"""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import UsageError

USAGE = "OBJECT"
NEEDS_REPO = True


def options(
    print_related: Annotated[bool, typer.Option("--print-related",
        help='Show the "related" commits')] = False,
    print_variant_type: Annotated[str | None, typer.Option("--print-variant-type", metavar="TYPE",
        help="Memory map OBJECT (in this case a filename) to the GVariant type string")] = None,
    list_metadata_keys: Annotated[bool, typer.Option("--list-metadata-keys",
        help="List the available metadata keys")] = False,
    print_metadata_key: Annotated[str | None, typer.Option("--print-metadata-key", metavar="KEY",
        help="Print string value of metadata key")] = None,
    print_hex: Annotated[bool, typer.Option("--print-hex",
        help="For byte array valued keys, output an unquoted hexadecimal string")] = False,
    list_detached_metadata_keys: Annotated[bool, typer.Option("--list-detached-metadata-keys",
        help="List the available detached metadata keys")] = False,
    print_detached_metadata_key: Annotated[str | None, typer.Option("--print-detached-metadata-key", metavar="KEY",
        help="Print string value of detached metadata key")] = None,
    print_sizes: Annotated[bool, typer.Option("--print-sizes",
        help="Show the commit size metadata")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Show raw variant data")] = False,
    no_byteswap: Annotated[bool, typer.Option("--no-byteswap", "-B",
        help="Do not automatically convert variant data from big endian")] = False,
    gpg_homedir: Annotated[str | None, typer.Option("--gpg-homedir", metavar="HOMEDIR", parser=filename,
        help="GPG Homedir to use when looking for keyrings")] = None,
    gpg_verify_remote: Annotated[str | None, typer.Option("--gpg-verify-remote", metavar="REMOTE",
        help="Use REMOTE name for GPG configuration")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops import show
    if not args:
        raise UsageError("An object argument is required")
    repo = ctx.repo
    rev = args[0]
    out = ctx.stdout
    if opts.print_metadata_key is not None or opts.print_detached_metadata_key is not None:
        detached = opts.print_detached_metadata_key is not None
        key = opts.print_detached_metadata_key if detached else opts.print_metadata_key
        out.write(show.metadata_key_text(repo, repo.resolve_rev(rev), key, detached, opts.no_byteswap,
                                        print_hex=opts.print_hex))
    elif opts.list_metadata_keys or opts.list_detached_metadata_keys:
        out.write(show.metadata_keys_text(repo, repo.resolve_rev(rev), opts.list_detached_metadata_keys))
    elif opts.print_related:
        out.write(show.related_text(repo, repo.resolve_rev(rev)))
    elif opts.print_variant_type is not None:
        out.write(show.variant_file_text(rev, opts.print_variant_type))
    elif opts.print_sizes:
        out.write(show.sizes_text(repo, repo.resolve_rev(rev)))
    else:
        from ostree_py.core.objects import is_checksum
        from ostree_py.ops.dump import DumpError
        try:
            out.write(show.object_or_rev_text(repo, rev, raw=opts.raw, unswapped=opts.no_byteswap))
        except DumpError as e:
            out.write(e.partial)
            raise
        # a commit is followed by its GPG signatures, as the reference (built with gpgme) does
        checksum = rev if is_checksum(rev) else repo.resolve_rev(rev)
        if not is_checksum(rev) or repo.has_object("commit", checksum):
            from ostree_py.signing import commit_gpg_signatures_text
            out.write(commit_gpg_signatures_text(repo, checksum, opts.gpg_homedir, opts.gpg_verify_remote))
    return 0
