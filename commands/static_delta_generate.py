"""``ostree static-delta generate [TO]``: compile a static delta FROM -> TO (or from scratch)."""

from ostree_py.commands._cli import Option
from ostree_py.errors import OstreeError

SUMMARY = "Generate static delta files"
USAGE = "[TO]"
NEEDS_REPO = True
OPTIONS = [
    Option("from", kind="string", arg="REV", help="Create delta from revision REV", dest="from_rev"),
    Option("empty", help="Create delta from scratch"),
    Option("inline", help="Inline delta parts into main delta"),
    Option("to", kind="string", arg="REV", help="Create delta to revision REV"),
    Option("disable-bsdiff", help="Disable use of bsdiff"),
    Option("if-not-exists", "n", help="Only generate if a delta does not already exist"),
    Option("set-endianness", kind="string", arg="ENDIAN", help="Choose metadata endianness ('l' or 'B')"),
    Option("swap-endianness", help="Swap metadata endianness from host order"),
    Option("min-fallback-size", kind="string",
           help="Minimum uncompressed size in megabytes for individual HTTP request"),
    Option("max-bsdiff-size", kind="string",
           help="Maximum size in megabytes to consider bsdiff compression for input files"),
    Option("max-chunk-size", kind="string", help="Maximum size of delta chunks in megabytes"),
    Option("filename", kind="filename", arg="PATH",
           help="Write the delta content to PATH (a directory).  If not specified, the OSTree repository is used"),
    Option("sign", kind="string-array", arg="KEY_ID", help="Sign the delta with"),
    Option("sign-type", kind="string", arg="NAME", help="Signature type to use (defaults to 'ed25519')"),
    # hidden: Debian's reference (no libsodium) does not list them in --help
    Option("keys-file", kind="string", arg="NAME", help="Read key(s) from file", hidden=True),
]


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
