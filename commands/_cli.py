"""The CLI framework: GLib-compatible option parsing, help, dispatch, errors.

ostree parses its command line with GLib's GOption, and ostree's test suite
depends on GOption's exact behaviour and messages, so this is a faithful
re-implementation of what GOption does as seen from outside (every rule here
was checked against the reference binary), not an argparse wrapper.

A command module (``commands/NAME.py``, see ``_table.py``) declares::

    SUMMARY = "Output the target of a rev"    # one line, shown in listings
    USAGE = "REV"                             # after "[OPTION…]" in Usage:
    DESCRIPTION = None                        # optional text after the options
    NEEDS_REPO = True                         # --repo applies, repo opened first
    OPTIONS = [Option("single", "S", help="...")]
    def run(ctx, opts, args) -> int: ...

and may also set ``NEEDS_SYSROOT = True`` (admin commands: --sysroot) and
``OPEN_REPO = False`` (resolve --repo but do not open it: ``init``).
Group modules (``admin``, ``remote``...) declare the same attributes except
``run``, plus ``COMMAND_LIST_WIDTH``; see ``commands/admin.py``.

Keep this module's imports to ``os`` and ``sys``: it runs on every start.
"""

import os
import sys

from ostree_py.errors import OstreeError, UsageError

KINDS = ("flag", "string", "string-array", "filename", "filename-array",
         "int", "int64", "double")
_ARRAY_KINDS = ("string-array", "filename-array")


class Option:
    """One command-line option, as a GOptionEntry.

    ``long``: the name without dashes; ``short``: one letter or None;
    ``kind``: one of KINDS; ``arg``: the placeholder help shows after ``=``
    (GLib shows none when it is None, even for options taking a value);
    ``help``: the description; ``hidden``: parsed but not shown in --help.
    The value lands in ``opts.<long with - turned into _>`` (or ``dest``):
    False for a flag, None for a single value, [] for an array, until given.
    """

    __slots__ = ("long", "short", "kind", "arg", "help", "hidden", "dest")

    def __init__(self, long, short=None, kind="flag", arg=None, help="",
                 hidden=False, dest=None):
        if kind not in KINDS:
            raise ValueError(f"option --{long}: unknown kind {kind!r}")
        if short is not None and len(short) != 1:
            raise ValueError(f"option --{long}: short name must be one character")
        self.long = long
        self.short = short
        self.kind = kind
        self.arg = arg
        self.help = help
        self.hidden = hidden
        self.dest = dest or long.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.kind != "flag"

    def default(self):
        if self.kind == "flag":
            return False
        if self.kind in _ARRAY_KINDS:
            return []
        return None

    def __repr__(self):
        return f"Option({self.long!r}, {self.short!r}, {self.kind!r})"


# Options every command or group gets, in the places the reference puts them.
REPO_OPTION = Option("repo", kind="filename", arg="PATH",
                     help="Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)")
SYSROOT_OPTION = Option("sysroot", kind="filename", arg="PATH",
                        help="Create a new OSTree sysroot at PATH")
PRINT_CURRENT_DIR_OPTION = Option("print-current-dir", hidden=True,
                                  help="Print the path of the current deployment and exit")
VERBOSE_OPTION = Option("verbose", "v", help="Print debug information during command processing")
VERSION_OPTION = Option("version", help="Print version information and exit")


class Options:
    """The parsed options: one attribute per option, named after its long name."""

    def __init__(self, options=()):
        for opt in options:
            setattr(self, opt.dest, opt.default())

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"Options({items})"

    def __eq__(self, other):
        return isinstance(other, Options) and vars(self) == vars(other)


class OptionError(Exception):
    """A command line GOption rejects; the message is GLib's."""


class HelpRequested(Exception):
    """-h, -?, --help or --help-all was seen: print help and exit 0."""


# ------------------------------------------------------------------ parsing

def _c_strtoll(text: str) -> int | None:
    """strtol(text, &end, 0) requiring *end == '\\0': the int, or None if garbage.

    Like C: leading whitespace and a sign are allowed, ``0x`` means hex and a
    leading ``0`` octal; trailing characters (even spaces) are an error.
    """
    s = text.lstrip(" \t\n\v\f\r")
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    if s[:2] in ("0x", "0X") and len(s) > 2:
        base, digits = 16, s[2:]
    elif s[:1] == "0" and len(s) > 1:
        base, digits = 8, s[1:]
    else:
        base, digits = 10, s
    allowed = "0123456789abcdefABCDEF"[: {16: 22, 10: 10, 8: 8}[base]]
    if not digits or any(c not in allowed for c in digits):
        return None
    value = int(digits, base)
    return -value if neg else value


