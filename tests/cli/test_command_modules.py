"""Every implemented command module follows the interface, and its --help
and option errors are the reference's, byte for byte (so its OPTIONS, USAGE
and SUMMARY are right)."""

import pytest

from ostree_py.commands import _cli, _table

# trivial-httpd: Debian builds it as a separate program, not an `ostree` command.
OURS_ONLY = {"help", "trivial-httpd"}
IMPLEMENTED = sorted(p for p in _table.COMMANDS if _cli._has_module(p))
# Hidden commands whose --help prints nothing in the reference.
NO_REFERENCE_HELP = {"admin finalize-staged", "admin boot-complete"}


@pytest.mark.parametrize("path", IMPLEMENTED)
def test_module_interface(path):
    mod = _cli.load_module(path)
    assert isinstance(getattr(mod, "SUMMARY", None), str) and mod.SUMMARY
    assert "\n" not in mod.SUMMARY
    assert isinstance(getattr(mod, "USAGE", ""), str)
    options = getattr(mod, "OPTIONS", [])
    assert all(isinstance(o, _cli.Option) for o in options)
    if not _table.is_group(path):
        assert callable(getattr(mod, "run", None)), f"{path}: no run(ctx, opts, args)"
    all_opts = _cli._command_options(mod)
    longs = [o.long for o in all_opts]
    assert len(longs) == len(set(longs)), f"{path}: duplicate long options"
    shorts = [o.short for o in all_opts if o.short]
    assert len(shorts) == len(set(shorts)), f"{path}: duplicate short options"
    dests = [o.dest for o in all_opts]
    assert len(dests) == len(set(dests)), f"{path}: two options share an attribute name"


def _implemented_listing_only(group, text):
    """The reference's text with its command listing cut to what we implement."""
    if not _table.is_group(group):
        return text
    ours = {name for name, _ in _cli._visible_subcommands(group)}
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


COMPARED = [p for p in IMPLEMENTED if p not in OURS_ONLY and p not in NO_REFERENCE_HELP]


@pytest.mark.parametrize("path", COMPARED)
def test_help_is_the_references(path, reference, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _compare(path, ["--help"], reference, cli, tmp_path)


@pytest.mark.parametrize("path", COMPARED)
def test_unknown_option_is_the_references(path, reference, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _compare(path, ["--no-such-option"], reference, cli, tmp_path)
