"""Every implemented command module follows the interface, and its --help
and option errors are the reference's, byte for byte (so its typer options,
USAGE and table summary are right)."""

import inspect
import io
import os

import pytest

from ostree_py.commands import _cli, _table
import cli_reference  # tests/cli is on sys.path (conftest)
from ostree_py.commands import rpmostree
from ostree_py.commands._app import Program

PROGRAM = Program()
RPM_PROGRAM = rpmostree.program()

# trivial-httpd: Debian builds it as a separate program, not an `ostree` command;
# container: ostree-ext's commands (rpm-ostree's and bootc's), not built into the reference.
OURS_ONLY = {"help", "completion", "trivial-httpd"} | {p for p in _table.COMMANDS
                                                       if p.split()[0] == "container"}
IMPLEMENTED = sorted(p for p in _table.COMMANDS if PROGRAM.has_module(p))
# Hidden commands whose --help prints nothing in the reference.
NO_REFERENCE_HELP = {"admin finalize-staged", "admin boot-complete"}


def _check_module(program, path):
    summary = program.summary(path)
    assert isinstance(summary, str) and summary and "\n" not in summary, f"{path}: no summary in the table"
    mod = program.load(path)
    assert not hasattr(mod, "SUMMARY"), f"{path}: the summary lives in the table only"
    assert not hasattr(mod, "OPTIONS"), f"{path}: options are declared with typer (def options)"
    assert isinstance(getattr(mod, "USAGE", ""), str)
    if not program.is_group(path):
        assert callable(getattr(mod, "run", None)), f"{path}: no run(ctx, opts, args)"
        declared = getattr(mod, "options", None)
        if declared is not None:
            # every parameter is a typer option (typer builds the click parameters)
            for param in inspect.signature(declared).parameters.values():
                assert param.default is not inspect.Parameter.empty, f"{path}: --{param.name} has no default"
    all_opts = program.options_of(path)
    assert all(isinstance(o, _cli.Option) for o in all_opts)
    longs = [o.long for o in all_opts]
    assert len(longs) == len(set(longs)), f"{path}: duplicate long options"
    shorts = [o.short for o in all_opts if o.short]
    assert len(shorts) == len(set(shorts)), f"{path}: duplicate short options"
    dests = [o.dest for o in all_opts if (o.long, o.dest) != ("stateroot", "os")]
    assert len(dests) == len(set(dests)), f"{path}: two options share an attribute name"


@pytest.mark.parametrize("path", IMPLEMENTED)
def test_module_interface(path):
    _check_module(PROGRAM, path)


@pytest.mark.parametrize("path", sorted(p for p in rpmostree.COMMANDS if RPM_PROGRAM.has_module(p)))
def test_rpmostree_module_interface(path):
    _check_module(RPM_PROGRAM, path)


def test_table_lists_only_what_exists():
    """A summary for every implemented command and none for the others."""
    assert set(_table.SUMMARIES) == set(IMPLEMENTED)


def _implemented_listing_only(group, text):
    """The reference's text with its command listing cut to what we implement."""
    if not PROGRAM.is_group(group):
        return text
    ours = {name for name, _ in PROGRAM.visible_subcommands(group)}
    out, in_listing = [], False
    for line in text.split("\n"):
        if line.startswith("Builtin ") and line.endswith("Commands:"):
            in_listing = True
        elif in_listing and not line.startswith("  "):
            in_listing = False
        elif in_listing and line.split()[0] not in ours:
            continue
        out.append(line)
    return "\n".join(out)


def _compare(path, extra, reference, cli, cwd):
    argv = path.split() + extra
    rc, out, err = reference.run_reference(argv, cwd=cwd)
    expected = (rc, _implemented_listing_only(path, out), _implemented_listing_only(path, err))
    assert cli(argv, prog="ostree").as_tuple() == expected


COMPARED = [p for p in IMPLEMENTED if p not in OURS_ONLY and p not in NO_REFERENCE_HELP
            and p not in cli_reference.NEWER_THAN_REFERENCE]


@pytest.mark.parametrize("path", [p for p in COMPARED if p not in cli_reference.HELP_FROM_2025])
def test_help_is_the_references(path, reference, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _compare(path, ["--help"], reference, cli, tmp_path)


# (admin's listing has stateroot-init: test_ostree2025.py checks it)
@pytest.mark.parametrize("path", [p for p in COMPARED if p != "admin"])
def test_unknown_option_is_the_references(path, reference, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _compare(path, ["--no-such-option"], reference, cli, tmp_path)


def test_rpmostree_help_without_a_command_lists_the_commands():
    """``rpm-ostree-py help`` prints what ``rpm-ostree-py --help`` prints; an unknown name is an error."""
    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        rc = rpmostree.main(list(argv), _cli.Context(stdout=out, stderr=err, environ={"PATH": os.defpath}))
        return rc, out.getvalue(), err.getvalue()
    listing = run("--help")
    assert listing[0] == 0 and "Builtin Commands:\n  cleanup" in listing[1]
    assert run("help") == listing
    assert run("help", "nosuch") == (1, "", "error: Unknown command 'nosuch'\n")
