"""ostree-py: ostree reimplemented in Python, byte-compatible on disk.

The public API is what ``__all__`` lists: ``Repo`` and ``Sysroot``, the
errors (every one an ``OstreeError``), and the operations behind the
``ostree`` commands, each one call over a Repo. They are imported on first
use, so ``import ostree_py`` costs nothing (the CLI's start-up stays fast).
Submodules (``ostree_py.repo``, ``ostree_py.ops.checkout``...) give the
rest, with the options each operation takes.

Example (tests/unit/test_public_api.py runs it as it stands here)::

    import os
    import tempfile

    from ostree_py import Repo, checkout, commit, diff, pull

    work = tempfile.mkdtemp()
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "etc"))
    with open(os.path.join(tree, "etc", "motd"), "w") as f:
        f.write("hello\\n")

    # A repository, and the directory committed to its branch "main".
    repo = Repo.create(os.path.join(work, "repo"), mode="archive")
    result = commit(repo, tree, branch="main", subject="First version")
    assert repo.resolve_rev("main") == result.checksum
    assert repo.load_commit(result.checksum).subject == "First version"

    # Read it back: check the commit out (as a user: no ownership changes).
    out = os.path.join(work, "checkout")
    checkout(repo, result.checksum, out, mode="user")
    with open(os.path.join(out, "etc", "motd")) as f:
        assert f.read() == "hello\\n"
    assert diff(tree, out).lines() == []

    # Pull it into another repository (an http:// URL or a remote's name
    # works the same way), then open that one again.
    client = Repo.create(os.path.join(work, "client"), mode="bare-user")
    pull(client, "file://" + repo.path, ["main"])
    client = Repo.open(client.path)
    assert client.resolve_rev("main") == result.checksum
"""

from ostree_py.features import OSTREE_PY_VERSION as __version__

# name -> (module, attribute): imported when first asked for
_API = {
    "Repo": ("ostree_py.repo", "Repo"),
    "Sysroot": ("ostree_py.sysroot", "Sysroot"),
    "OstreeError": ("ostree_py.errors", "OstreeError"),
    "GVariantError": ("ostree_py.errors", "GVariantError"),
    "InvalidObjectError": ("ostree_py.errors", "InvalidObjectError"),
    "ObjectNotFoundError": ("ostree_py.errors", "ObjectNotFoundError"),
    "RefNotFoundError": ("ostree_py.errors", "RefNotFoundError"),
    "UsageError": ("ostree_py.errors", "UsageError"),
    "CheckoutError": ("ostree_py.ops.checkout", "CheckoutError"),
    "SysrootError": ("ostree_py.sysroot", "SysrootError"),
    "commit": ("ostree_py.ops.commit_cmd", "commit"),
    "checkout": ("ostree_py.ops.checkout", "checkout_tree"),
    "CheckoutOptions": ("ostree_py.ops.checkout", "CheckoutOptions"),
    "diff": ("ostree_py.ops.diff", "diff_dirs"),
    "log": ("ostree_py.ops.log", "iter_log"),
    "export": ("ostree_py.ops.export", "export_commit"),
    "fsck": ("ostree_py.ops.fsck", "fsck_repo"),
    "FsckOptions": ("ostree_py.ops.fsck", "FsckOptions"),
    "prune": ("ostree_py.ops.prune", "prune"),
    "reset": ("ostree_py.ops.reset", "reset_ref"),
    "regenerate_summary": ("ostree_py.repo.summary", "regenerate_summary"),
    "add_remote": ("ostree_py.repo.remotes", "add_remote"),
    "delete_remote": ("ostree_py.repo.remotes", "delete_remote"),
    "list_remotes": ("ostree_py.repo.remotes", "list_remotes"),
    "pull": ("ostree_py.remote.pull", "pull"),
    "pull_local": ("ostree_py.remote.pull_local", "pull_local"),
}

__all__ = sorted(_API)


def __getattr__(name: str):
    """PEP 562: the API names, imported on first use (then cached in the module)."""
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'ostree_py' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
