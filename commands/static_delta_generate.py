"""``ostree static-delta generate [TO]``: compile a static delta FROM -> TO (or from scratch)."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import OstreeError

USAGE = "[TO]"
NEEDS_REPO = True


def options(
    from_rev: Annotated[str | None, typer.Option("--from", metavar="REV",
        help="Create delta from revision REV")] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Create delta from scratch")] = False,
    inline: Annotated[bool, typer.Option("--inline", help="Inline delta parts into main delta")] = False,
    to: Annotated[str | None, typer.Option("--to", metavar="REV",
        help="Create delta to revision REV")] = None,
    disable_bsdiff: Annotated[bool, typer.Option("--disable-bsdiff", help="Disable use of bsdiff")] = False,
    if_not_exists: Annotated[bool, typer.Option("--if-not-exists", "-n",
        help="Only generate if a delta does not already exist")] = False,
    set_endianness: Annotated[str | None, typer.Option("--set-endianness", metavar="ENDIAN",
        help="Choose metadata endianness ('l' or 'B')")] = None,
    swap_endianness: Annotated[bool, typer.Option("--swap-endianness",
        help="Swap metadata endianness from host order")] = False,
    min_fallback_size: Annotated[str | None, typer.Option("--min-fallback-size",
        help="Minimum uncompressed size in megabytes for individual HTTP request")] = None,
    max_bsdiff_size: Annotated[str | None, typer.Option("--max-bsdiff-size",
        help="Maximum size in megabytes to consider bsdiff compression for input files")] = None,
    max_chunk_size: Annotated[str | None, typer.Option("--max-chunk-size",
        help="Maximum size of delta chunks in megabytes")] = None,
    filename: Annotated[str | None, typer.Option("--filename", metavar="PATH", parser=filename,
        help="Write the delta content to PATH (a directory).  If not specified, the OSTree repository is used")] = None,
    sign: Annotated[list[str], typer.Option("--sign", metavar="KEY_ID", help="Sign the delta with")] = [],
    sign_type: Annotated[str | None, typer.Option("--sign-type", metavar="NAME",
        help="Signature type to use (defaults to 'ed25519')")] = None,
    keys_file: Annotated[str | None, typer.Option("--keys-file", metavar="NAME", hidden=True,
        help="Read key(s) from file")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _strtoull(text: str) -> int:
    """g_ascii_strtoull(text, NULL, 10): leading digits (after blanks and a sign), else 0."""
    s = text.lstrip(" \t\n\v\f\r")
    neg = s[:1] == "-"
    if s[:1] in "+-" and s:
        s = s[1:]
    digits = ""
    for c in s:
        if not c.isascii() or not c.isdigit():
            break
        digits += c
    n = int(digits) if digits else 0
    if neg:
        n = (-n) % (1 << 64)
    return min(n, (1 << 64) - 1) & 0xFFFFFFFF  # passed on as a guint32


def run(ctx, opts, args):
    from ostree_py.deltas import delta_exists
    from ostree_py.deltas.generate import GenerateOptions, generate_delta
    repo = ctx.repo
    to_rev = opts.to
    if to_rev is None and args:
        to_rev = args[0]
    if to_rev is None:
        raise OstreeError("TO revision must be specified")
    if opts.empty:
        if opts.from_rev is not None:
            raise OstreeError("Cannot specify both --empty and --from=REV")
        from_source = None
    elif opts.from_rev is None:
        from_source = to_rev + "^"
    else:
        from_source = opts.from_rev
    from_resolved = repo.resolve_rev(from_source) if from_source is not None else None
    to_resolved = repo.resolve_rev(to_rev)
    if opts.if_not_exists:
        delta_id = f"{from_resolved}-{to_resolved}" if from_resolved else to_resolved
        if delta_exists(repo, delta_id):
            ctx.stdout.write(f"Delta {delta_id} already exists.\n")
            return 0
    from ostree_py.deltas.format import HOST_ENDIAN
    endianness = HOST_ENDIAN
    if opts.set_endianness is not None:
        if opts.set_endianness not in ("l", "B"):
            raise OstreeError(f"Invalid endianness '{opts.set_endianness}'")
        endianness = opts.set_endianness
    if opts.swap_endianness:
        endianness = "B" if endianness == "l" else "l"

    kw = {}
    if opts.min_fallback_size is not None:
        kw["min_fallback_size"] = _strtoull(opts.min_fallback_size)
    if opts.max_bsdiff_size is not None:
        kw["max_bsdiff_size"] = _strtoull(opts.max_bsdiff_size)
    if opts.max_chunk_size is not None:
        kw["max_chunk_size"] = _strtoull(opts.max_chunk_size)
    if opts.filename is not None and opts.filename == "":
        raise OstreeError("Invalid 'filename' parameter")

    sign = None
    keys = []
    if opts.sign or opts.keys_file:
        keys = list(opts.sign)
        if opts.keys_file:
            from ostree_py.signing.ed25519 import read_key_file
            keys += read_key_file(opts.keys_file)
    sign_type = opts.sign_type if opts.sign_type is not None else "ed25519"
    if opts.sign_type == "":
        raise OstreeError("Invalid 'sign-name' parameter")

    ctx.stdout.write("Generating static delta:\n")
    ctx.stdout.write(f"  From: {from_resolved if from_resolved else 'empty'}\n")
    ctx.stdout.write(f"  To:   {to_resolved}\n")
    ctx.stdout.flush()
    if opts.sign or opts.keys_file:
        from ostree_py import signing
        sign = signing.get_by_name(sign_type)

    def log(msg):
        ctx.stderr.write(msg + "\n")

    options = GenerateOptions(bsdiff=not opts.disable_bsdiff, inline=opts.inline, endianness=endianness,
                              filename=opts.filename, sign=sign, sign_keys=keys, log=log, **kw)
    generate_delta(repo, from_resolved, to_resolved, options)
    return 0
