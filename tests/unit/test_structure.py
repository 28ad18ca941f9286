"""The shape of the library, read from its source: no import cycles between flowdiff modules,
nothing but the CLI imports ``flowdiff.cli``, no module longer than :data:`MAX_LINES` without a
stated reason, and no private attribute of another package used outside ``flowdiff/compat.py``.

Each check parses the files (nothing is imported) and names the file and line that breaks it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "flowdiff"
#: a module over this many lines must say why in its docstring, with :data:`LONG_MODULE_MARKER`
MAX_LINES = 250
#: the phrase that introduces that reason (any case), e.g. "About 270 lines, over the house's
#: ~250: the class is ..."
LONG_MODULE_MARKER = "over the house's ~250"
#: the one module allowed to touch a dependency's private API (each use with its own test)
COMPAT = PACKAGE / "compat.py"


@dataclass
class Module:
    name: str  # dotted, e.g. flowdiff.paths.diffusion
    path: Path
    tree: ast.Module
    lines: int
    #: flowdiff modules imported when this one is imported: (name, line)
    eager: list[tuple[str, int]] = field(default_factory=list)
    #: every flowdiff module it imports, inside functions too: (name, line)
    imports: list[tuple[str, int]] = field(default_factory=list)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, name: str) -> str:
    """The dotted module ``from ... import`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = name.split(".")
    is_package = PACKAGE.joinpath(*package[1:], "__init__.py").is_file()
    base = package if is_package else package[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(node: ast.AST, name: str, known: set[str]) -> list[str]:
    """The flowdiff modules an import statement loads (``from a import b``: ``a.b`` when that
    is a module, else ``a``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "flowdiff"]
    if not isinstance(node, ast.ImportFrom):
        return []
    source = _absolute(node, name)
    if source.split(".")[0] != "flowdiff":
        return []
    found = [f"{source}.{alias.name}" for alias in node.names]
    return [m for m in found if m in known] + ([source] if source not in found else [])


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _eager_statements(body: list[ast.stmt]):
    """The statements run when the module is imported: not function bodies, not
    ``if TYPE_CHECKING:`` blocks; class bodies, ``try``/``if``/``with`` blocks included."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        type_checking = isinstance(statement, ast.If) and _is_type_checking(statement)
        if not type_checking:
            yield statement
        for child in ("orelse",) if type_checking else ("body", "orelse", "finalbody", "handlers"):
            yield from _eager_statements(getattr(statement, child, []))


@cache
def modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        name = module_name(path)
        found[name] = Module(name, path, ast.parse(text), len(text.splitlines()))
    known = set(found)
    for module in found.values():
        for node in ast.walk(module.tree):
            module.imports += [(m, node.lineno) for m in _imported(node, module.name, known)]
        for node in _eager_statements(module.tree.body):
            module.eager += [(m, node.lineno) for m in _imported(node, module.name, known)]
    return found


def _parents(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_graph() -> dict[str, set[str]]:
    """flowdiff module -> the flowdiff modules (and their packages) it imports at import time."""
    return {
        name: {m for imported, _ in module.eager for m in [imported, *_parents(imported)]}
        - {name, *_parents(name)}
        for name, module in modules().items()
    }


def package_of(name: str) -> str:
    """The first-level part of flowdiff a module belongs to: ``flowdiff.model.module`` ->
    ``flowdiff.model``; ``flowdiff.errors`` is its own."""
    return ".".join(name.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` between modules, seen between first-level packages (``flowdiff`` itself, the
    top-level ``__init__``, left out: every module imports it)."""
    packages: dict[str, set[str]] = {}
    for name, imported in graph.items():
        edges = {package_of(m) for m in imported if m != "flowdiff"} - {package_of(name)}
        packages.setdefault(package_of(name), set()).update(edges)
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of ``graph`` (Tarjan's strongly connected components of more than one node)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_cycles() -> list[list[str]]:
    """Every cycle of module-level imports between flowdiff modules."""
    return cycles(module_graph())


def test_no_import_cycles_between_flowdiff_modules():
    found = import_cycles()
    assert not found, "modules that import each other (at import time): " + "; ".join(
        " <-> ".join(cycle) for cycle in found
    )


def test_no_import_cycles_between_flowdiff_packages():
    """Packages are layers: ``model/`` may use ``checkpoints/``, not also the reverse."""
    found = cycles(package_graph(module_graph()))
    assert not found, "packages that import each other (at import time): " + "; ".join(
        " <-> ".join(cycle) for cycle in found
    )


def test_the_package_check_sees_a_loop_the_module_check_does_not():
    """The loop of before issue 21: checkpoints/loading imported model/module, which imported
    checkpoints/reading; no module imports itself back, the packages do."""
    graph = {
        "flowdiff.checkpoints.loading": {"flowdiff.model.module", "flowdiff.model"},
        "flowdiff.model.module": {"flowdiff.checkpoints.reading", "flowdiff.checkpoints"},
        "flowdiff.checkpoints.reading": {"flowdiff.errors"},
    }
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == [["flowdiff.checkpoints", "flowdiff.model"]]


def test_the_library_never_imports_the_cli():
    offenders = [
        f"{module.path.relative_to(SRC)}:{line} imports {imported}"
        for module in modules().values()
        if not module.name.startswith("flowdiff.cli")
        for imported, line in module.imports
        if imported == "flowdiff.cli" or imported.startswith("flowdiff.cli.")
    ]
    assert not offenders, "the CLI imports the library, never the reverse:\n" + "\n".join(offenders)


def test_long_modules_say_why():
    offenders = [
        f"{module.path.relative_to(SRC)}: {module.lines} lines"
        for module in modules().values()
        if module.lines > MAX_LINES
        and LONG_MODULE_MARKER.lower() not in (ast.get_docstring(module.tree) or "").lower()
    ]
    assert not offenders, (
        f"modules over {MAX_LINES} lines: split them by concept, or say why not in the module "
        f"docstring, with the phrase {LONG_MODULE_MARKER!r}:\n" + "\n".join(offenders)
    )


# --------------------------------------------------------------------------- private APIs
def _is_private(name: str) -> bool:
    """``_name`` but not ``__dunder__`` nor Hydra's ``_target_``-style keys."""
    return name.startswith("_") and not name.endswith("_")


