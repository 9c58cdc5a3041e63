"""``ostree summary``: regenerate or view the repository's summary file.

``--list-metadata-keys`` and ``--print-metadata-key=KEY`` are ostree 2023.x's.
"""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename
from ostree_py.errors import OstreeError

USAGE = ""
NEEDS_REPO = True


def options(
    update: Annotated[bool, typer.Option("--update", "-u", help="Update the summary")] = False,
    view: Annotated[bool, typer.Option("--view", "-v", help="View the local summary file")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="View the raw bytes of the summary file")] = False,
    list_metadata_keys: Annotated[bool, typer.Option("--list-metadata-keys",
        help="List the available metadata keys")] = False,
    print_metadata_key: Annotated[str | None, typer.Option("--print-metadata-key", metavar="KEY",
        help="Print string value of metadata key")] = None,
    gpg_sign: Annotated[list[str], typer.Option("--gpg-sign", metavar="KEY-ID",
        help="GPG Key ID to sign the summary with")] = [],
    gpg_homedir: Annotated[str | None, typer.Option("--gpg-homedir", metavar="HOMEDIR", parser=filename,
        help="GPG Homedir to use when looking for keyrings")] = None,
    sign: Annotated[list[str], typer.Option("--sign", metavar="KEY-ID",
        help="Key ID to sign the summary with")] = [],
    sign_type: Annotated[str | None, typer.Option("--sign-type", metavar="NAME",
        help="Signature type to use (defaults to 'ed25519')")] = None,
    add_metadata: Annotated[list[str], typer.Option("--add-metadata", "-m", metavar="KEY=VALUE",
        help="Additional metadata field to add to the summary")] = [],
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def _additional_metadata(args):
    """-m KEY=VALUE: VALUE in GVariant text form."""
    from ostree_py.core.ghash import GHashTable
    from ostree_py.core.gvariant import Variant
    from ostree_py.core.gvariant_text import parse_variant
    out = {}
    for arg in args:
        key, eq, text = arg.partition("=")
        if not eq:
            raise OstreeError(f"Missing '=' in KEY=VALUE metadata '{arg}'")
        try:
            typ, value = parse_variant(text)
        except OstreeError as e:
            # (sic: the reference's message has the separator twice)
            raise OstreeError(f"Error parsing variant ‘{text}’: : {e.message}") from None
        out[key] = Variant(typ, value)
    # an a{sv} built in argument order: a later duplicate key is a second entry in GLib;
    # keep the last one, which is what a lookup finds
    return out


def _signing():
    try:
        from ostree_py import signing
        from ostree_py.signing import gpg
    except ImportError:
        return None, None
    return signing, gpg


def run(ctx, opts, args):
    from ostree_py.ops.summary import write_metadata_commit
    from ostree_py.repo import summary
    repo = ctx.repo
    signing, gpg = _signing()
    sign = None
    if opts.sign:
        name = opts.sign_type or "ed25519"
        if signing is None:
            # as the reference build says of a type it lacks
            raise OstreeError("Requested signature type is not implemented")
        sign = signing.get_by_name(name)
    if opts.update and opts.gpg_sign and gpg is None:
        raise OstreeError("GPG signing of summaries is not supported yet (--gpg-sign)")
    if opts.update:
        extra = _additional_metadata(opts.add_metadata) if opts.add_metadata else None
        if repo.collection_id is not None:
            def sign_metadata_commit(csum):
                for key_id in opts.gpg_sign:
                    gpg.sign_commit(repo, csum, key_id, opts.gpg_homedir)
                for key in opts.sign:
                    sign.set_sk(key)
                    signing.sign_commit(repo, sign, csum)
            write_metadata_commit(repo, extra, sign=sign_metadata_commit)
        summary.regenerate_summary(repo, extra)
        if opts.gpg_sign:
            gpg.add_signature_summary(repo, opts.gpg_sign, opts.gpg_homedir)
        if opts.sign:
            signing.sign_summary(repo, sign, opts.sign)
        if opts.gpg_sign or opts.sign:
            summary.match_summary_times(repo)
    elif opts.view or opts.raw:
        from ostree_py.ops.dump import summary_text
        ctx.stdout.write(summary_text(summary.load_summary(repo), raw=opts.raw))
    elif opts.list_metadata_keys:
        from ostree_py.ops.dump import summary_metadata_keys_text
        ctx.stdout.write(summary_metadata_keys_text(summary.load_summary(repo)))
    elif opts.print_metadata_key is not None:
        from ostree_py.ops.dump import summary_metadata_key_text
        ctx.stdout.write(summary_metadata_key_text(summary.load_summary(repo), opts.print_metadata_key))
    else:
        raise OstreeError("No option specified; use -u to update summary")
    return 0
