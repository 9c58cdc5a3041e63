"""``ostree-py commit``: commit a directory, archive or committed tree, as the reference does."""

from ostree_py.commands._cli import Option

SUMMARY = "Commit a new revision"
USAGE = "[PATH]"
NEEDS_REPO = True
OPTIONS = [
    Option("parent", kind="string", arg="COMMIT", help='Parent commit checksum, or "none"'),
    Option("subject", "s", kind="string", arg="SUBJECT", help="One line subject"),
    Option("body", "m", kind="string", arg="BODY", help="Full description"),
    Option("body-file", "F", kind="filename", arg="FILE", help="Commit message from FILE path"),
    Option("editor", "e", help="Use an editor to write the commit message"),
    Option("branch", "b", kind="string", arg="BRANCH", help="Branch"),
    Option("orphan", help="Create a commit without writing a ref"),
    Option("no-bindings", help="Do not write any ref bindings"),
    Option("bind-ref", kind="string-array", arg="BRANCH", help="Add a ref to ref binding commit metadata"),
    Option("base", kind="string", arg="REV", help="Start from the given commit as a base (no modifiers apply)"),
    Option("tree", kind="string-array", arg="dir=PATH or tar=TARFILE or ref=COMMIT",
           help="Overlay the given argument as a tree"),
    Option("add-metadata-string", kind="string-array", arg="KEY=VALUE", help="Add a key/value pair to metadata"),
    Option("add-metadata", kind="string-array", arg="KEY=VALUE",
           help="Add a key/value pair to metadata, where the KEY is a string, and VALUE is in GVariant Text Format"),
    Option("keep-metadata", kind="string-array", arg="KEY",
           help="Keep metadata KEY and its associated VALUE from parent"),
    Option("add-detached-metadata-string", kind="string-array", arg="KEY=VALUE",
           help="Add a key/value pair to detached metadata"),
    Option("owner-uid", kind="int", arg="UID", help="Set file ownership user id"),
    Option("owner-gid", kind="int", arg="GID", help="Set file ownership group id"),
    Option("canonical-permissions",
           help="Canonicalize permissions in the same way bare-user does for hardlinked files"),
    Option("bootable", help="Flag this commit as a bootable OSTree (e.g. contains a Linux kernel)"),
    Option("mode-ro-executables", help="Ensure executable files are not writable"),
    Option("no-xattrs", help="Do not import extended attributes"),
    Option("selinux-policy", kind="filename", arg="PATH",
           help="Set SELinux labels based on policy in root filesystem PATH (may be /)"),
    Option("selinux-policy-from-base", "P", help="Set SELinux labels based on first --tree argument"),
    Option("link-checkout-speedup", help="Optimize for commits of trees composed of hardlinks into the repository"),
    Option("devino-canonical", "I",
           help="Assume hardlinked objects are unmodified.  Implies --link-checkout-speedup"),
    Option("tar-autocreate-parents",
           help="When loading tar archives, automatically create parent directories as needed"),
    Option("tar-pathname-filter", kind="string", arg="REGEX,REPLACEMENT",
           help="When loading tar archives, use REGEX,REPLACEMENT against path names"),
    Option("skip-if-unchanged", help="If the contents are unchanged from previous commit, do nothing"),
    Option("statoverride", kind="filename", arg="PATH",
           help="File containing list of modifications to make to permissions"),
    Option("skip-list", kind="filename", arg="PATH", help="File containing list of files to skip"),
    Option("consume", help="Consume (delete) content after commit (for local directories)"),
    Option("table-output", help="Output more information in a KEY: VALUE format"),
    Option("gpg-sign", kind="string-array", arg="KEY-ID", help="GPG Key ID to sign the commit with"),
    Option("gpg-homedir", kind="filename", arg="HOMEDIR", help="GPG Homedir to use when looking for keyrings"),
    Option("sign", kind="string-array", arg="KEY_ID", help="Sign the commit with"),
    Option("sign-type", kind="string", arg="NAME", help="Signature type to use (defaults to 'ed25519')"),
    Option("generate-sizes", help="Generate size information along with commit metadata"),
    Option("disable-fsync", hidden=True, help="Do not invoke fsync()"),
    Option("fsync", kind="string", arg="POLICY", help="Specify how to invoke fsync()"),
    Option("timestamp", kind="string", arg="TIMESTAMP", help="Override the timestamp of the commit"),
]


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