@cache
def defined_private_names() -> frozenset[str]:
    """Private names flowdiff defines itself: functions, classes, assigned names and attributes,
    import aliases. Any other private attribute belongs to another package."""
    names = set()
    for module in modules().values():
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return frozenset(filter(_is_private, names))


def _foreign_module(dotted: str) -> bool:
    return dotted.split(".")[0] != "flowdiff"


def private_uses(module: Module) -> list[str]:
    """``file:line what`` for each use of another package's private name in ``module``."""
    own = defined_private_names()
    where = module.path.relative_to(SRC)
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr) and node.attr not in own:
            found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and _foreign_module(_absolute(node, module.name)):
            source = _absolute(node, module.name)
            names = [alias.name for alias in node.names]
            if any(map(_is_private, source.split("."))) or any(map(_is_private, names)):
                found.append(f"{where}:{node.lineno} from {source} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _foreign_module(alias.name) and any(map(_is_private, alias.name.split("."))):
                    found.append(f"{where}:{node.lineno} import {alias.name}")
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and any(map(_is_private, str(node.args[0].value).split(".")))
        ):
            found.append(f"{where}:{node.lineno} import_module({node.args[0].value!r})")
    return found


def test_private_apis_of_dependencies_only_in_compat():
    offenders = [
        use
        for module in modules().values()
        if module.path != COMPAT
        for use in private_uses(module)
    ]
    assert not offenders, (
        "private attributes of other packages (any minor release may break them) belong in "
        "flowdiff/compat.py, each with a test:\n" + "\n".join(offenders)
    )


# --------------------------------------------------------------------------- the checks can fail
def _module_of(source: str, name: str = "flowdiff.example") -> Module:
    path = PACKAGE / "example.py"  # where it would live; only parsed
    return Module(name, path, ast.parse(source), len(source.splitlines()))


def test_private_use_check_sees_each_kind():
    source = "\n".join(
        [
            "import importlib",
            "import torch",
            "from lightning.fabric.utilities.seed import _collect_rng_states",
            "from torchdiffeq._impl import odeint",
            "SOLVERS = importlib.import_module('torchdiffeq._impl.odeint').SOLVERS",
            "def norms(trainer, grads):",
            "    trainer._logger_connector.should_update_logs",
            "    return torch._foreach_norm(grads), trainer._target_",
        ]
    )
    uses = private_uses(_module_of(source))
    for expected in (
        "import _collect_rng_states",
        "from torchdiffeq._impl import",
        "import_module('torchdiffeq._impl.odeint')",
        "trainer._logger_connector",
        "torch._foreach_norm",
    ):
        assert any(expected in use for use in uses), (expected, uses)
    assert not any("_target_" in use for use in uses)


def test_long_module_check_reads_the_docstring(monkeypatch):
    def long(docstring: str) -> Module:
        source = f'"""{docstring}"""\n' + "x = 1\n" * MAX_LINES
        return _module_of(source)

    monkeypatch.setitem(globals(), "modules", lambda: {"a": long("Short and sweet.")})
    with pytest.raises(AssertionError, match=r"example\.py"):
        test_long_modules_say_why()
    reason = "About 270 lines, over the house's ~250: one class, short methods."
    monkeypatch.setitem(globals(), "modules", lambda: {"a": long(reason)})
    test_long_modules_say_why()


def test_cycle_finder_finds_a_cycle(monkeypatch):
    fake = {
        "flowdiff.a": Module("flowdiff.a", PACKAGE / "a.py", ast.parse(""), 0, [("flowdiff.b", 1)]),
        "flowdiff.b": Module("flowdiff.b", PACKAGE / "b.py", ast.parse(""), 0, [("flowdiff.a", 1)]),
        "flowdiff.c": Module("flowdiff.c", PACKAGE / "c.py", ast.parse(""), 0, [("flowdiff.a", 1)]),
    }
    monkeypatch.setitem(globals(), "modules", lambda: fake)
    assert import_cycles() == [["flowdiff.a", "flowdiff.b"]]