def _convert(opt: Option, value: str, spelled: str):
    """Turn the text of an option's value into its Python value, as GLib does."""
    if opt.kind in ("int", "int64"):
        n = _c_strtoll(value)
        if n is None:
            raise OptionError(f"Cannot parse integer value “{value}” for {spelled}")
        bits = 32 if opt.kind == "int" else 64
        if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
            raise OptionError(f"Integer value “{value}” for {spelled} out of range")
        return n
    if opt.kind == "double":
        # strtod: leading whitespace is fine, trailing characters are not.
        try:
            if value != value.rstrip():
                raise ValueError(value)
            d = float(value)
        except ValueError:
            raise OptionError(f"Cannot parse double value “{value}” for {spelled}") from None
        if d in (float("inf"), float("-inf")) and "inf" not in value.lower():
            raise OptionError(f"Double value “{value}” for {spelled} out of range")
        return d
    return value


def _store(ns: Options, opt: Option, value: str, spelled: str) -> None:
    v = _convert(opt, value, spelled)
    if opt.kind in _ARRAY_KINDS:
        getattr(ns, opt.dest).append(v)
    else:
        setattr(ns, opt.dest, v)


def parse_args(argv, options):
    """Parse ``argv`` (without the program or command name) against ``options``.

    Returns ``(opts, args)``: an ``Options`` namespace and the positional
    arguments in order. Options may come anywhere; ``--`` ends them.
    Raises ``HelpRequested`` or ``OptionError`` (with GLib's message).
    """
    longs = {o.long: o for o in options}
    shorts = {o.short: o for o in options if o.short}
    ns = Options(options)
    args = []
    i, n = 0, len(argv)
    while i < n:
        a = argv[i]
        if a == "--":
            args.extend(argv[i + 1:])
            break
        if a.startswith("--"):
            if a in ("--help", "--help-all"):
                raise HelpRequested()
            name, eq, value = a[2:].partition("=")
            opt = longs.get(name)
            if opt is None:
                raise OptionError(f"Unknown option {a}")
            if not opt.takes_value:
                # GLib accepts --flag=anything and ignores the value.
                setattr(ns, opt.dest, True)
            elif eq:
                _store(ns, opt, value, "--" + name)
            elif i + 1 < n:
                # A required value is the next argument, whatever it looks like.
                i += 1
                _store(ns, opt, argv[i], "--" + name)
            else:
                raise OptionError(f"Missing argument for --{name}")
        elif a.startswith("-") and len(a) > 1:
            # A group of short options: each letter in turn; at most one of
            # them may take a value, and that value is the next argument.
            consumed = False
            for ch in a[1:]:
                if ch in ("h", "?"):
                    raise HelpRequested()
                opt = shorts.get(ch)
                if opt is None:
                    raise OptionError(f"Unknown option {a}")
                if not opt.takes_value:
                    setattr(ns, opt.dest, True)
                elif consumed:
                    raise OptionError(f"Error parsing option -{ch}")
                elif i + 1 < n:
                    consumed = True
                    _store(ns, opt, argv[i + 1], "-" + ch)
                else:
                    raise OptionError(f"Missing argument for -{ch}")
            if consumed:
                i += 1
        else:
            args.append(a)
        i += 1
    return ns, args


# ------------------------------------------------------------------ help

def format_help(usage_line: str, summary: str | None, options,
                description: str | None = None) -> str:
    """GLib's --help text: Usage, summary, Help Options, Application Options.

    ``usage_line`` is what follows "Usage:\\n  ", e.g. "ostree commit [OPTION…] [PATH]".
    The description column is 9 past the widest visible option (counting
    ``-x, `` for a short name and ``=ARG`` for a placeholder), as GLib lays it out.
    """
    visible = [o for o in options if not o.hidden]

    def left(o):
        s = f"-{o.short}, --{o.long}" if o.short else f"--{o.long}"
        return s + (f"={o.arg}" if o.arg else "")

    width = max([len("-h, --help") - 2] + [len(left(o)) - 2 for o in visible])
    col = width + 9

    def line(lhs, text):
        lhs = "  " + lhs
        return lhs + " " * max(col - len(lhs), 1) + text + "\n"

    out = ["Usage:\n  ", usage_line, "\n\n"]
    if summary:
        out += [summary, "\n\n"]
    out += ["Help Options:\n", line("-h, --help", "Show help options"), "\n"]
    if visible:
        out.append("Application Options:\n")
        out += [line(left(o), o.help) for o in visible]
        out.append("\n")
    if description:
        out += [description, "\n"]
    return "".join(out)


