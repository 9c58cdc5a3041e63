"""Every command in the table that exists has a man page that documents
exactly its options; pages are valid roff and installed with the package.

Pages are ``man/ostree-py-PATH.1`` with the command path's words joined by
dashes (``ostree-py-admin-deploy.1``). Options are documented in the
``.SH OPTIONS`` section as ``.TP`` entries whose tag line names them, e.g.::

    .TP
    \\fB\\-s\\fR, \\fB\\-\\-subject\\fR=\\fISUBJECT\\fR
    One line subject.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from ostree_py.commands import _table
from ostree_py.commands._app import Program

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "man")
GLOBAL_OPTIONS = {"help", "verbose", "version"}
PROGRAM = Program()
IMPLEMENTED = sorted(p for p in _table.COMMANDS if PROGRAM.has_module(p))


def page_path(path: str) -> str:
    return os.path.join(MAN, "ostree-py-" + path.replace(" ", "-") + ".1")


def read_page(name: str) -> str:
    with open(os.path.join(MAN, name), encoding="utf-8") as f:
        return f.read()


def section(text: str, title: str) -> str:
    m = re.search(rf"^\.SH \"?{title}\"?\n(.*?)(?=^\.SH |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def documented_options(text: str) -> set[str]:
    """Long option names in the tag lines of the OPTIONS section's .TP entries."""
    lines = section(text, "OPTIONS").split("\n")
    names = set()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == ".TP":
            tag = lines[i + 1].replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
            names |= set(re.findall(r"(?<![\w-])--([A-Za-z0-9][A-Za-z0-9-]*)", tag))
    return names


def test_parser_of_this_test():
    text = ".SH OPTIONS\n.TP\n\\fB\\-s\\fR, \\fB\\-\\-subject\\fR=\\fISUBJECT\\fR\nx \\-\\-not\\-this\n" \
           ".TP\n\\fB--tree\\fR=dir=PATH\ny\n.SH SEE ALSO\n.TP\n\\fB\\-\\-other\\fR\n"
    assert documented_options(text) == {"subject", "tree"}


def test_table_has_implemented_commands():
    assert "admin" in IMPLEMENTED and "help" in IMPLEMENTED


@pytest.mark.parametrize("path", IMPLEMENTED)
def test_command_has_a_page(path):
    assert os.path.isfile(page_path(path)), (
        f"'{path}' has no man page: write man/{os.path.basename(page_path(path))}")
    text = read_page(os.path.basename(page_path(path)))
    name = os.path.basename(page_path(path))[:-2]
    assert re.search(rf"^\.SH NAME\n{re.escape(name)} \\- ", text, re.M), "NAME section: 'PAGE \\- summary'"


@pytest.mark.parametrize("path", IMPLEMENTED)
def test_page_documents_exactly_the_options(path):
    if not os.path.isfile(page_path(path)):
        pytest.fail(f"no man page for '{path}'")
    options = PROGRAM.options_of(path)  # its own and the global ones (--repo, --sysroot...)
    required = {o.long for o in options if not o.hidden} - GLOBAL_OPTIONS
    allowed = {o.long for o in options} | GLOBAL_OPTIONS
    documented = documented_options(read_page(os.path.basename(page_path(path))))
    assert not required - documented, f"options missing from the page's OPTIONS: {sorted(required - documented)}"
    assert not documented - allowed, f"the page documents options '{path}' lacks: {sorted(documented - allowed)}"


def test_main_page_lists_every_top_level_command():
    text = read_page("ostree-py.1")
    listed = set(re.findall(r"^\.B (\S+)$", section(text, "COMMANDS"), re.M))
    top = {p for p in IMPLEMENTED if " " not in p}
    assert top <= listed, f"add to man/ostree-py.1 COMMANDS: {sorted(top - listed)}"
    assert documented_options(text) >= GLOBAL_OPTIONS


def test_group_pages_list_their_commands():
    for group in (p for p in IMPLEMENTED if PROGRAM.is_group(p)):
        text = read_page(os.path.basename(page_path(group)))
        listed = set(re.findall(r"^\.B (\S+)$", section(text, "COMMANDS"), re.M))
        visible = {n for n in PROGRAM.subcommands(group) if f"{group} {n}" not in _table.HIDDEN}
        assert visible <= listed, group


def test_no_stray_pages():
    """Every page is the main page or a command's (of ostree-py or rpm-ostree-py)."""
    from ostree_py.commands import rpmostree
    known = {os.path.basename(page_path(p)) for p in _table.COMMANDS} | {"ostree-py.1", "rpm-ostree-py.1"}
    known |= {"rpm-ostree-py-" + p.replace(" ", "-") + ".1" for p in rpmostree.COMMANDS}
    stray = {f for f in os.listdir(MAN) if f.endswith(".1")} - known
    assert not stray


@pytest.mark.parametrize("page", sorted(f for f in os.listdir(MAN) if f.endswith(".1")))
def test_page_is_valid_roff(page):
    groff = shutil.which("groff")
    assert groff, "groff is missing: make install (man-db)"
    p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", os.path.join(MAN, page)],
                       capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
    assert (p.returncode, p.stderr) == (0, "")


@pytest.mark.parametrize("page", sorted(f for f in os.listdir(MAN) if f.endswith(".1")))
def test_page_is_installed_in_the_venv(page):
    installed = os.path.join(sys.prefix, "share", "man", "man1", page)
    assert os.path.isfile(installed), "run make install (or make man) to install the pages"
    with open(installed, encoding="utf-8") as f:
        assert f.read() == read_page(page), "installed page is stale: make man"


def test_help_command_prints_the_page(cli_subprocess):
    r = cli_subprocess(["help", "admin"])
    assert r.rc == 0 and "ostree-py-admin" in r.out and "cleanup" in r.out
    r = cli_subprocess(["help"])
    assert r.rc == 0 and "EXTERNAL COMMANDS" in r.out


def test_help_command_unknown_page(cli):
    r = cli(["help", "nosuch"])
    assert (r.rc, r.err) == (1, "error: No manual entry for ostree-py-nosuch\n")
