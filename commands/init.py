"""``ostree init``: create a repository."""

from ostree_py.commands._cli import Option

SUMMARY = "Initialize a new empty repository"
USAGE = ""
NEEDS_REPO = True
OPEN_REPO = False
OPTIONS = [
    Option("mode", kind="string",
           help="Initialize repository in given mode (bare, bare-user, bare-user-only, archive)"),
    Option("collection-id", kind="string", arg="COLLECTION-ID",
           help="Globally unique ID for this repository as an collection of refs for redistribution "
                "to other repositories"),
]


def run(ctx, opts, args):
    from ostree_py.repo.repo_init import create_repo
    create_repo(ctx.repo_path, opts.mode if opts.mode is not None else "bare", opts.collection_id)
    return 0
