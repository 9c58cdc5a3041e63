"""rpm-ostree-py's rules on the shared dispatcher (commands/_app.py): its table,
global options (--sysroot, --stateroot/--os, --quiet, --version), group help
and errors, and --version's YAML."""

from .._app import _SUB, Program
from .._cli import format_help
from . import COMMANDS, FEATURES, HIDDEN, PROG, RPM_OSTREE_VERSION, SUMMARIES


def _global_options():
    from .._cli import Option
    sysroot = Option("sysroot", kind="string", arg="SYSROOT", help="Use system root SYSROOT (default: /)")
    # rpm-ostree's --stateroot, with --os as its hidden older name (both set opts.os)
    osopt = [Option("os", kind="string", arg="OSNAME", help="Operate on provided OSNAME", hidden=True),
             Option("stateroot", kind="string", arg="STATEROOT", help="Operate on provided STATEROOT",
                    dest="os")]
    quiet = Option("quiet", "q", help="Avoid printing most informational messages")
    version = Option("version", help="Print version information and exit")
    return sysroot, osopt, quiet, version


class RpmOstreeProgram(Program):
    """rpm-ostree's rules: its global options, group help and errors, --version."""

    name = PROG
    package = __package__
    blank_after_help = False
    extensions = ()
    complete_positional = False

    def __init__(self):
        self.commands = COMMANDS
        self.summaries = SUMMARIES
        self.hidden = HIDDEN

    def has_module(self, path):
        if path in COMMANDS and self.is_group(path):
            return any(self.has_module(p) for p in COMMANDS if p.startswith(path + " "))
        return super().has_module(path)

    def command_options(self, mod, own):
        sysroot, osopt, quiet, version = _global_options()
        opts = list(own)
        if getattr(mod, "NEEDS_OS", False):
            opts += osopt
        if mod is not None and getattr(mod, "NEEDS_SYSROOT", True):
            opts.append(sysroot)
        return opts + [version, quiet]

    def command_help(self, ctx, path):
        if self.is_group(path):
            head = f"{ctx.prog} {path}".strip()
            lines = [f"Usage:\n  {head} [OPTION…] COMMAND\n",
                     f'Builtin{" " + chr(34) + path + chr(34) if path else ""} Commands:']
            for name, p in self.visible_subcommands(path):
                lines.append(f"  {name:<20}{self.summary(p)}")
            version = _global_options()[3]
            opts = format_help("x", None, [version]).split("\n\n", 1)[1]
            return "\n".join(lines) + "\n\n" + opts
        mod = self.load(path)
        usage = getattr(mod, "USAGE", "")
        line = f"{ctx.prog} {path} [OPTION…]" + (f" {usage}" if usage else "")
        return format_help(line, self.summary(path) or None, self.options_of(path),
                           getattr(mod, "DESCRIPTION", None))

    def version(self, ctx):
        """rpm-ostree's --version block: YAML with the version and the build features."""
        ctx.stdout.write(f"{ctx.prog}:\n Version: '{RPM_OSTREE_VERSION}'\n Features:\n")
        for f in FEATURES:
            ctx.stdout.write(f"  - {f}\n")
        return 0

    def option_error(self, ctx, e):
        ctx.stderr.write(ctx.help_text())
        ctx.error(str(e))

    def invoke_group(self, group, cctx):
        ctx = cctx.obj
        path = group.path
        name, rest, argv = cctx.meta[_SUB]
        ctx.command = path
        ctx._help = lambda: self.command_help(ctx, path)
        if name is None:
            if any(a in ("-h", "--help", "-?", "--help-all") for a in argv):
                ctx.stdout.write(ctx.help_text())
                return 0
            # an option the group does not have is the error, before anything else
            unknown = next((a for a in argv if a != "--version"), None)
            if unknown is None and argv:
                return self.version(ctx)
            ctx.stderr.write(ctx.help_text())
            if unknown is not None:
                ctx.error(f"Unknown option {unknown.split('=', 1)[0]}")
            else:
                ctx.error("No command specified" if not path else f'No "{path}" subcommand specified')
            return 1
        sub = f"{path} {name}".strip()
        if not self.has_module(sub):
            ctx.stderr.write(ctx.help_text())
            ctx.error(f"Unknown command '{name}'" if not path else f'Unknown "{path}" subcommand \'{name}\'')
            return 1
        return self._invoke_sub(group, cctx, name, rest)

    def prepare(self, ctx, mod, opts):
        ctx.quiet = opts.quiet
        if getattr(mod, "NEEDS_SYSROOT", True):
            ctx.sysroot_path = opts.sysroot or ctx.environ.get("OSTREE_SYSROOT") or "/"
        return None

