"""GLib's command-line rules: option parsing, help layout, the Context, errors.

ostree parses its command line with GLib's GOption, and ostree's test suite
depends on GOption's exact behaviour and messages, so this is a faithful
re-implementation of what GOption does as seen from outside (every rule here
was checked against the reference binary). The typer application
(``_app.py``) hands every command line to it: a command module declares its
options with typer (see ``commands/rev_parse.py``)::

    def options(
        single: Annotated[bool, typer.Option("--single", "-S", help="...")] = False,
        depth: Annotated[int | None, typer.Option("--depth", metavar="DEPTH", help="...")] = None,
    ): ...

and ``options_from_params`` turns typer's click parameters into the GLib
``Option`` specs parsed here. GLib kinds map from the annotation: ``bool`` a
flag, ``str`` a string, ``int`` an int (32 bits), ``float`` a double,
``list[str]`` a string array; ``parser=filename`` marks a filename (array)
and ``parser=int64`` an int64.

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


def filename(value: str) -> str:
    """typer ``parser=`` marking a GLib filename option (G_OPTION_ARG_FILENAME)."""
    return value


def int64(value: str) -> int:
    """typer ``parser=`` marking a GLib int64 option (G_OPTION_ARG_INT64)."""
    n = _c_strtoll(value)
    if n is None:
        raise ValueError(value)
    return n


_PARSER_KINDS = {filename: "filename", int64: "int64"}
_TYPE_KINDS = {"integer": "int", "float": "double", "text": "string"}


def options_from_params(params) -> list:
    """The GLib ``Option`` specs of click parameters (as typer builds them), in order.

    A parameter's name is the attribute the value lands in; its first
    ``--long`` and ``-x`` names, metavar, help and hidden carry over.
    """
    out = []
    for p in params:
        longs = [o[2:] for o in p.opts if o.startswith("--")]
        shorts = [o[1:] for o in p.opts if not o.startswith("--")]
        if not longs or getattr(p, "is_flag", None) is None:
            raise ValueError(f"parameter {p.name}: only --long options are declared")
        if p.is_flag:
            kind = "flag"
        else:
            func = getattr(p.type, "func", None)
            kind = _PARSER_KINDS.get(func) or _TYPE_KINDS.get(p.type.name)
            if kind is None:
                raise ValueError(f"option --{longs[0]}: no GLib kind for {p.type.name}")
            if p.multiple:
                if kind not in ("string", "filename"):
                    raise ValueError(f"option --{longs[0]}: GLib has no {kind} array")
                kind += "-array"
        out.append(Option(longs[0], shorts[0] if shorts else None, kind, p.metavar, p.help or "",
                          hidden=p.hidden, dest=p.name))
    return out


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
    ``resources`` is the ExitStack of the command being run: what it opens
    (the repo, the sysroot and its lock) is released when the command ends.
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
        self.resources = None

    @property
    def repo(self):
        """The repository, opened on first use; errors read "opening repo: ..."."""
        if self._repo is None:
            if self.resources is not None:
                self.resources.enter_context(repository(self))
            else:
                self._repo = _open_repo(self)
        return self._repo

    def help_text(self) -> str:
        """The --help text of the command being run."""
        return self._help() if self._help else ""

    def error(self, message: str) -> None:
        """Write ``error: MESSAGE`` to stderr (for errors a command reports and survives)."""
        self.stderr.write(f"error: {message}\n")


def _open_repo(ctx: Context):
    if ctx.repo_path is None:
        raise OstreeError("Command requires a --repo argument")
    from ostree_py.repo import Repo
    try:
        return Repo.open(ctx.repo_path)
    except OstreeError as e:
        raise OstreeError(f"opening repo: {e.message}", e.exit_code) from e
    except OSError as e:
        raise OstreeError(f"opening repo: {_oserror_message(e)}") from e


class repository:
    """``with repository(ctx):`` the repo at ``ctx.repo_path`` is ``ctx.repo`` (borg's
    with_repository); the dispatcher enters it for NEEDS_REPO commands."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def __enter__(self):
        self.ctx._repo = _open_repo(self.ctx)
        return self.ctx._repo

    def __exit__(self, *exc):
        self.ctx._repo = None
        return False


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
