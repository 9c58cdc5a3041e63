"""Fixtures for the CLI tests: run ostree-py in-process or as a subprocess."""

import io
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import cli_reference  # noqa: E402
from ostree_py.commands import _cli, main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Result:
    """What a run printed and returned."""

    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def as_tuple(self):
        return (self.rc, self.out, self.err)

    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out[-300:]!r}, err={self.err[-300:]!r})"


def run_inprocess(argv, env=None, prog="ostree-py"):
    """Run ostree-py's main() in this process with captured streams."""
    environ = dict(os.environ)
    environ.pop("OSTREE_PY_DEBUG", None)
    environ.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    ctx = _cli.Context(stdout=out, stderr=err, stdin=io.StringIO(), environ=environ, prog=prog)
    rc = main(list(argv), ctx)
    return Result(rc, out.getvalue(), err.getvalue())


def run_subprocess(argv, env=None, cwd=None, input=None):
    """Run ``python -m ostree_py.commands`` as a separate process."""
    environ = dict(os.environ)
    environ.pop("OSTREE_PY_DEBUG", None)
    environ.update(env or {})
    p = subprocess.run([sys.executable, "-m", "ostree_py.commands"] + list(argv),
                       capture_output=True, env=environ, cwd=cwd, input=input, check=False)
    return Result(p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
                  p.stderr.decode("utf-8", "surrogateescape"))


@pytest.fixture
def cli():
    return run_inprocess


@pytest.fixture
def cli_subprocess():
    return run_subprocess


@pytest.fixture
def stubs(monkeypatch):
    """Stand-in modules for every reference command (see cli_reference)."""
    cli_reference.install_stubs(monkeypatch)
    return monkeypatch


@pytest.fixture
def reference():
    assert cli_reference.HAVE_REFERENCE, "the reference ostree is not installed: run make install"
    return cli_reference


@pytest.fixture
def define_command(monkeypatch):
    """Register a made-up command: define_command("frob", run=..., OPTIONS=[...]);
    OPTIONS (GLib ``Option`` specs) become the module's typer ``options``."""
    import types

    from ostree_py.commands import _table

    def define(path, **attrs):
        modname = path.replace(" ", "_").replace("-", "_") + "_testcmd"
        monkeypatch.setitem(_table.COMMANDS, path, modname)
        mod = types.ModuleType(modname)
        monkeypatch.setitem(_table.SUMMARIES, path, attrs.pop("SUMMARY", f"Test command {path}"))
        mod.USAGE = attrs.pop("USAGE", "")
        mod.options = cli_reference.options_function(attrs.pop("OPTIONS", []))
        for k, v in attrs.items():
            setattr(mod, k, v)
        monkeypatch.setitem(sys.modules, f"ostree_py.commands.{modname}", mod)
        return mod

    return define
