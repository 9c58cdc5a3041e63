"""``rpm-ostree-py``: rpm-ostree's client commands, daemonless, on ostree-py's sysroot.

Same framework as ``ostree-py`` (commands/_cli.py: GOption-style parsing,
help, Context, ``error: ...`` handling) with its own command table here;
each command is a module of this package with SUMMARY, USAGE, OPTIONS and
``run(ctx, opts, args)``. Commands that act on a sysroot get rpm-ostree's
``--sysroot`` (and ``--stateroot``, alias ``--os``, when they set ``NEEDS_OS``) options.
"""

import sys

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
}
HIDDEN = frozenset({"help"})
GROUPS = {"db": "Commands to query the RPM database", "override": "Manage base package overrides"}


def _options():
    from .._cli import Option
    sysroot = Option("sysroot", kind="string", arg="SYSROOT", help="Use system root SYSROOT (default: /)")
    # rpm-ostree's --stateroot, with --os as its hidden older name (both set opts.os)
    osopt = [Option("os", kind="string", arg="OSNAME", help="Operate on provided OSNAME", hidden=True),
             Option("stateroot", kind="string", arg="STATEROOT", help="Operate on provided STATEROOT",
                    dest="os")]
    quiet = Option("quiet", "q", help="Avoid printing most informational messages")
    version = Option("version", help="Print version information and exit")
    return sysroot, osopt, quiet, version


def command_options(mod) -> list:
    sysroot, osopt, quiet, version = _options()
    opts = list(getattr(mod, "OPTIONS", []))
    if getattr(mod, "NEEDS_OS", False):
        opts += osopt
    if getattr(mod, "NEEDS_SYSROOT", True):
        opts.append(sysroot)
    opts += [version, quiet]
    return opts


def load(path: str):
    import importlib
    return importlib.import_module(f"{__name__}.{COMMANDS[path]}")


def is_group(path: str) -> bool:
    return any(p.startswith(path + " ") for p in COMMANDS)


def subcommands(group: str):
    prefix = group + " " if group else ""
    for p in COMMANDS:
        rest = p[len(prefix):] if p.startswith(prefix) else None
        if rest and " " not in rest and p not in HIDDEN and _exists(p):
            yield rest, p


def _exists(path: str) -> bool:
    if path in GROUPS:
        return any(_exists(p) for p in COMMANDS if p.startswith(path + " "))
    import importlib.util
    return importlib.util.find_spec(f"{__name__}.{COMMANDS[path]}") is not None


def _summary(path):
    return GROUPS.get(path) or getattr(load(path), "SUMMARY", "")


def group_help(group: str) -> str:
    head = f"{PROG} {group}".strip()
    lines = [f"Usage:\n  {head} [OPTION…] COMMAND\n", f'Builtin{" " + repr(group).replace(chr(39), chr(34)) if group else ""} Commands:']
    for name, p in subcommands(group):
        lines.append(f"  {name:<20}{_summary(p)}")
    _sr, _os, _q, version = _options()
    from .._cli import format_help
    opts = format_help("x", None, [version]).split("\n\n", 1)[1]
    return "\n".join(lines) + "\n\n" + opts


def command_help(path: str) -> str:
    from .._cli import format_help
    mod = load(path)
    usage = getattr(mod, "USAGE", "")
    line = f"{PROG} {path} [OPTION…]" + (f" {usage}" if usage else "")
    return format_help(line, getattr(mod, "SUMMARY", None), command_options(mod),
                       getattr(mod, "DESCRIPTION", None))


# the rpm-ostree release whose command line this one follows
RPM_OSTREE_VERSION = "2026.2"
# rpm-ostree's build features ("rust", "compose", "container", "fedora-integration", ...)
# that hold for rpm-ostree-py: none of them
FEATURES: tuple = ()


def _version(ctx) -> int:
    """rpm-ostree's --version block: YAML with the version and the build features."""
    ctx.stdout.write(f"{PROG}:\n Version: '{RPM_OSTREE_VERSION}'\n Features:\n")
    for f in FEATURES:
        ctx.stdout.write(f"  - {f}\n")
    return 0


def _dispatch(ctx, argv) -> int:
    from .._cli import HelpRequested, OptionError, parse_args
    group = ""
    while True:
        idx = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
        if idx is None:
            help_text = group_help(group)
            if any(a in ("-h", "--help", "-?", "--help-all") for a in argv):
                ctx.stdout.write(help_text)
                return 0
            # an option the group does not have is the error, before anything else
            unknown = next((a for a in argv if a != "--version"), None)
            if unknown is None and argv:
                return _version(ctx)
            ctx.stderr.write(help_text)
            if unknown is not None:
                ctx.error(f"Unknown option {unknown.split('=', 1)[0]}")
            else:
                ctx.error("No command specified" if not group else f'No "{group}" subcommand specified')
            return 1
        name = argv[idx]
        path = f"{group} {name}".strip()
        if path not in COMMANDS or not _exists(path):
            ctx.stderr.write(group_help(group))
            ctx.error(f"Unknown command '{name}'" if not group else f'Unknown "{group}" subcommand \'{name}\'')
            return 1
        argv = argv[:idx] + argv[idx + 1:]
        if is_group(path):
            group = path
            continue
        break
    mod = load(path)
    ctx.command = path
    ctx.module = mod
    ctx._help = lambda: command_help(path)
    try:
        opts, args = parse_args(argv, command_options(mod))
    except HelpRequested:
        ctx.stdout.write(ctx.help_text())
        return 0
    except OptionError as e:
        ctx.stderr.write(ctx.help_text())
        ctx.error(str(e))
        return 1
    if opts.version:
        return _version(ctx)
    ctx.quiet = opts.quiet
    if getattr(mod, "NEEDS_SYSROOT", True):
        ctx.sysroot_path = opts.sysroot or ctx.environ.get("OSTREE_SYSROOT") or "/"
    rc = mod.run(ctx, opts, args)
    return 0 if rc is None else rc


def main(argv=None, ctx=None) -> int:
    """Entry point of ``rpm-ostree-py``."""
    from .._cli import Context, run_guarded
    if argv is None:
        argv = sys.argv[1:]
    if ctx is None:
        ctx = Context(prog=PROG)
    ctx.prog = PROG
    return run_guarded(ctx, lambda: _dispatch(ctx, list(argv)))
