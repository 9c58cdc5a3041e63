"""The typer application behind ``ostree-py`` and ``rpm-ostree-py``.

One typer app per program; its group and command classes (``GLibGroup``,
``GLibCommand``: typer's TyperGroup/TyperCommand through click's public
extension points ``parse_args``, ``invoke``, ``get_command``,
``list_commands``, ``format_help``) apply GLib's command-line rules instead
of click's (see ``_cli.py``): options given before a subcommand reach it,
``-x V``, last-wins, arrays accumulate, GLib's help layout, errors and exit
codes, and external ``ostree-NAME`` commands.

Commands load lazily: a group knows its commands' names and summaries from
the table (``_table.py``) and imports a command's module only to run it or
show its help. A ``Program`` holds what differs between ostree-py and
rpm-ostree-py (table, global options, how a group without a subcommand
answers); the dispatch is the same.
"""

import contextlib
import importlib
import importlib.util
import os
import sys

import typer
from typer.core import TyperCommand, TyperGroup

from ostree_py.errors import OstreeError

from ._cli import (PRINT_CURRENT_DIR_OPTION, REPO_OPTION, SYSROOT_OPTION, VERBOSE_OPTION,
                   VERSION_OPTION, Context, HelpRequested, Option, OptionError, _flush, format_help,
                   options_from_params, parse_args, resolve_repo_path, run_guarded)

# where a group's parse_args leaves the subcommand's name and arguments for invoke
_SUB = "ostree_py.subcommand"
_PARSED = "ostree_py.parsed"


def _no_options():
    """A command without options of its own."""


class GLibCommand(TyperCommand):
    """A command parsed GLib's way: ``parse_args`` fills an ``Options`` namespace."""

    program: "Program"
    path: str
    module = None
    glib_options: list = []

    def parse_args(self, ctx, args):
        ctx.meta[_PARSED] = parse_args(list(args), self.glib_options)
        return []

    def invoke(self, ctx):
        return self.program.invoke_command(self, ctx)

    def get_help(self, ctx):
        return self.program.command_help(ctx.obj, self.path)

    def format_help(self, ctx, formatter):
        formatter.write(self.get_help(ctx))


class GLibGroup(TyperGroup):
    """A group of commands (the top level, ``admin``...): lazily loaded, GLib's rules."""

    program: "Program"
    path = ""
    module = None

    def list_commands(self, ctx):
        return [name for name, _path in self.program.visible_subcommands(self.path)]

    def get_command(self, ctx, name):
        path = f"{self.path} {name}" if self.path else name
        if not self.program.has_module(path):
            return None
        return self.program.build(path)

    def parse_args(self, ctx, args):
        # GLib's rule: the subcommand is the first argument not starting with
        # "-"; everything else, before it or after, is the subcommand's.
        args = list(args)
        idx = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        name = args[idx] if idx is not None else None
        rest = args[:idx] + args[idx + 1:] if idx is not None else args
        ctx.meta[_SUB] = (name, rest, args)
        return []

    def invoke(self, ctx):
        return self.program.invoke_group(self, ctx)

    def get_help(self, ctx):
        return self.program.command_help(ctx.obj, self.path)

    def format_help(self, ctx, formatter):
        formatter.write(self.get_help(ctx))


