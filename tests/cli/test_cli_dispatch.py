"""Dispatch, help, groups, errors, repo resolution and extensions.

Where the reference decides, the test runs both: ostree-py with stand-in
modules for every reference command (so the framework is tested whatever is
implemented) against /usr/bin/ostree, comparing exit code, stdout and stderr.
"""

import os
import subprocess
import sys

import pytest

import cli_reference  # tests/cli is on sys.path (conftest)
from ostree_py.commands import _cli, _table
from ostree_py.commands._app import Program
from ostree_py.errors import OstreeError, UsageError

# Command lines whose whole behaviour is the framework's (help, usage errors,
# option errors, groups); run in an empty directory, no repo anywhere.
SAME_AS_REFERENCE = [
    [], ["--help"], ["-h"], ["-?"], ["--help-all"], ["--foo"], ["-x"], ["-v"], ["-hv"],
    ["nosuch"], [""], ["-"], ["--", "-x"], ["nosuch", "--help"], ["--help", "nosuch"],
    ["--foo", "nosuch"], ["--verbose", "nosuch"], ["--repo", "r2", "init"],
    ["admin"], ["admin", "--help"], ["admin", "nosuch"], ["admin", "--foo"], ["admin", "-v"],
    ["admin", "--sysroot"], ["admin", "--sysroot=/", "nosuch"],
    ["admin", "instutil"], ["admin", "instutil", "--help"], ["admin", "instutil", "nosuch"],
    ["admin", "instutil", "--foo"], ["admin", "kargs"], ["admin", "kargs", "nosuch"],
    ["remote"], ["remote", "-v"], ["remote", "nosuch", "--help"], ["remote", "--help"],
    ["remote", "--repo=x"], ["remote", "nosuch"],
    ["static-delta"], ["static-delta", "--help"], ["static-delta", "-h"],
    ["static-delta", "--help", "list"], ["static-delta", "nosuch", "--help"],
    ["static-delta", "--version"], ["static-delta", "--foo"], ["static-delta", "nosuch"],
    ["commit", "--foo"], ["commit", "--help"], ["commit", "-h", "-x"], ["commit", "-x", "-h"],
    ["commit", "-sm", "a", "b"], ["commit", "-s"], ["--subject", "commit"],
    ["admin", "deploy", "--foo"], ["admin", "deploy", "--help"], ["remote", "add", "--help"],
    ["remote", "--help", "add"], ["admin", "instutil", "--help", "set-kargs"],
    ["admin", "instutil", "set-kargs", "--help"], ["admin", "kargs", "edit-in-place", "--help"],
    ["static-delta", "list", "--help"], ["static-delta", "generate", "--foo"],
    ["init"], ["log", "foo"], ["--repo=/", "log", "--help"], ["-v", "rev-parse", "-h"],
    ["log", "foo", "--", "--repo=x"],
]


@pytest.mark.parametrize("argv", SAME_AS_REFERENCE, ids=lambda a: " ".join(a) or "(none)")
def test_same_as_reference(argv, stubs, reference, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"OSTREE_REPO": ""}
    ref = reference.run_reference(argv, cwd=tmp_path, env=dict(os.environ, **env))
    ours = cli(argv, env=env, prog="ostree")
    assert ours.as_tuple() == ref


# Hidden commands whose --help prints nothing in the reference (they exit
# before parsing), so there is no layout to compare.
NO_REFERENCE_HELP = {"admin finalize-staged", "admin boot-complete"}


# Ours only: help, completion, trivial-httpd (a separate program in Debian's build; its
# options are compared with that program's in tests/cli/test_trivial_httpd.py), and
# container (ostree-ext's commands, which the reference is built without).
@pytest.mark.parametrize("path", sorted(p for p in _table.COMMANDS
                                        if p not in ("help", "completion", "trivial-httpd")
                                        and p.split()[0] != "container" and p not in NO_REFERENCE_HELP
                                        and p not in cli_reference.NEWER_THAN_REFERENCE))