# ------------------------------------------------------------------ context

class Context:
    """What a command may touch besides its arguments (httpie's Environment).

    ``stdout``/``stderr``/``stdin`` are text streams (use ``.buffer`` for
    bytes); ``stdout_isatty`` says whether rich output and colour are wanted;
    ``verbose`` is -v; ``environ`` the environment. ``command`` is the path
    being run ("admin deploy"), ``prog`` the program name help shows.
    For repo commands ``repo_path`` is resolved (``repo_explicit`` when it
    came from --repo) and ``repo`` is the opened ``ostree_py.repo.Repo``;
    for sysroot commands ``sysroot_path`` is --sysroot or "/".
    Tests build one with ``io.StringIO`` streams and call ``main(argv, ctx)``.
    """

    def __init__(self, stdout=None, stderr=None, stdin=None, environ=None, prog=None):
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin = stdin if stdin is not None else sys.stdin
        self.environ = environ if environ is not None else os.environ
        try:
            self.stdout_isatty = self.stdout.isatty()
        except (AttributeError, ValueError, OSError):
            self.stdout_isatty = False
        self.prog = prog or self.environ.get("OSTREE_PY_PRGNAME") or "ostree-py"
        self.verbose = False
        self.command = ""
        self.module = None
        self.repo_path: str | None = None
        self.repo_explicit = False
        self.sysroot_path: str | None = None
        self._repo = None
        self._help = None

    @property
    def repo(self):
        """The repository, opened on first use; errors read "opening repo: ..."."""
        if self._repo is None:
            if self.repo_path is None:
                raise OstreeError("Command requires a --repo argument")
            from ostree_py.repo import Repo
            try:
                self._repo = Repo.open(self.repo_path)
            except OstreeError as e:
                raise OstreeError(f"opening repo: {e.message}", e.exit_code) from e
            except OSError as e:
                raise OstreeError(f"opening repo: {_oserror_message(e)}") from e
        return self._repo

    def help_text(self) -> str:
        """The --help text of the command being run."""
        return self._help() if self._help else ""

    def error(self, message: str) -> None:
        """Write ``error: MESSAGE`` to stderr (for errors a command reports and survives)."""
        self.stderr.write(f"error: {message}\n")


class _RepoRequired(UsageError):
    """No --repo and no repository where the reference looks by default."""

    def __init__(self):
        super().__init__("Command requires a --repo argument")


def resolve_repo_path(ctx: Context, given: str | None) -> str:
    """Where the repo is: --repo, else $OSTREE_REPO, else ".", else $OSTREE_SYSROOT/ostree/repo.

    Without --repo the default must exist as a repository (a directory with
    ``objects`` and ``config``), or it is a usage error, as in the reference;
    an explicit --repo is left for opening to judge.
    """
    if given is not None:
        ctx.repo_explicit = True
        return given
    path = ctx.environ.get("OSTREE_REPO") or ""
    if not path:
        # the default sysroot's repo: $OSTREE_SYSROOT/ostree/repo (ostree_sysroot_new_default)
        path = "." if (os.path.isdir("objects") and os.path.exists("config")) else \
            os.path.join(ctx.environ.get("OSTREE_SYSROOT") or "/", "ostree/repo")
    try:
        os.stat(path)
        if os.path.isdir(path):
            os.stat(os.path.join(path, "objects"))
            os.stat(os.path.join(path, "config"))
    except FileNotFoundError:
        raise _RepoRequired() from None
    except OSError:
        pass  # let opening report it
    return path


# ------------------------------------------------------------------ dispatch

def _module_name(path: str) -> str:
    from ._table import COMMANDS
    return COMMANDS[path]


def _has_module(path: str) -> bool:
    """Whether the command at ``path`` is in the table and implemented."""
    from ._table import COMMANDS
    mod = COMMANDS.get(path)
    if mod is None:
        return False
    if f"{__package__}.{mod}" in sys.modules:
        return True
    import importlib.util
    return importlib.util.find_spec(f"{__package__}.{mod}") is not None


