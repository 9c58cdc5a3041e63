"""The house's layering (ARCHITECTURE.md, "The house"), checked on the source.

Every import in ostree_py/ and commands/ is read from the syntax tree,
function-local ones included (a lazy import that goes up a layer is still a
cycle), and must:
- go to the same package or to one below it in ``LAYERS``;
- not take a private name (``_x``: a function, class, module or attribute
  of a module) from another package;
- not close a cycle between packages.
A private attribute of another package's object (``repo._find(...)`` in an
operation) is refused too, where the name is defined in another package
and nowhere in the importer's own.

The checker is fed bad sources at the end, to show that each rule fails.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]

# Bottom-up. A package may import its own modules and those of the packages
# before it. "ostree_py" is the facade (ostree_py/__init__.py) that declares
# the public API; library modules never import from it.
LAYERS = [
    "ostree_py.errors",
    "ostree_py.features",
    "ostree_py.util",
    "ostree_py.core",
    "ostree_py.repo",
    "ostree_py.signing",
    "ostree_py.ops",
    "ostree_py.deltas",
    "ostree_py.remote",
    "ostree_py.sysroot",
    "ostree_py.rpmostree",
    "ostree_py",
    "ostree_py.commands",
]
RANK = {name: i for i, name in enumerate(LAYERS)}


# namedtuple's public API is spelt with an underscore.
_NAMEDTUPLE = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _is_private(name: str) -> bool:
    return (name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
            and name not in _NAMEDTUPLE)


class Source:
    """One module's text, under its dotted name."""

    def __init__(self, module: str, text: str, is_package: bool = False, path: str = ""):
        self.module = module
        self.text = text
        self.is_package = is_package
        self.path = path or module


