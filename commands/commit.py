"""``ostree-py commit``: commit a directory, archive or committed tree, as the reference does."""

from typing import Annotated

import typer

from ostree_py.commands._cli import filename

USAGE = "[PATH]"
NEEDS_REPO = True


def options(
    parent: Annotated[str | None, typer.Option("--parent", metavar="COMMIT",
        help='Parent commit checksum, or "none"')] = None,
    subject: Annotated[str | None, typer.Option("--subject", "-s", metavar="SUBJECT",
        help="One line subject")] = None,
    body: Annotated[str | None, typer.Option("--body", "-m", metavar="BODY",
        help="Full description")] = None,
    body_file: Annotated[str | None, typer.Option("--body-file", "-F", metavar="FILE", parser=filename,
        help="Commit message from FILE path")] = None,
    editor: Annotated[bool, typer.Option("--editor", "-e",
        help="Use an editor to write the commit message")] = False,
    branch: Annotated[str | None, typer.Option("--branch", "-b", metavar="BRANCH", help="Branch")] = None,
    orphan: Annotated[bool, typer.Option("--orphan", help="Create a commit without writing a ref")] = False,
    no_bindings: Annotated[bool, typer.Option("--no-bindings",
        help="Do not write any ref bindings")] = False,
    bind_ref: Annotated[list[str], typer.Option("--bind-ref", metavar="BRANCH",
        help="Add a ref to ref binding commit metadata")] = [],
    base: Annotated[str | None, typer.Option("--base", metavar="REV",
        help="Start from the given commit as a base (no modifiers apply)")] = None,
    tree: Annotated[list[str], typer.Option("--tree", metavar="dir=PATH or tar=TARFILE or ref=COMMIT",
        help="Overlay the given argument as a tree")] = [],
    add_metadata_string: Annotated[list[str], typer.Option("--add-metadata-string", metavar="KEY=VALUE",
        help="Add a key/value pair to metadata")] = [],
    add_metadata: Annotated[list[str], typer.Option("--add-metadata", metavar="KEY=VALUE",
        help="Add a key/value pair to metadata, where the KEY is a string, and VALUE is in GVariant Text Format")] = [],
    keep_metadata: Annotated[list[str], typer.Option("--keep-metadata", metavar="KEY",
        help="Keep metadata KEY and its associated VALUE from parent")] = [],
    add_detached_metadata_string: Annotated[list[str], typer.Option("--add-detached-metadata-string", metavar="KEY=VALUE",
        help="Add a key/value pair to detached metadata")] = [],
    owner_uid: Annotated[int | None, typer.Option("--owner-uid", metavar="UID",
        help="Set file ownership user id")] = None,
    owner_gid: Annotated[int | None, typer.Option("--owner-gid", metavar="GID",
        help="Set file ownership group id")] = None,
    canonical_permissions: Annotated[bool, typer.Option("--canonical-permissions",
        help="Canonicalize permissions in the same way bare-user does for hardlinked files")] = False,
    bootable: Annotated[bool, typer.Option("--bootable",
        help="Flag this commit as a bootable OSTree (e.g. contains a Linux kernel)")] = False,
    mode_ro_executables: Annotated[bool, typer.Option("--mode-ro-executables",
        help="Ensure executable files are not writable")] = False,
    no_xattrs: Annotated[bool, typer.Option("--no-xattrs",
        help="Do not import extended attributes")] = False,
    selinux_policy: Annotated[str | None, typer.Option("--selinux-policy", metavar="PATH", parser=filename,
        help="Set SELinux labels based on policy in root filesystem PATH (may be /)")] = None,
    selinux_policy_from_base: Annotated[bool, typer.Option("--selinux-policy-from-base", "-P",
        help="Set SELinux labels based on first --tree argument")] = False,
    selinux_labeling_epoch: Annotated[int | None, typer.Option("--selinux-labeling-epoch",
        help="Configure the default SELinux labeling rules; 0 is the default, 1 enables labeling /usr/etc as /etc")] = None,
    link_checkout_speedup: Annotated[bool, typer.Option("--link-checkout-speedup",
        help="Optimize for commits of trees composed of hardlinks into the repository")] = False,
    devino_canonical: Annotated[bool, typer.Option("--devino-canonical", "-I",
        help="Assume hardlinked objects are unmodified.  Implies --link-checkout-speedup")] = False,
    tar_autocreate_parents: Annotated[bool, typer.Option("--tar-autocreate-parents",
        help="When loading tar archives, automatically create parent directories as needed")] = False,
    tar_pathname_filter: Annotated[str | None, typer.Option("--tar-pathname-filter", metavar="REGEX,REPLACEMENT",
        help="When loading tar archives, use REGEX,REPLACEMENT against path names")] = None,
    skip_if_unchanged: Annotated[bool, typer.Option("--skip-if-unchanged",
        help="If the contents are unchanged from previous commit, do nothing")] = False,
    statoverride: Annotated[str | None, typer.Option("--statoverride", metavar="PATH", parser=filename,
        help="File containing list of modifications to make to permissions")] = None,
    skip_list: Annotated[str | None, typer.Option("--skip-list", metavar="PATH", parser=filename,
        help="File containing list of files to skip")] = None,
    consume: Annotated[bool, typer.Option("--consume",
        help="Consume (delete) content after commit (for local directories)")] = False,
    table_output: Annotated[bool, typer.Option("--table-output",
        help="Output more information in a KEY: VALUE format")] = False,
    gpg_sign: Annotated[list[str], typer.Option("--gpg-sign", metavar="KEY-ID",
        help="GPG Key ID to sign the commit with")] = [],
    gpg_homedir: Annotated[str | None, typer.Option("--gpg-homedir", metavar="HOMEDIR", parser=filename,
        help="GPG Homedir to use when looking for keyrings")] = None,
    sign: Annotated[list[str], typer.Option("--sign", metavar="KEY_ID", help="Sign the commit with")] = [],
    sign_from_file: Annotated[list[str], typer.Option("--sign-from-file", metavar="PATH",
        help="Sign the commit with key from the provided file")] = [],
    sign_type: Annotated[str | None, typer.Option("--sign-type", metavar="NAME",
        help="Signature type to use (defaults to 'ed25519')")] = None,
    generate_sizes: Annotated[bool, typer.Option("--generate-sizes",
        help="Generate size information along with commit metadata")] = False,
    disable_fsync: Annotated[bool, typer.Option("--disable-fsync", hidden=True,
        help="Do not invoke fsync()")] = False,
    fsync: Annotated[str | None, typer.Option("--fsync", metavar="POLICY",
        help="Specify how to invoke fsync()")] = None,
    timestamp: Annotated[str | None, typer.Option("--timestamp", metavar="TIMESTAMP",
        help="Override the timestamp of the commit")] = None,
):
    """The options of this command, as typer declares them (parsed GLib's way)."""


def run(ctx, opts, args):
    from ostree_py.ops.commit_cmd import CommitRequest, run_commit

    req = CommitRequest.from_options(opts, args, ctx.environ)
    from ._progress import CountProgress
    with CountProgress(ctx, "Committing") as progress:
        result = run_commit(ctx.repo, req, warn=lambda msg: ctx.stderr.write(msg + "\n"),
                            progress=progress if progress.enabled else None)
    out = ctx.stdout
    if opts.table_output:
        s = result.stats
        out.write(f"Commit: {result.checksum}\n")
        out.write(f"Metadata Total: {s.metadata_total}\n")
        out.write(f"Metadata Written: {s.metadata_written}\n")
        out.write(f"Content Total: {s.content_total}\n")
        out.write(f"Content Written: {s.content_written}\n")
        out.write(f"Content Cache Hits: {s.devino_cache_hits}\n")
        out.write(f"Content Bytes Written: {s.content_bytes_written}\n")
    else:
        out.write(result.checksum + "\n")
    return 0
