"""The package's import graph, read from the source with :mod:`ast` (nothing is imported), and its cycles.

Every ``import`` and ``from ... import`` statement counts, wherever it stands (a function-level import is still
a dependency), except the implicit import of a module's parent packages. ``from package import name`` is an edge
to the submodule ``package.name`` when there is one, else to ``package``.

grimp (import-linter's graph) finds a package's modules by walking its folder; fusefuzz's sub-packages live in
sibling folders mapped by setuptools' ``package-dir``, so grimp would see only ``fusefuzz/`` from a checkout.
"""

from __future__ import annotations

import ast
import os
import re


def package_dirs(root: str) -> dict[str, str]:
    """``[tool.setuptools.package-dir]`` of ``root/pyproject.toml``: {package: folder}."""
    found, inside = {}, False
    with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                inside = line == "[tool.setuptools.package-dir]"
            elif inside and line:
                m = re.fullmatch(r'"([\w.]+)"\s*=\s*"([^"]+)"', line)
                if m is None:
                    raise ValueError(f"line={line!r} in [tool.setuptools.package-dir] is not \"package\" = \"folder\"")
                found[m.group(1)] = m.group(2)
    return found


def modules(root: str, packages: dict[str, str]) -> dict[str, str]:
    """{module name: file} for every ``.py`` file under each package's folder (``packages``: {package: folder
    relative to ``root``}); a folder that is another package's is left to that package."""
    folders = {os.path.normpath(os.path.join(root, d)): p for p, d in packages.items()}
    found = {}
    for folder, package in folders.items():
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames
                                 if os.path.join(dirpath, d) not in folders and d != "__pycache__")
            parts = os.path.relpath(dirpath, folder).split(os.sep)
            parts = [] if parts == ["."] else parts
            for name in sorted(filenames):
                if name.endswith(".py"):
                    stem = [] if name == "__init__.py" else [name[:-3]]
                    found[".".join([package, *parts, *stem])] = os.path.join(dirpath, name)
    return found


def _known(name: str, known) -> str | None:
    """``name`` or its longest prefix that is a known module."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph(root: str, packages: dict[str, str] | None = None) -> dict[str, set[str]]:
    """{module: modules of the package it imports} (imports of other distributions are left out)."""
    files = modules(root, package_dirs(root) if packages is None else packages)
    edges: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        here = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [_known(a.name, files) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in files else _known(base, files))
            edges[module].update(t for t in targets if t is not None and t != module)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def describe(edges: dict[str, set[str]], component: list[str]) -> str:
    """The imports inside one cycle, one ``a -> b`` per line."""
    inside = set(component)
    return "\n".join(f"  {a} -> {b}" for a in component for b in sorted(edges[a] & inside))