def load_module(path: str):
    """Import the module of the command at ``path`` ("" is the top level)."""
    if path == "":
        return _TopLevel
    import importlib
    return importlib.import_module(f"{__package__}.{_module_name(path)}")


class _TopLevel:
    """The top level, seen as a group module."""
    SUMMARY = None
    DESCRIPTION = None
    OPTIONS = []
    from ._table import TOP_USAGE as USAGE, TOP_COMMAND_LIST_WIDTH as COMMAND_LIST_WIDTH


def _visible_subcommands(group: str):
    from ._table import HIDDEN, subcommands
    for name in subcommands(group):
        path = f"{group} {name}" if group else name
        if path not in HIDDEN and _has_module(path):
            yield name, path


def _command_options(mod):
    """All options of a command, in the reference's help order."""
    opts = []
    if getattr(mod, "NEEDS_SYSROOT", False):
        opts += [SYSROOT_OPTION, PRINT_CURRENT_DIR_OPTION]
    if getattr(mod, "NEEDS_REPO", False):
        opts.append(REPO_OPTION)
    opts += list(getattr(mod, "OPTIONS", []))
    taken = {o.short for o in opts if o.short}
    for g in (VERBOSE_OPTION, VERSION_OPTION):
        if g.short in taken:
            # The command's own option keeps the letter (summary's -v is --view).
            g = Option(g.long, None, g.kind, g.arg, g.help, g.hidden)
        opts.append(g)
    return opts


def _usage_line(ctx: Context, path: str, mod, ellipsis="…") -> str:
    usage = getattr(mod, "USAGE", "")
    head = f"{ctx.prog} {path}" if path else ctx.prog
    return f"{head} [OPTION{ellipsis}]" + (f" {usage}" if usage else "")


def _command_list(path: str, mod) -> str:
    header = f'Builtin "{path}" Commands:' if path else "Builtin Commands:"
    width = getattr(mod, "COMMAND_LIST_WIDTH", 18)
    lines = [header]
    for name, sub in _visible_subcommands(path):
        summary = getattr(load_module(sub), "SUMMARY", "") or ""
        lines.append(f"  {name:<{width}}{summary}")
    return "\n".join(lines)


def command_help(ctx: Context, path: str) -> str:
    """The --help text of the command or group at ``path``."""
    mod = load_module(path)
    from ._table import is_group
    if path == "" or is_group(path):
        if getattr(mod, "GROUP_STYLE", "glib") == "simple":
            return (f"Usage:\n  {_usage_line(ctx, path, mod, '...')}\n\n"
                    f"{_command_list(path, mod)}\n\n")
        summary = getattr(mod, "SUMMARY", None)
        listing = _command_list(path, mod)
        summary = f"{summary}\n\n{listing}" if summary else listing
    else:
        summary = getattr(mod, "SUMMARY", None)
    return format_help(_usage_line(ctx, path, mod), summary, _command_options(mod),
                       getattr(mod, "DESCRIPTION", None))


def _print_version(ctx: Context) -> int:
    from ostree_py.features import version_text
    ctx.stdout.write(version_text())
    return 0


def _setup_verbose(ctx: Context) -> None:
    ctx.verbose = True
    import logging
    handler = logging.StreamHandler(ctx.stderr)
    handler.setFormatter(logging.Formatter("OT: %(message)s"))
    log = logging.getLogger("ostree_py")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False


def _find_extension(ctx: Context, name: str) -> str | None:
    """An executable ``ostree-py-NAME`` or ``ostree-NAME`` on $PATH."""
    if not name or "/" in name:
        return None
    import shutil
    search = ctx.environ.get("PATH", os.defpath)
    for prefix in ("ostree-py-", "ostree-"):
        found = shutil.which(prefix + name, path=search)
        if found:
            return found
    return None


