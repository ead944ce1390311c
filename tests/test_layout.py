"""The layers: imports flow one way (plugin and applications -> core), with no circles.

The import graph is read from the source with ``ast`` (every import, including those inside
functions), so a lazy import cannot hide an upward dependency or a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

#: package name -> folder
PACKAGES = {
    "inr_amr_core": ROOT / "inr_amr_core",
    "inr_amr_apps": ROOT / "inr_amr_apps",
    "inr_amr_paraview": ROOT / "plugin",
}
#: which packages each package may import
ALLOWED = {
    "inr_amr_core": {"inr_amr_core"},
    "inr_amr_apps": {"inr_amr_core", "inr_amr_apps"},
    "inr_amr_paraview": {"inr_amr_core", "inr_amr_paraview"},
}


def modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            if rel.parts[0] in ("site", "pvscripts", "tools") or rel.name == "inr_amr_plugin":
                continue  # scripts run by ParaView, not modules of the package
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                target = ".".join(prefix + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # `from . import x` imports a module
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m in imports_of(name, path) if m in mods and m != name} for name, path in mods.items()}


def test_imports_flow_one_way():
    for name, path in modules().items():
        package = name.split(".")[0]
        project = {m.split(".")[0] for m in imports_of(name, path)} & set(PACKAGES)
        assert project <= ALLOWED[package], f"{name} imports {sorted(project - ALLOWED[package])}"


def test_core_imports_no_front_end_library():
    for name, path in modules().items():
        if not name.startswith("inr_amr_core"):
            continue
        top = {m.split(".")[0] for m in imports_of(name, path)}
        assert not top & {"paraview", "matplotlib", "argparse"}, name
        if name != "inr_amr_core.vtk":
            assert not top & {"vtk", "vtkmodules"}, f"{name}: only inr_amr_core.vtk may import VTK"


def test_no_import_cycles():
    g = graph()
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    # a package's __init__ that re-exports its modules lazily is not a cycle: it imports none at run time
    assert not cycles, f"import cycles: {cycles}"


def test_importing_the_core_loads_no_front_end():
    code = (
        "import sys, inr_amr_core, inr_amr_core.settings; print(sorted(m for m in ('torch', 'matplotlib', "
        "'argparse', 'paraview', 'vtkmodules') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"  # not even torch: the settings load on their own (the ParaView panel)
    code = (
        "import sys, inr_amr_core.amr, inr_amr_core.session, inr_amr_core.checkpoint; "
        "print(sorted(m for m in ('matplotlib', 'paraview', 'vtkmodules') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
