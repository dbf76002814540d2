"""The layers of design.md, enforced: imports go one way and no module imports in a cycle.

Every import counts, those inside functions included (a function-level import that dodges
a cycle is still the cycle). Layers, top to bottom:
``app, optviz_cli, viz.notebook → viz.ui → viz.figures, viz.gif → viz.scene → optimizers →
surfaces``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("surfaces", "optimizers", "viz")
TOP = ("app", "optviz_cli")

# rank: a module may import only modules of a lower or equal rank (equal: same layer)
LAYERS = {
    "surfaces": 0,
    "optimizers": 1,
    "viz.scene": 2,
    "viz.figures": 3,
    "viz.gif": 3,
    "viz.ui": 4,
    "viz": 2,  # the package itself (empty)
    "viz.notebook": 5,  # the notebook API: shows the app, exports (an entry point like the CLI)
    "app": 5,
    "optviz_cli": 5,
}
# third-party packages a layer must not import
FORBIDDEN = {
    "surfaces": {"dash", "plotly", "PIL", "flask"},
    "optimizers": {"dash", "plotly", "PIL", "flask", "sympy"},
    "viz.scene": {"dash", "plotly", "PIL", "flask"},
    "viz.figures": {"dash", "PIL", "flask"},
    "viz.gif": {"dash", "plotly", "flask"},
}


def modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def layer(name: str) -> str:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    raise AssertionError(f"{name} is in no layer")


def imports(name: str) -> set[str]:
    """Every module name ``name`` imports, anywhere in its file (relative ones resolved)."""
    path = MODULES[name]
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def own(target: str) -> str | None:
    """The project's module that ``target`` names (a submodule, or the module of a name)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def edges(name: str) -> set[str]:
    path = MODULES[name]
    out = set()
    for t in imports(name):
        m = own(t)
        # a package's __init__ re-exporting its own submodules is not an edge back
        if m and m != name and not (path.name == "__init__.py" and m.startswith(name + ".")):
            out.add(m)
    return out


GRAPH = {m: edges(m) for m in MODULES}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_the_layers(name):
    mine = LAYERS[layer(name)]
    up = sorted(t for t in GRAPH[name] if LAYERS[layer(t)] > mine)
    assert not up, f"{name} ({layer(name)}) imports a higher layer: {up}"
    banned = FORBIDDEN.get(layer(name), set())
    third = {t.split(".")[0] for t in imports(name)} & banned
    assert not third, f"{name} imports {sorted(third)}, which its layer must not"


def test_dash_is_imported_only_by_the_ui_and_the_entry_points():
    users = sorted(
        m
        for m in MODULES
        if "dash" in {t.split(".")[0] for t in imports(m)} and layer(m) != "viz.ui"
    )
    assert set(users) <= {"app"}, users


def test_no_import_cycle_counting_imports_inside_functions():
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in sorted(GRAPH):
        if m not in index:
            visit(m)
    assert cycles == []


def test_the_checker_sees_a_cycle_hidden_in_a_function(tmp_path, monkeypatch):
    """The walker itself: an import inside a function is an edge like any other."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    import a\n")
    monkeypatch.setitem(MODULES, "a", tmp_path / "a.py")
    monkeypatch.setitem(MODULES, "b", tmp_path / "b.py")
    assert edges("a") == {"b"} and edges("b") == {"a"}
