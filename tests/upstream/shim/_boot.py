"""Start ostree-py for the shim without ``site`` (python -S).

The upstream tests run ``ostree`` hundreds of times per script; the editable
install's import hook, loaded by ``site``, costs most of Python's startup.
This sets up the same imports by hand: the checkout for ``ostree_py``, its
``commands/`` folder as ``ostree_py.commands``, and the venv's site-packages
for the dependencies. Then it does what ``python -m ostree_py.commands`` does.
"""

import sys

root = __file__.rsplit("/", 4)[0]
sys.path[0] = root
# Without ``site`` sys.prefix is the base interpreter's, not the venv's: find
# the venv from the interpreter path the shim ran (VENV/bin/python).
venv = sys.executable.rsplit("/", 2)[0]
sys.path.append(f"{venv}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages")

import importlib.util  # noqa: E402

import ostree_py  # noqa: E402,F401

spec = importlib.util.spec_from_file_location(
    "ostree_py.commands", f"{root}/commands/__init__.py",
    submodule_search_locations=[f"{root}/commands"])
commands = importlib.util.module_from_spec(spec)
sys.modules["ostree_py.commands"] = commands
spec.loader.exec_module(commands)
sys.exit(commands.main())
