"""collab_core stays light and layered.

- Importing any of its modules pulls in neither streamlit nor umap (nor numba). Every module is found by
  walking the package, so a new one is checked without editing this test.
- Each package imports only from the layers below it (collab_core/__init__.py draws them), and the import graph
  of the product (collab_core, collab_server, collab_app) has no circle, lazy imports inside functions included.
"""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import importlib, pkgutil, sys
import collab_core
for module in pkgutil.walk_packages(collab_core.__path__, "collab_core."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'umap', 'numba'}))
"""
# collab_core's layers, lowest first; a module may import from its own layer or a lower one
LAYERS = {"errors": 0, "settings": 0, "data": 1, "model": 2, "analysis": 3, "runs": 3, "cli": 4, "bench": 4}
PRODUCT = ("collab_core", "collab_server", "collab_app")  # the same rule between packages: app > server > core


def _modules() -> dict[str, Path]:
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The product modules that module `name` imports anywhere in its code (top level or inside a function)."""
    path, found = MODULES[name], set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` folders up
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> tuple[int, int]:
    parts = name.split(".")
    if parts[0] != "collab_core" or len(parts) == 1:
        return PRODUCT.index(parts[0]), -1
    return 0, 99 if parts[1] == "__main__" else LAYERS[parts[1]]  # `python -m collab_core` sits on top


def test_no_module_of_collab_core_imports_streamlit_or_umap():
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_sub_package_of_collab_core_has_a_layer():
    packages = {path.parent.name for path in (ROOT / "collab_core").glob("*/__init__.py")}
    modules = {path.stem for path in (ROOT / "collab_core").glob("*.py") if not path.stem.startswith("__")}
    assert packages | modules == set(LAYERS), "add the new package or module to LAYERS (and collab_core's docstring)"


def test_each_layer_imports_only_from_itself_or_below():
    upward = []
    for name, imported in GRAPH.items():
        for target in imported:
            leaf = not GRAPH[target]  # a module that imports nothing of the product may be used anywhere
            if not leaf and _layer(target) > _layer(name) and target != "collab_core":
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_import_graph_has_no_circle():
    state, circles = {}, []

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_no_code_of_collab_core_imports_streamlit_even_inside_a_function():
    offenders = []
    for path in (ROOT / "collab_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "streamlit" for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "Streamlit code belongs in collab_app"
