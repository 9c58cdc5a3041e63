"""The command table: command path -> module in ``ostree_py.commands``.

Keys are command paths as typed (``"admin deploy"``); a path is a *group* when
other paths extend it. Order is the reference's listing order, which is what
``ostree-py --help`` shows. Modules are imported only when run (or for a
group's listing), and a command whose module does not exist yet behaves as an
unknown command: to add a command, write its module, nothing else. Module
names are the path with spaces and dashes turned into underscores.
"""

COMMANDS: dict[str, str] = {
    "admin": "admin",
    "admin cleanup": "admin_cleanup",
    "admin config-diff": "admin_config_diff",
    "admin deploy": "admin_deploy",
    "admin init-fs": "admin_init_fs",
    "admin os-init": "admin_os_init",
    "admin pin": "admin_pin",
    "admin set-origin": "admin_set_origin",
    "admin status": "admin_status",
    "admin switch": "admin_switch",
    "admin undeploy": "admin_undeploy",
    "admin unlock": "admin_unlock",
    "admin upgrade": "admin_upgrade",
    "admin kargs": "admin_kargs",
    "admin kargs edit-in-place": "admin_kargs_edit_in_place",
    "admin instutil": "admin_instutil",
    "admin instutil selinux-ensure-labeled": "admin_instutil_selinux_ensure_labeled",
    "admin instutil set-kargs": "admin_instutil_set_kargs",
    "admin instutil grub2-generate": "admin_instutil_grub2_generate",
    "admin finalize-staged": "admin_finalize_staged",
    "admin boot-complete": "admin_boot_complete",
    "cat": "cat",
    "checkout": "checkout",
    "checksum": "checksum",
    "commit": "commit",
    "config": "config",
    "diff": "diff",
    "export": "export",
    "find-remotes": "find_remotes",
    "create-usb": "create_usb",
    "fsck": "fsck",
    "gpg-sign": "gpg_sign",
    "init": "init",
    "log": "log",
    "ls": "ls",
    "prune": "prune",
    "pull-local": "pull_local",
    "pull": "pull",
    "refs": "refs",
    "remote": "remote",
    "remote add": "remote_add",
    "remote delete": "remote_delete",
    "remote show-url": "remote_show_url",
    "remote list": "remote_list",
    "remote gpg-import": "remote_gpg_import",
    "remote gpg-list-keys": "remote_gpg_list_keys",
    "remote add-cookie": "remote_add_cookie",
    "remote delete-cookie": "remote_delete_cookie",
    "remote list-cookies": "remote_list_cookies",
    "remote refs": "remote_refs",
    "remote summary": "remote_summary",
    "reset": "reset",
    "rev-parse": "rev_parse",
    "sign": "sign",
    "show": "show",
    "static-delta": "static_delta",
    "static-delta list": "static_delta_list",
    "static-delta show": "static_delta_show",
    "static-delta delete": "static_delta_delete",
    "static-delta generate": "static_delta_generate",
    "static-delta apply-offline": "static_delta_apply_offline",
    "static-delta verify": "static_delta_verify",
    "static-delta indexes": "static_delta_indexes",
    "static-delta reindex": "static_delta_reindex",
    "summary": "summary",
    # built into the reference only when configured so (Debian's is a separate program)
    "trivial-httpd": "trivial_httpd",
    # ostree-py's own additions (not in the reference's listing)
    "help": "help",
}

# Commands that work but are not listed in their group's help, as in the
# reference (plus our own ``help``, so listings stay identical).
HIDDEN: frozenset[str] = frozenset({
    "admin kargs edit-in-place",
    "admin instutil",
    "admin finalize-staged",
    "admin boot-complete",
    "trivial-httpd",
    "help",
})

# The top level is a group too; these are its module-style attributes.
TOP_USAGE = "COMMAND"
TOP_COMMAND_LIST_WIDTH = 18


def subcommands(group: str) -> list[str]:
    """The names of the commands directly under ``group`` ("" for the top level), in order."""
    prefix = group + " " if group else ""
    out = []
    for path in COMMANDS:
        if path.startswith(prefix):
            rest = path[len(prefix):]
            if " " not in rest:
                out.append(rest)
    return out


def is_group(path: str) -> bool:
    """Whether ``path`` has subcommands."""
    prefix = path + " "
    return any(p.startswith(prefix) for p in COMMANDS)