def project_sources() -> list[Source]:
    """Every module of the library and the CLI, named as installed."""
    out = []
    for top, prefix in ((ROOT / "ostree_py", "ostree_py"), (ROOT / "commands", "ostree_py.commands")):
        for path in sorted(top.rglob("*.py")):
            rel = path.relative_to(top).with_suffix("")
            parts = list(rel.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            module = ".".join([prefix, *parts])
            out.append(Source(module, path.read_text(), is_package, str(path.relative_to(ROOT))))
    return out


def package_of(module: str) -> str:
    """The layer a dotted module name belongs to."""
    parts = module.split(".")
    if parts[0] != "ostree_py":
        return ""
    if len(parts) == 1:
        return "ostree_py"
    return "ostree_py." + parts[1]


class Checker:
    """The three rules over a set of sources; ``problems`` lists what breaks them."""

    def __init__(self, sources: list[Source]):
        self.sources = {s.module: s for s in sources}
        self.problems: list[str] = []
        self.edges: dict[str, dict[str, str]] = defaultdict(dict)
        trees = {m: ast.parse(s.text, s.path) for m, s in self.sources.items()}
        self.private_defs = self._private_definitions(trees)
        for module, tree in trees.items():
            self._check_module(self.sources[module], tree)
        self._check_cycles()

    # -- names -----------------------------------------------------------
    def _is_module(self, name: str) -> bool:
        return name in self.sources

    def _resolve(self, src: Source, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = src.module.split(".")
        if not src.is_package:
            base = base[:-1]
        if node.level > 1:
            base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def _private_definitions(self, trees) -> dict[str, set[str]]:
        """Private names each package defines: functions, classes, assignments,
        attributes set on self."""
        defs: dict[str, set[str]] = defaultdict(set)
        for module, tree in trees.items():
            pkg = package_of(module)
            for node in ast.walk(tree):
                names = []
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.append(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.append(node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    names.append(node.attr)
                elif isinstance(node, ast.arg):
                    names.append(node.arg)
                elif isinstance(node, ast.keyword) and node.arg:
                    names.append(node.arg)
                elif isinstance(node, ast.alias):
                    names.append(node.asname or node.name.split(".")[0])
                defs[pkg].update(n for n in names if _is_private(n))
        return defs

    # -- rules -------------------------------------------------------------
    def _edge(self, src: Source, target: str, lineno: int) -> None:
        here, there = package_of(src.module), package_of(target)
        if not there or here == there:
            return
        where = f"{src.path}:{lineno}"
        self.edges[here].setdefault(there, where)
        if here not in RANK or there not in RANK:
            self.problems.append(f"{where}: {src.module} -> {target}: package outside the layer table")
        elif RANK[there] > RANK[here]:
            self.problems.append(f"{where}: {src.module} imports {target}: up a layer ({here} is below {there})")

    def _private(self, src: Source, target: str, name: str, lineno: int) -> None:
        if package_of(target) and package_of(target) != package_of(src.module):
            self.problems.append(f"{src.path}:{lineno}: {src.module} takes private {target}.{name} from another package")

    def _check_module(self, src: Source, tree: ast.AST) -> None:
        here = package_of(src.module)
        foreign_modules: dict[str, str] = {}  # local name -> module of another package
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = alias.name
                    self._edge(src, target, node.lineno)
                    for part in target.split(".")[1:]:
                        if _is_private(part):
                            self._private(src, target, part, node.lineno)
                            break
                    if alias.asname and package_of(target) not in ("", here):
                        foreign_modules[alias.asname] = target
            elif isinstance(node, ast.ImportFrom):
                base = self._resolve(src, node)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if base == "ostree_py" and not self._is_module(full):
                        target = "ostree_py"  # a name of the facade
                    elif self._is_module(full):
                        target = full
                    else:
                        target = base
                    self._edge(src, target, node.lineno)
                    parts = base.split(".")[1:] + [alias.name]
                    private = [p for p in parts if _is_private(p)]
                    if private:
                        self._private(src, base, alias.name, node.lineno)
                    if self._is_module(full) and package_of(full) not in ("", here):
                        foreign_modules[alias.asname or alias.name] = full
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in foreign_modules:
                self._private(src, foreign_modules[value.id], node.attr, node.lineno)
                continue
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
                continue
            if node.attr in self.private_defs.get(here, ()):
                continue
            owners = sorted(p for p, names in self.private_defs.items() if node.attr in names and p != here)
            if owners:
                self.problems.append(
                    f"{src.path}:{node.lineno}: {src.module} uses private attribute .{node.attr} of {', '.join(owners)}")

    def _check_cycles(self) -> None:
        """Tarjan's strongly connected components over the package graph."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        counter = [0]

        def visit(v: str) -> None:
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on_stack.add(v)
            for w in self.edges.get(v, {}):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    members = sorted(component)
                    via = "; ".join(f"{a} -> {b} at {self.edges[a][b]}"
                                    for a in members for b in members if b in self.edges.get(a, {}))
                    self.problems.append(f"cycle between packages {', '.join(members)}: {via}")

        for v in sorted(set(self.edges) | {w for ws in self.edges.values() for w in ws}):
            if v not in index:
                visit(v)


def test_every_import_goes_down_the_layers():
    problems = Checker(project_sources()).problems
    assert not problems, "\n".join(problems)


def test_every_package_is_in_the_layer_table():
    packages = {package_of(s.module) for s in project_sources()}
    assert packages <= set(RANK), sorted(packages - set(RANK))


# -- the checker itself fails on what it must refuse -------------------------

def _problems(*sources: tuple[str, str]) -> list[str]:
    made = []
    for module, text in sources:
        is_package = module.endswith(".__init__")
        made.append(Source(module.removesuffix(".__init__"), text, is_package))
    return Checker(made).problems


def test_checker_refuses_an_import_up_a_layer():
    problems = _problems(("ostree_py.repo.store", "from ostree_py.ops.summary import regenerate\n"),
                         ("ostree_py.ops.summary", "def regenerate(): pass\n"))
    assert len(problems) == 1 and "up a layer" in problems[0], problems


def test_checker_refuses_a_function_local_import_up_a_layer():
    problems = _problems(("ostree_py.core.objects", "def f():\n    import ostree_py.remote.pull\n"),
                         ("ostree_py.remote.pull", ""))
    assert len(problems) == 1 and "up a layer" in problems[0], problems


def test_checker_refuses_a_relative_import_up_a_layer():
    problems = _problems(("ostree_py.util.__init__", "from ..sysroot import deploy\n"),
                         ("ostree_py.sysroot.deploy", ""))
    assert len(problems) == 1 and "up a layer" in problems[0], problems


def test_checker_refuses_a_library_import_of_the_facade():
    problems = _problems(("ostree_py.ops.commit", "from ostree_py import Repo\n"),
                         ("ostree_py.__init__", ""))
    assert len(problems) == 1 and "up a layer" in problems[0], problems


def test_checker_allows_imports_down_and_within_a_package():
    assert _problems(("ostree_py.ops.commit", "from ostree_py.repo import Repo\nfrom . import checkout\n"
                                              "from ostree_py.ops.checkout import _local\n"),
                     ("ostree_py.ops.checkout", "def _local(): pass\n"),
                     ("ostree_py.repo.__init__", "class Repo: pass\n")) == []


def test_checker_refuses_a_private_name_from_another_package():
    problems = _problems(("ostree_py.commands.sign", "from ostree_py.signing.ed25519 import _read_lines\n"),
                         ("ostree_py.signing.ed25519", "def _read_lines(): pass\n"))
    assert len(problems) == 1 and "private" in problems[0], problems


def test_checker_refuses_a_private_module_attribute_from_another_package():
    problems = _problems(("ostree_py.ops.fsck", "from ostree_py.core import objects\nobjects._wire(1)\n"),
                         ("ostree_py.core.objects", "def _wire(x): pass\n"))
    assert len(problems) == 1 and "private" in problems[0], problems


def test_checker_refuses_a_private_method_of_another_packages_object():
    problems = _problems(("ostree_py.ops.fsck", "def f(repo):\n    return repo._find('x')\n"),
                         ("ostree_py.repo.__init__", "class Repo:\n    def _find(self, c): pass\n"))
    assert len(problems) == 1 and "private attribute ._find" in problems[0], problems


def test_checker_refuses_a_cycle_between_packages():
    # Two packages at the same rank cannot be ordered: the cycle rule speaks.
    RANK["ostree_py.twin"] = RANK["ostree_py.ops"]
    try:
        problems = _problems(("ostree_py.ops.a", "import ostree_py.twin.b\n"),
                             ("ostree_py.twin.b", "import ostree_py.ops.a\n"))
    finally:
        del RANK["ostree_py.twin"]
    assert any(p.startswith("cycle between packages ostree_py.ops, ostree_py.twin") for p in problems), problems