class Program:
    """ostree-py's command table and rules; rpm-ostree-py subclasses it."""

    name = "ostree-py"
    package = __package__
    blank_after_help = True
    extensions = ("ostree-py-", "ostree-")
    complete_positional = True  # _complete.POSITIONAL applies

    def __init__(self):
        from . import _table
        self.commands = _table.COMMANDS
        self.summaries = _table.SUMMARIES
        self.hidden = _table.HIDDEN

    # ---------------------------------------------------------- the table
    def is_group(self, path: str) -> bool:
        """Whether ``path`` has subcommands."""
        return path == "" or any(p.startswith(path + " ") for p in self.commands)

    def has_module(self, path: str) -> bool:
        """Whether the command at ``path`` is in the table and implemented."""
        mod = self.commands.get(path)
        if mod is None:
            return False
        name = f"{self.package}.{mod}"
        return name in sys.modules or importlib.util.find_spec(name) is not None

    def load(self, path: str):
        """The module of the command at ``path`` (None for the top level)."""
        if path == "":
            return None
        return importlib.import_module(f"{self.package}.{self.commands[path]}")

    def subcommands(self, group: str) -> list:
        """The names of the commands directly under ``group``, in table order."""
        prefix = group + " " if group else ""
        return [p[len(prefix):] for p in self.commands
                if p.startswith(prefix) and " " not in p[len(prefix):]]

    def visible_subcommands(self, group: str):
        """(name, path) of the implemented, listed commands under ``group``."""
        for name in self.subcommands(group):
            path = f"{group} {name}" if group else name
            if path not in self.hidden and self.has_module(path):
                yield name, path

    def summary(self, path: str) -> str:
        """A command's one-line summary, from the table (no import)."""
        return self.summaries.get(path, "")

    # ---------------------------------------------------------- typer
    def build(self, path: str):
        """The click command of ``path``: a GLibGroup, or a GLibCommand built by
        typer from the module's ``options`` declaration."""
        mod = self.load(path)
        if self.is_group(path):
            app = typer.Typer(cls=self.group_class, add_completion=False)
            app.callback(invoke_without_command=True)(_no_options)
        else:
            app = typer.Typer(add_completion=False)
            app.command(name=path.rsplit(" ", 1)[-1], cls=GLibCommand, add_help_option=False)(
                getattr(mod, "options", _no_options))
        cmd = typer.main.get_command(app)
        cmd.program, cmd.path, cmd.module = self, path, mod
        own = options_from_params(cmd.params) if not self.is_group(path) else list(
            getattr(mod, "OPTIONS", ()))
        cmd.glib_options = self.command_options(mod, own)
        return cmd

    group_class = GLibGroup

    # ---------------------------------------------------------- options and help
    def command_options(self, mod, own) -> list:
        """All options of a command, in the reference's help order."""
        opts = []
        if getattr(mod, "NEEDS_SYSROOT", False):
            opts += [SYSROOT_OPTION, PRINT_CURRENT_DIR_OPTION]
        if getattr(mod, "NEEDS_REPO", False):
            opts.append(REPO_OPTION)
        opts += own
        taken = {o.short for o in opts if o.short}
        for g in (VERBOSE_OPTION, VERSION_OPTION):
            if g.short in taken:
                # The command's own option keeps the letter (summary's -v is --view).
                g = Option(g.long, None, g.kind, g.arg, g.help, g.hidden)
            opts.append(g)
        return opts

    def options_of(self, path: str) -> list:
        """The GLib options of the command or group at ``path``."""
        if path == "":
            return self.command_options(None, [])
        return self.build(path).glib_options

    def _usage_line(self, ctx, path, mod, ellipsis="…") -> str:
        usage = getattr(mod, "USAGE", "") if mod is not None else "COMMAND"
        head = f"{ctx.prog} {path}" if path else ctx.prog
        return f"{head} [OPTION{ellipsis}]" + (f" {usage}" if usage else "")

    def _command_list(self, path, mod) -> str:
        header = f'Builtin "{path}" Commands:' if path else "Builtin Commands:"
        width = getattr(mod, "COMMAND_LIST_WIDTH", 18)
        lines = [header]
        for name, sub in self.visible_subcommands(path):
            lines.append(f"  {name:<{width}}{self.summary(sub)}")
        return "\n".join(lines)

    def command_help(self, ctx: Context, path: str) -> str:
        """The --help text of the command or group at ``path``."""
        mod = self.load(path)
        if self.is_group(path):
            if getattr(mod, "GROUP_STYLE", "glib") == "simple":
                return (f"Usage:\n  {self._usage_line(ctx, path, mod, '...')}\n\n"
                        f"{self._command_list(path, mod)}\n\n")
            summary = self.summary(path) or None
            listing = self._command_list(path, mod)
            summary = f"{summary}\n\n{listing}" if summary else listing
        else:
            summary = self.summary(path) or None
        return format_help(self._usage_line(ctx, path, mod), summary, self.options_of(path),
                           getattr(mod, "DESCRIPTION", None))

    # ---------------------------------------------------------- running
    def version(self, ctx: Context) -> int:
        from ostree_py.features import version_text
        ctx.stdout.write(version_text())
        return 0

    def _setup_verbose(self, ctx: Context) -> None:
        ctx.verbose = True
        import logging
        handler = logging.StreamHandler(ctx.stderr)
        handler.setFormatter(logging.Formatter("OT: %(message)s"))
        log = logging.getLogger("ostree_py")
        log.handlers[:] = [handler]
        log.setLevel(logging.DEBUG)
        log.propagate = False

    def find_extension(self, ctx: Context, name: str) -> str | None:
        """An executable ``ostree-py-NAME`` or ``ostree-NAME`` on $PATH."""
        if not name or "/" in name:
            return None
        import shutil
        search = ctx.environ.get("PATH", os.defpath)
        for prefix in self.extensions:
            found = shutil.which(prefix + name, path=search)
            if found:
                return found
        return None

    def _subcontext(self, group, cctx, name, rest):
        """Make the click context of subcommand ``name``: None when there is none."""
        if name is None:
            return None
        cmd = group.get_command(cctx, name)
        if cmd is None:
            return None
        ctx = cctx.obj
        ctx.command = cmd.path
        ctx._help = lambda: self.command_help(ctx, cmd.path)
        if isinstance(cmd, GLibCommand):
            ctx.module = cmd.module
        return cmd.make_context(name, rest, parent=cctx)

    def invoke_group(self, group: GLibGroup, cctx) -> int:
        """Dispatch inside ``group`` with what its parse_args found."""
        ctx: Context = cctx.obj
        path, mod = group.path, group.module
        name, rest, argv = cctx.meta[_SUB]
        ctx.command = path
        ctx._help = lambda: self.command_help(ctx, path)
        simple = getattr(mod, "GROUP_STYLE", "glib") == "simple"
        if simple:
            for a in argv:
                if not a.startswith("-"):
                    break
                if a in ("--help", "-h"):
                    ctx.stdout.write(ctx.help_text())
                    return 0
        if name is not None and self.has_module(f"{path} {name}" if path else name):
            return self._invoke_sub(group, cctx, name, rest)
        if path == "" and name is not None:
            ext = self.find_extension(ctx, name)
            if ext:
                _flush(ctx)
                os.execv(ext, [ext] + list(argv))
        quoted = f'"{path}" ' if path else ""
        if simple:
            ctx.stderr.write(ctx.help_text())
            if name is None:
                ctx.error("No command specified")
            else:
                ctx.error(f"Unknown {quoted}subcommand '{name}'")
            return 1
        try:
            opts, args = parse_args(argv, group.glib_options)
        except HelpRequested:
            ctx.stdout.write(ctx.help_text())
            return 0
        except OptionError as e:
            ctx.stderr.write(ctx.help_text())
            ctx.error(str(e))
            return 1
        if opts.version:
            return self.version(ctx)
        if opts.verbose:
            self._setup_verbose(ctx)
        if getattr(mod, "NEEDS_SYSROOT", False):
            ctx.sysroot_path = opts.sysroot or "/"
        group_run = getattr(mod, "run", None)
        if group_run is not None:
            # A group may act without a subcommand (admin --print-current-dir);
            # it returns None to fall through to "no subcommand". Its errors are
            # reported with the group's help, as the reference does.
            try:
                rc = group_run(ctx, opts, args)
            except OstreeError as e:
                ctx.stderr.write(ctx.help_text())
                ctx.error(e.message)
                return e.exit_code
            if rc is not None:
                return rc
        ctx.stderr.write(ctx.help_text())
        if name is None:
            ctx.error(f"No {quoted}subcommand specified" if path else "No command specified")
        elif path:
            ctx.error(f"Unknown {quoted}subcommand '{name}'")
        else:
            ctx.error(f"Unknown command '{name}'")
        return 1

    def _invoke_sub(self, group, cctx, name, rest) -> int:
        ctx: Context = cctx.obj
        try:
            sub = self._subcontext(group, cctx, name, rest)
        except HelpRequested:
            ctx.stdout.write(ctx.help_text())
            return 0
        except OptionError as e:
            self.option_error(ctx, e)
            return 1
        with sub:
            return sub.command.invoke(sub)

    def option_error(self, ctx: Context, e: OptionError) -> None:
        """A command's bad option: GLib's message alone (no help)."""
        ctx.error(str(e))

    def prepare(self, ctx: Context, mod, opts):
        """Set ``ctx`` up from the global options before ``run``; an exit code ends there."""
        if opts.verbose:
            self._setup_verbose(ctx)
        if getattr(mod, "NEEDS_SYSROOT", False):
            ctx.sysroot_path = opts.sysroot or "/"
            if opts.print_current_dir:
                from . import admin
                return admin.print_current_dir(ctx, opts) or 0
        if getattr(mod, "NEEDS_REPO", False):
            ctx.repo_path = resolve_repo_path(ctx, opts.repo)
            if getattr(mod, "OPEN_REPO", True):
                ctx.repo  # opened before the command runs, as in the reference
        return None

    def invoke_command(self, cmd: GLibCommand, cctx) -> int:
        """Run a command module's ``run(ctx, opts, args)`` with what it opens
        (repo, sysroot and its lock) held in ``ctx.resources`` until it returns."""
        ctx: Context = cctx.obj
        opts, args = cctx.meta[_PARSED]
        if opts.version:
            return self.version(ctx)
        with contextlib.ExitStack() as resources:
            ctx.resources = resources
            try:
                rc = self.prepare(ctx, cmd.module, opts)
                if rc is None:
                    rc = cmd.module.run(ctx, opts, args)
            finally:
                ctx.resources = None
        return 0 if rc is None else rc

    def main(self, argv, ctx: Context) -> int:
        """Run ``argv`` (without the program name); return the exit code."""
        top = self.build("")

        def body():
            cctx = top.make_context(ctx.prog, list(argv), obj=ctx)
            with cctx:
                return top.invoke(cctx)
        return run_guarded(ctx, body, blank_after_help=self.blank_after_help)