def test_every_reference_command_help_layout(path, stubs, reference, cli):
    """With the reference's options, our help is byte-identical (all commands, groups too)."""
    specs = reference.reference_specs()
    assert path in specs, f"the reference has no '{path}'"
    ours = cli(path.split() + ["--help"], prog="ostree")
    assert ours.as_tuple() == (0, specs[path][4], "")


def test_prog_name_defaults_to_ostree_py(cli):
    assert cli(["--help"]).out.startswith("Usage:\n  ostree-py [OPTION…] COMMAND\n")


def test_prog_name_from_environment(cli_subprocess):
    r = cli_subprocess(["--help"], env={"OSTREE_PY_PRGNAME": "ostree"})
    assert r.out.startswith("Usage:\n  ostree [OPTION…] COMMAND\n")


def test_prog_name_from_argv0(tmp_path):
    """A link named ``ostree`` says ``ostree`` in help and errors, as GLib's prgname."""
    link = tmp_path / "ostree"
    link.symlink_to(os.path.join(os.path.dirname(sys.executable), "ostree-py"))
    env = {k: v for k, v in os.environ.items() if k != "OSTREE_PY_PRGNAME"}
    p = subprocess.run([str(link), "--help"], capture_output=True, text=True, env=env)
    assert p.stdout.startswith("Usage:\n  ostree [OPTION…] COMMAND\n")
    p = subprocess.run([str(link), "commit"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.startswith("Usage:\n  ostree commit [OPTION…] [PATH]\n")
    # the variable still wins
    p = subprocess.run([str(link), "--help"], capture_output=True, text=True,
                       env=dict(env, OSTREE_PY_PRGNAME="other"))
    assert p.stdout.startswith("Usage:\n  other [OPTION…] COMMAND\n")


def test_listing_shows_only_implemented_commands(cli, define_command, monkeypatch):
    # Restore the table by hand: monkeypatch.delitem would re-insert the keys
    # in reverse order, and the table's order is the listing order.
    orig = dict(_table.COMMANDS)
    try:
        for path in list(_table.COMMANDS):
            if not Program().is_group(path) and path != "help":
                del _table.COMMANDS[path]
        out = cli(["--help"]).out
        assert "  admin " in out and "  remote " in out and "  commit " not in out
        assert "help" not in out.split("Builtin Commands:")[1].split("Help Options")[0]
        define_command("commit", SUMMARY="Commit a new revision", run=lambda c, o, a: 0)
        assert "  commit            Commit a new revision\n" in cli(["--help"]).out
    finally:
        monkeypatch.undo()
        _table.COMMANDS.clear()
        _table.COMMANDS.update(orig)


def test_unimplemented_command_is_unknown(cli, monkeypatch):
    monkeypatch.setitem(_table.COMMANDS, "frobnicate", "no_such_module_anywhere")
    r = cli(["frobnicate"])
    assert r.rc == 1 and r.err.endswith("error: Unknown command 'frobnicate'\n")


# ------------------------------------------------------------------ run() and errors

def test_run_gets_options_and_positionals(cli, define_command):
    seen = {}

    def run(ctx, opts, args):
        seen.update(opts=opts, args=args, verbose=ctx.verbose, command=ctx.command)
        ctx.stdout.write("done\n")
        return 3

    define_command("frob", run=run, OPTIONS=[_cli.Option("name", "n", "string", "NAME")])
    r = cli(["-v", "frob", "a", "-n", "x", "b"])
    assert (r.rc, r.out, r.err) == (3, "done\n", "")
    assert seen["args"] == ["a", "b"] and seen["opts"].name == "x"
    assert seen["verbose"] is True and seen["command"] == "frob"


def test_run_returning_none_is_success(cli, define_command):
    define_command("frob", run=lambda c, o, a: None)
    assert cli(["frob"]).rc == 0


def test_version_anywhere(cli, define_command):
    ran = []
    define_command("frob", run=lambda c, o, a: ran.append(1))
    for argv in (["--version"], ["frob", "--version"], ["nosuch", "--version"], ["admin", "--version"]):
        r = cli(argv)
        assert r.rc == 0 and r.out.startswith("libostree:\n Version: '2025.2'\n Features:\n")
    assert not ran


def test_version_text_is_honest_yaml_shape():
    from ostree_py import features
    text = features.version_text()
    lines = text.splitlines()
    assert lines[:3] == ["libostree:", " Version: '2025.2'", " Features:"]
    listed = [ln[4:] for ln in lines if ln.startswith("  - ")]
    assert listed == list(features.FEATURES)
    assert all(f in features.KNOWN_FEATURES for f in listed)
    assert lines[-2:] == ["ostree-py:", f" Version: '{features.OSTREE_PY_VERSION}'"]


def test_ostree_error_is_error_line_and_exit_code(cli, define_command):
    def run(ctx, opts, args):
        ctx.stdout.write("partial\n")
        raise OstreeError("Refspec 'foo' not found", exit_code=4)

    define_command("frob", run=run)
    assert cli(["frob"]).as_tuple() == (4, "partial\n", "error: Refspec 'foo' not found\n")


def test_usage_error_prints_help_then_blank_line(cli, define_command):
    def run(ctx, opts, args):
        raise UsageError("REV must be specified")

    define_command("frob", run=run, USAGE="REV")
    r = cli(["frob"])
    assert r.rc == 1 and r.out == ""
    assert r.err.startswith("Usage:\n  ostree-py frob [OPTION…] REV\n")
    assert r.err.endswith("exit\n\n\nerror: REV must be specified\n")


def test_keyboard_interrupt_is_quiet_130(cli, define_command):
    def run(ctx, opts, args):
        raise KeyboardInterrupt

    define_command("frob", run=run)
    assert cli(["frob"]).as_tuple() == (130, "", "")


def test_other_exception_is_an_error_line(cli, define_command):
    def run(ctx, opts, args):
        raise ValueError("boom")

    define_command("frob", run=run)
    assert cli(["frob"]).as_tuple() == (1, "", "error: boom\n")


def test_oserror_message(cli, define_command):
    def run(ctx, opts, args):
        open("/nonexistent/x")

    define_command("frob", run=run)
    assert cli(["frob"]).err == "error: /nonexistent/x: No such file or directory\n"


def test_debug_reraises(cli, define_command):
    def run(ctx, opts, args):
        raise ValueError("boom")

    define_command("frob", run=run)
    with pytest.raises(ValueError):
        cli(["frob"], env={"OSTREE_PY_DEBUG": "1"})


def test_debug_traceback_in_a_real_process(cli_subprocess, tmp_path):
    # A bad --sysroot makes no difference: use an error path we own, -x on help.
    code = ("import sys; from ostree_py.commands import _app, main\n"
            "def boom(*a): raise ValueError('kaboom')\n"
            "_app.Program.invoke_group = boom\n"
            "sys.exit(main(['x']))\n")
    env = dict(os.environ)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(env, OSTREE_PY_DEBUG="1"))
    assert p.returncode == 1 and "Traceback" in p.stderr and "kaboom" in p.stderr
    env.pop("OSTREE_PY_DEBUG", None)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (p.returncode, p.stderr) == (1, "error: kaboom\n")


def test_broken_pipe_is_quiet(tmp_path):
    # `ostree-py --help | head -1`: the reader goes away; no traceback.
    p = subprocess.run(
        f"'{sys.executable}' -m ostree_py.commands --help | head -c1 >/dev/null; "
        f"'{sys.executable}' -c 'import sys; sys.stdout.write(\"\")'",
        shell=True, capture_output=True, text=True)
    assert p.stderr == ""
    code = ("import sys, os; from ostree_py.commands import _app, main\n"
            "def spew(self, group, cctx):\n"
            "    while True: cctx.obj.stdout.write('x' * 65536)\n"
            "_app.Program.invoke_group = spew\n"
            "sys.exit(main([]))\n")
    p = subprocess.run(f"'{sys.executable}' -c \"{code}\" | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}",
                       shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert p.stderr == "" and p.stdout.strip() == "141"


# ------------------------------------------------------------------ repository resolution

@pytest.fixture
def repo(tmp_path, reference):
    path = tmp_path / "repo"
    subprocess.run([reference.OSTREE, "init", f"--repo={path}", "--mode=archive"], check=True)
    return path


def _repo_cmd(define_command, **extra):
    seen = {}

    def run(ctx, opts, args):
        seen.update(path=ctx.repo_path, explicit=ctx.repo_explicit)
        return 0

    define_command("frob", run=run, NEEDS_REPO=True, OPEN_REPO=False, **extra)
    return seen


def test_repo_option_is_first_and_documented(cli, define_command):
    _repo_cmd(define_command, OPTIONS=[_cli.Option("zzz")])
    lines = cli(["frob", "--help"]).out.split("Application Options:\n")[1].splitlines()
    assert lines[0].startswith("  --repo=PATH ") and lines[1].startswith("  --zzz ")


def test_repo_explicit(cli, define_command, tmp_path):
    seen = _repo_cmd(define_command)
    assert cli(["--repo=/nowhere", "frob"]).rc == 0
    assert seen == {"path": "/nowhere", "explicit": True}


def test_repo_from_environment(cli, define_command, repo):
    seen = _repo_cmd(define_command)
    assert cli(["frob"], env={"OSTREE_REPO": str(repo)}).rc == 0
    assert seen == {"path": str(repo), "explicit": False}


def test_repo_from_current_directory(cli, define_command, repo, monkeypatch):
    seen = _repo_cmd(define_command)
    monkeypatch.chdir(repo)
    assert cli(["frob"], env={"OSTREE_REPO": ""}).rc == 0
    assert seen == {"path": ".", "explicit": False}


@pytest.mark.parametrize("where", ["empty", "objects-only", "missing"])
def test_repo_required_when_default_is_not_a_repo(cli, define_command, tmp_path, monkeypatch, where):
    _repo_cmd(define_command)
    d = tmp_path / "d"
    if where != "missing":
        d.mkdir()
    if where == "objects-only":
        (d / "objects").mkdir()
    monkeypatch.chdir(tmp_path)
    r = cli(["frob"], env={"OSTREE_REPO": str(d)})
    assert r.rc == 1 and r.out == ""
    assert r.err.startswith("Usage:\n  ostree-py frob [OPTION…]")
    # help, then the error with no blank line between (unlike UsageError)
    assert r.err.endswith("exit\n\nerror: Command requires a --repo argument\n")


def test_repo_is_opened_before_run(cli, define_command, repo, tmp_path):
    opened = {}

    def run(ctx, opts, args):
        opened["repo"] = ctx.repo
        return 0

    define_command("frob", run=run, NEEDS_REPO=True)
    assert cli(["frob", f"--repo={repo}"]).rc == 0
    assert os.path.samefile(opened["repo"].path, repo)
    r = cli(["frob", f"--repo={tmp_path / 'nope'}"])
    assert r.rc == 1 and r.err.startswith("error: opening repo: ")


def test_sysroot_option(cli, define_command):
    seen = {}
    define_command("admin frob", run=lambda ctx, o, a: seen.update(s=ctx.sysroot_path), NEEDS_SYSROOT=True)
    cli(["admin", "frob"])
    assert seen["s"] == "/"
    cli(["admin", "--sysroot=/x", "frob"])
    assert seen["s"] == "/x"
    help_lines = cli(["admin", "frob", "--help"]).out.split("Application Options:\n")[1]
    assert help_lines.startswith("  --sysroot=PATH ") and "print-current-dir" not in help_lines


@pytest.mark.parametrize("argv", [["admin", "undeploy", "0"], ["admin", "pin", "0"]])
def test_sysroot_lock_is_released_when_the_command_ends(cli, tmp_path, argv):
    """The lock a command takes is let go when it returns, even by an error, and not at
    the process's exit: a second command in the same process can take it."""
    import fcntl
    (tmp_path / "sr").mkdir()
    assert cli(["admin", "init-fs", str(tmp_path / "sr")]).rc == 0
    r = cli(argv + [f"--sysroot={tmp_path / 'sr'}"])
    assert (r.rc, r.err) == (1, "error: Out of range deployment index 0, expected < 0\n")
    fd = os.open(tmp_path / "sr/ostree/lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError while it is held
    finally:
        os.close(fd)


# ------------------------------------------------------------------ external commands

def _ext(tmp_path, name, body='echo "argv0=$0"; for a in "$@"; do echo "[$a]"; done'):
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    p = d / name
    p.write_text(f"#!/bin/sh\n{body}\n")
    p.chmod(0o755)
    return d


@pytest.mark.parametrize("prefix", ["ostree-py-", "ostree-"])
def test_external_command_gets_the_whole_command_line(cli_subprocess, tmp_path, prefix):
    d = _ext(tmp_path, prefix + "hello")
    r = cli_subprocess(["-v", "hello", "a", "--b"], env={"PATH": f"{d}:{os.environ['PATH']}"})
    assert r.rc == 0
    assert r.out == f"argv0={d}/{prefix}hello\n[-v]\n[hello]\n[a]\n[--b]\n"


def test_external_command_exit_code_and_precedence(cli_subprocess, tmp_path):
    d = _ext(tmp_path, "ostree-x7", "exit 7")
    env = {"PATH": f"{d}:{os.environ['PATH']}"}
    assert cli_subprocess(["x7"], env=env).rc == 7
    _ext(tmp_path, "ostree-py-x7", "exit 8")
    assert cli_subprocess(["x7"], env=env).rc == 8
    _ext(tmp_path, "ostree-admin", "exit 9")  # built-ins win
    assert cli_subprocess(["admin", "--help"], env=env).rc == 0


def test_external_command_must_be_executable(cli_subprocess, tmp_path):
    d = _ext(tmp_path, "ostree-noexec")
    (d / "ostree-noexec").chmod(0o644)
    r = cli_subprocess(["noexec"], env={"PATH": f"{d}:{os.environ['PATH']}"})
    assert r.rc == 1 and r.err.endswith("error: Unknown command 'noexec'\n")


# ------------------------------------------------------------------ lazy imports

def _imported_after(argv):
    code = ("import sys; before = set(sys.modules)\n"
            "from ostree_py.commands import main\n"
            "import io, contextlib\n"
            f"with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    main({argv!r})\n"
            "print('\\n'.join(sorted(set(sys.modules) - before)))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(p.stdout.split())


def test_version_imports_no_command_and_nothing_heavy():
    mods = _imported_after(["--version"])
    cmd_modules = {m for m in mods if m.startswith("ostree_py.commands.") and not m.split(".")[-1].startswith("_")}
    assert cmd_modules == set()
    assert not {"rich", "httpx", "logging", "ostree_py.repo"} & mods


@pytest.mark.parametrize("path", sorted(p for p in _table.COMMANDS
                                        if not Program().is_group(p) and Program().has_module(p)))
def test_a_command_imports_only_its_module(path):
    """``CMD --help`` loads that command's module (and its groups'), nothing heavy."""
    mods = _imported_after(path.split() + ["--help"])
    cmd_modules = {m.split(".")[-1] for m in mods if m.startswith("ostree_py.commands.")}
    allowed = {"_cli", "_table", "_app", _table.COMMANDS[path]}
    words = path.split()
    allowed |= {_table.COMMANDS[" ".join(words[:i])] for i in range(1, len(words))}
    assert cmd_modules <= allowed
    assert not {"rich", "httpx"} & mods


def test_verbose_sends_library_debug_to_stderr(cli, define_command):
    import logging

    def run(ctx, opts, args):
        logging.getLogger("ostree_py.repo").debug("Opening repo lock file")
        return 0

    define_command("frob", run=run)
    log = logging.getLogger("ostree_py")
    saved = (log.handlers[:], log.level, log.propagate)
    try:
        assert cli(["frob"]).err == ""
        assert cli(["frob", "-v"]).err == "OT: Opening repo lock file\n"
    finally:
        log.handlers[:], log.level, log.propagate = saved
