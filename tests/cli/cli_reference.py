"""Helpers to compare ostree-py's command line with the reference ``ostree``.

``reference_specs()`` walks ``ostree --help`` recursively and parses each
command's help into a spec (usage, summary, options); ``install_stubs()``
turns those specs into stand-in command modules, so the framework's parsing
and help can be compared with the reference for every command, implemented
or not.
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import types

OSTREE = shutil.which("ostree", path="/usr/bin:/bin") or "/usr/bin/ostree"
HAVE_REFERENCE = os.access(OSTREE, os.X_OK)

_OPT = re.compile(r"^  (?:-(?P<short>.), )?--(?P<long>[A-Za-z0-9-]+)(?:=(?P<arg>.*?))?(?: {2,}(?P<help>.*))?$")


def run_reference(argv, cwd=None, env=None):
    """Run the reference: (rc, stdout, stderr) as text."""
    p = subprocess.run(["ostree"] + list(argv), executable=OSTREE, capture_output=True,
                       cwd=cwd, env=env, check=False)
    return (p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
            p.stderr.decode("utf-8", "surrogateescape"))


def parse_help(text):
    """Parse GLib --help text into (usage, summary, options, listing)."""
    lines = text.split("\n")
    assert lines[0] == "Usage:", text
    usage_line = lines[1][2:]
    m = re.match(r"^\S+(?: [a-z0-9-]+)* \[OPTION(?:…|\.\.\.)\](?: (.*))?$", usage_line)
    usage = (m.group(1) or "") if m else ""
    body = text.split("\n\n")
    # body[0] is Usage; the summary (and the listing) run until "Help Options:".
    summary_parts, options, listing = [], [], []
    for block in body[1:]:
        if block.startswith("Help Options:") or not block:
            continue
        if block.startswith("Application Options:"):
            for ln in block.split("\n")[1:]:
                om = _OPT.match(ln)
                assert om, ln
                options.append((om.group("long"), om.group("short"), om.group("arg"),
                                om.group("help") or ""))
            continue
        if block.startswith("Builtin "):
            for ln in block.split("\n")[1:]:
                listing.append(ln.split()[0])
            continue
        summary_parts.append(block)
    summary = "\n\n".join(summary_parts) or None
    return usage, summary, options, listing


@functools.lru_cache(maxsize=None)
def reference_specs():
    """{command path: (usage, summary, options, listing, help text)} for every listed command."""
    specs = {}

    def walk(path):
        rc, out, _err = run_reference((path.split() if path else []) + ["--help"])
        assert rc == 0, path
        usage, summary, options, listing = parse_help(out)
        specs[path] = (usage, summary, options, listing, out)
        for name in listing:
            walk(f"{path} {name}".strip())

    walk("")
    for hidden in HIDDEN_REFERENCE_PATHS:
        if hidden not in specs:
            walk(hidden)
    return specs


GLOBAL = {"verbose", "version"}

# Commands ostree added after the reference (2022.7) that ostree-py has; the
# framework tests, which stand in the reference's commands, leave them out,
# and tests/cli/test_ostree2025.py asserts their 2025 texts.
NEWER_THAN_REFERENCE = ("admin stateroot-init", "admin set-default", "admin lock-finalization")
# Implemented commands whose --help follows ostree 2025.2, not the reference
# (new options, or a new command in their listing): test_ostree2025.py has their texts.
HELP_FROM_2025 = ("admin", "admin deploy", "admin init-fs", "admin os-init", "admin pin", "admin status", "refs", "remote refs", "remote summary",
                  "show", "summary") + NEWER_THAN_REFERENCE

# Commands the reference has but does not list (so the walk misses them).
HIDDEN_REFERENCE_PATHS = ("admin instutil", "admin kargs edit-in-place")


def options_function(options):
    """A typer ``options`` declaration with the given GLib ``Option`` specs, as a
    command module writes by hand (``def options(x: Annotated[...] = ...)``)."""
    import inspect
    import keyword
    from typing import Annotated

    import typer

    from ostree_py.commands._cli import filename, int64
    kinds = {"flag": (bool, False), "string": (str | None, None), "filename": (str | None, None),
             "int": (int | None, None), "int64": (int | None, None), "double": (float | None, None),
             "string-array": (list[str], []), "filename-array": (list[str], [])}
    params = []
    for o in options:
        typ, default = kinds[o.kind]
        decls = ["--" + o.long] + (["-" + o.short] if o.short else [])
        extra = {"parser": filename} if o.kind.startswith("filename") else \
            {"parser": int64} if o.kind == "int64" else {}
        ann = Annotated[typ, typer.Option(*decls, metavar=o.arg, help=o.help, hidden=o.hidden, **extra)]
        name = o.dest + "_" if keyword.iskeyword(o.dest) else o.dest  # --from: from_
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann))

    def options(**kwargs):
        """Generated declaration."""
    options.__signature__ = inspect.Signature(params)
    options.__annotations__ = {p.name: p.annotation for p in params}
    return options


def stub_module(path, spec):
    """A stand-in command module with the reference's usage, summary and options."""
    from ostree_py.commands._cli import Option
    usage, summary, options, listing, _text = spec
    mod = types.ModuleType(f"stub {path}")
    mod.USAGE = usage
    mod.SUMMARY = summary.split("\n\n")[0] if summary else None
    longs = [o[0] for o in options]
    mod.NEEDS_SYSROOT = bool(longs) and longs[0] == "sysroot"
    mod.NEEDS_REPO = bool(longs) and longs[0] == "repo"
    skip = {"sysroot"} if mod.NEEDS_SYSROOT else {"repo"} if mod.NEEDS_REPO else set()
    mod.options = options_function([Option(lng, short, "string" if arg else "flag", arg, hlp)
                                    for (lng, short, arg, hlp) in options
                                    if lng not in GLOBAL and lng not in skip])
    mod.run = lambda ctx, opts, args: ctx.stdout.write(f"ran {path} {args!r}\n") and 0
    return mod


def install_stubs(monkeypatch, keep=()):
    """Put stand-in modules for every reference command into sys.modules.

    Group modules (ours, real) are kept; so are the paths in ``keep``.
    """
    from ostree_py.commands import _table
    from ostree_py.commands._app import Program
    program = Program()
    for path in NEWER_THAN_REFERENCE:
        monkeypatch.setitem(_table.COMMANDS, path, "no_such_module_anywhere")
    for path, spec in reference_specs().items():
        if not path or path in keep or program.is_group(path):
            continue
        name = "ostree_py.commands." + _table.COMMANDS[path]
        mod = stub_module(path, spec)
        monkeypatch.setitem(sys.modules, name, mod)
        monkeypatch.setitem(_table.SUMMARIES, path, mod.SUMMARY or "")