def prog_name(environ, argv0: str | None, default: str) -> str:
    """The program name help and errors show: $OSTREE_PY_PRGNAME, else argv[0]'s
    base name (a symlink named ``ostree`` says ``ostree``, as GLib's prgname)."""
    name = environ.get("OSTREE_PY_PRGNAME")
    if name:
        return name
    base = os.path.basename(argv0 or "")
    if not base or base.endswith(".py") or base.startswith("python"):
        return default  # python -m ostree_py.commands
    return base


def start(program: Program, argv=None, ctx: Context | None = None) -> int:
    """The entry point of a program: ``argv`` defaults to sys.argv[1:]."""
    if argv is None:
        argv = sys.argv[1:]
    if ctx is None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.reconfigure(errors="surrogateescape")
            except AttributeError:
                pass
        ctx = Context(prog=prog_name(os.environ, sys.argv[0] if sys.argv else None, program.name))
        os.environ.pop("OSTREE_PY_PRGNAME", None)  # for us only, not our children
    shell = ctx.environ.get("OSTREE_PY_COMPLETE")
    if shell:
        # a completion script asking (see _complete.py): never an error, never a traceback
        from ._complete import complete
        try:
            return complete(program, shell, argv[0] if argv else "", ctx.environ, ctx.stdout)
        except Exception:  # noqa: BLE001
            return 0
    return program.main(argv, ctx)