def _run_group(ctx: Context, path: str, argv: list) -> int:
    """Dispatch inside the group at ``path`` ("" = top level) with ``argv``."""
    mod = load_module(path)
    ctx.command = path
    ctx._help = lambda: command_help(ctx, path)
    simple = getattr(mod, "GROUP_STYLE", "glib") == "simple"

    # The subcommand is the first argument not starting with "-"; what comes
    # before it goes to the subcommand's own parser.
    idx = None
    for i, a in enumerate(argv):
        if not a.startswith("-"):
            idx = i
            break
        if simple and a in ("--help", "-h"):
            ctx.stdout.write(ctx.help_text())
            return 0
    name = argv[idx] if idx is not None else None
    if name is not None:
        sub = f"{path} {name}" if path else name
        if _has_module(sub):
            rest = argv[:idx] + argv[idx + 1:]
            from ._table import is_group
            if is_group(sub):
                return _run_group(ctx, sub, rest)
            return _run_command(ctx, sub, rest)
        if path == "":
            ext = _find_extension(ctx, name)
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
        opts, _args = parse_args(argv, _command_options(mod))
    except HelpRequested:
        ctx.stdout.write(ctx.help_text())
        return 0
    except OptionError as e:
        ctx.stderr.write(ctx.help_text())
        ctx.error(str(e))
        return 1
    if opts.version:
        return _print_version(ctx)
    if opts.verbose:
        _setup_verbose(ctx)
    if getattr(mod, "NEEDS_SYSROOT", False):
        ctx.sysroot_path = opts.sysroot or "/"
    group_run = getattr(mod, "run", None)
    if group_run is not None:
        # A group may act without a subcommand (admin --print-current-dir);
        # it returns None to fall through to "no subcommand". Its errors are
        # reported with the group's help, as the reference does.
        try:
            rc = group_run(ctx, opts, _args)
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


def _run_command(ctx: Context, path: str, argv: list) -> int:
    mod = load_module(path)
    ctx.command = path
    ctx.module = mod
    ctx._help = lambda: command_help(ctx, path)
    try:
        opts, args = parse_args(argv, _command_options(mod))
    except HelpRequested:
        ctx.stdout.write(ctx.help_text())
        return 0
    except OptionError as e:
        ctx.error(str(e))
        return 1
    if opts.version:
        return _print_version(ctx)
    if opts.verbose:
        _setup_verbose(ctx)
    if getattr(mod, "NEEDS_SYSROOT", False):
        ctx.sysroot_path = opts.sysroot or "/"
        if opts.print_current_dir:
            from . import admin
            return admin.print_current_dir(ctx, opts) or 0
    if getattr(mod, "NEEDS_REPO", False):
        ctx.repo_path = resolve_repo_path(ctx, opts.repo)
        if getattr(mod, "OPEN_REPO", True):
            ctx.repo  # opened before the command runs, as in the reference
    rc = mod.run(ctx, opts, args)
    return 0 if rc is None else rc


# ------------------------------------------------------------------ main

def _oserror_message(e: OSError) -> str:
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return e.strerror or str(e)


def _flush(ctx: Context) -> None:
    for stream in (ctx.stdout, ctx.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass


def main(argv=None, ctx: Context | None = None) -> int:
    """Run ostree-py with ``argv`` (default: sys.argv[1:]); return the exit code.

    The one place errors become messages: an OstreeError prints
    ``error: MESSAGE`` (a UsageError also the command's help first) and
    exits with its code; Ctrl-C exits 130 and a closed pipe 141, quietly;
    anything else prints ``error: ...`` and exits 1, or raises when
    OSTREE_PY_DEBUG=1 so developers get the traceback.
    """
    if argv is None:
        argv = sys.argv[1:]
    if ctx is None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.reconfigure(errors="surrogateescape")
            except AttributeError:
                pass
        ctx = Context()
        os.environ.pop("OSTREE_PY_PRGNAME", None)  # for us only, not our children
    return run_guarded(ctx, lambda: _run_group(ctx, "", list(argv)), blank_after_help=True)


def run_guarded(ctx: Context, body, blank_after_help: bool = False) -> int:
    """Run ``body() -> exit code`` with the errors turned into messages and codes
    (see main); shared by ostree-py and rpm-ostree-py."""
    try:
        try:
            rc = body()
        except UsageError as e:
            ctx.stderr.write(ctx.help_text())
            if blank_after_help and not isinstance(e, _RepoRequired):
                ctx.stderr.write("\n")
            ctx.error(e.message)
            rc = e.exit_code
        except OstreeError as e:
            ctx.error(e.message)
            rc = e.exit_code
        _flush(ctx)
        return rc
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output went to a pipe that closed (| head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except Exception as e:  # noqa: BLE001 - the one catch-all, by design
        if ctx.environ.get("OSTREE_PY_DEBUG") == "1":
            raise
        msg = _oserror_message(e) if isinstance(e, OSError) else (str(e) or type(e).__name__)
        try:
            ctx.error(msg)
            _flush(ctx)
        except Exception:  # noqa: BLE001
            pass
        return 1
