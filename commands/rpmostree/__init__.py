"""``rpm-ostree-py``: rpm-ostree's client commands, daemonless, on ostree-py's sysroot.

The same typer application and dispatcher as ``ostree-py`` (commands/_app.py)
with its own command table and rules here (``RpmOstreeProgram``); each
command is a module of this package with USAGE, an ``options`` declaration
and ``run(ctx, opts, args)``. Commands that act on a sysroot get rpm-ostree's
``--sysroot`` (and ``--stateroot``, alias ``--os``, when they set ``NEEDS_OS``) options.
"""

PROG = "rpm-ostree-py"

# command path -> module, in rpm-ostree's listing order
COMMANDS = {
    "cleanup": "cleanup",
    "db": "db",
    "db diff": "db_diff",
    "db list": "db_list",
    "db version": "db_version",
    "deploy": "deploy",
    "initramfs": "initramfs",
    "initramfs-etc": "initramfs_etc",
    "install": "install",
    "kargs": "kargs",
    "override": "override",
    "override remove": "override_remove",
    "override replace": "override_replace",
    "override reset": "override_reset",
    "rebase": "rebase",
    "refresh-md": "refresh_md",
    "reset": "reset",
    "rollback": "rollback",
    "status": "status",
    "uninstall": "uninstall",
    "upgrade": "upgrade",
    "usroverlay": "usroverlay",
    "help": "help",
    "completion": "completion",
}
HIDDEN = frozenset({"help", "completion"})
SUMMARIES = {
    "db": "Commands to query the RPM database",
    "override": "Manage base package overrides",
    "completion": "Print or install the shell completion script (bash, zsh, fish)",
    "cleanup": "Clear cached/pending data",
    "db diff": "Show package changes between two commits",
    "db list": "List packages within commits",
    "db version": "Show rpmdb version of packages within the commits",
    "deploy": "Deploy a specific commit",
    "initramfs": "Enable or disable local initramfs regeneration",
    "initramfs-etc": "Add files to the initramfs",
    "install": "Overlay additional packages",
    "kargs": "Query or modify kernel arguments",
    "override remove": "Remove packages from the base layer",
    "override replace": "Replace packages in the base layer",
    "override reset": "Reset currently active package overrides",
    "rebase": "Switch to a different tree",
    "refresh-md": "Generate rpm repo metadata",
    "reset": "Remove all mutations",
    "rollback": "Revert to the previously booted tree",
    "status": "Get the version of the booted system",
    "uninstall": "Remove overlayed additional packages",
    "upgrade": "Perform a system upgrade",
    "usroverlay": "Apply a transient overlayfs to /usr",
    "help": "Show the manual page of a command",
}


# the rpm-ostree release whose command line this one follows
RPM_OSTREE_VERSION = "2026.2"
# rpm-ostree's build features ("rust", "compose", "container", "fedora-integration", ...)
# that hold for rpm-ostree-py: none of them
FEATURES: tuple = ()


def program():
    """rpm-ostree-py's Program (its table and rules, in _program.py)."""
    from ._program import RpmOstreeProgram
    return RpmOstreeProgram()


def main(argv=None, ctx=None) -> int:
    """Entry point of ``rpm-ostree-py``."""
    from .._app import start
    if ctx is not None:
        ctx.prog = PROG
    return start(program(), argv, ctx)
