"""What ostree-py's CLI takes from typer and click (commands/_app.py,
commands/_cli.py). pyproject.toml pins typer to the range these pass with;
when an upgrade breaks one, it fails here, loudly, not in a user's shell."""

from typing import Annotated

import click
import typer

from ostree_py.commands import _app, _cli


def options(
    flag: Annotated[bool, typer.Option("--flag", "-f", help="a flag")] = False,
    text: Annotated[str | None, typer.Option("--text", "-t", metavar="TEXT", help="a string")] = None,
    path: Annotated[str | None, typer.Option("--path", metavar="PATH", parser=_cli.filename, help="p")] = None,
    count: Annotated[int | None, typer.Option("--count", help="an int")] = None,
    big: Annotated[int | None, typer.Option("--big", parser=_cli.int64, help="an int64")] = None,
    ratio: Annotated[float | None, typer.Option("--ratio", help="a double")] = None,
    items: Annotated[list[str], typer.Option("--item", metavar="X", help="strings")] = [],
    files: Annotated[list[str], typer.Option("--file", parser=_cli.filename, help="files")] = [],
    from_rev: Annotated[str | None, typer.Option("--from", hidden=True, help="hidden")] = None,
):
    """Every GLib kind, as a command module declares them."""


def _command():
    app = typer.Typer(add_completion=False)
    app.command(name="frob", cls=_app.GLibCommand, add_help_option=False)(options)
    return typer.main.get_command(app)


def test_get_command_builds_our_command_class_with_click_options():
    cmd = _command()
    assert isinstance(cmd, _app.GLibCommand) and isinstance(cmd, click.Command)
    assert all(isinstance(p, click.Option) for p in cmd.params)
    assert [p.name for p in cmd.params] == ["flag", "text", "path", "count", "big", "ratio", "items",
                                            "files", "from_rev"]


def test_every_glib_kind_comes_through():
    got = [(o.long, o.short, o.kind, o.arg, o.help, o.hidden, o.dest)
           for o in _cli.options_from_params(_command().params)]
    assert got == [
        ("flag", "f", "flag", None, "a flag", False, "flag"),
        ("text", "t", "string", "TEXT", "a string", False, "text"),
        ("path", None, "filename", "PATH", "p", False, "path"),
        ("count", None, "int", None, "an int", False, "count"),
        ("big", None, "int64", None, "an int64", False, "big"),
        ("ratio", None, "double", None, "a double", False, "ratio"),
        ("item", None, "string-array", "X", "strings", False, "items"),
        ("file", None, "filename-array", None, "files", False, "files"),
        ("from", None, "string", None, "hidden", True, "from_rev"),
    ]


def test_group_class_and_context_hooks():
    """make_context runs our parse_args; the obj and meta reach the subcommand's context."""
    app = typer.Typer(cls=_app.GLibGroup, add_completion=False)
    app.callback(invoke_without_command=True)(_app._no_options)
    group = typer.main.get_command(app)
    assert isinstance(group, _app.GLibGroup)
    obj = object()
    ctx = group.make_context("prog", ["-v", "frob", "x"], obj=obj)
    assert ctx.meta[_app._SUB] == ("frob", ["-v", "x"], ["-v", "frob", "x"])
    cmd = _command()
    cmd.glib_options = _cli.options_from_params(cmd.params)
    sub = cmd.make_context("frob", ["--count=0x10", "a", "--item", "1", "--item=2", "-ft", "T"], parent=ctx)
    opts, args = sub.meta[_app._PARSED]
    assert sub.obj is obj and args == ["a"]
    assert (opts.count, opts.items, opts.flag, opts.text) == (16, ["1", "2"], True, "T")


def test_the_pinned_range():
    """pyproject.toml's range: typer with click as a separate, public package."""
    from importlib.metadata import version
    major, minor = (int(x) for x in version("typer").split(".")[:2])
    assert (major, minor) >= (0, 24) and (major, minor) < (0, 26)
    assert click.Command.parse_args and click.Command.make_context and click.Group.get_command
