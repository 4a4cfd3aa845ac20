"""No import cycle inside the package, and the engine imports no kernel module (tests/import_graph.py)."""

import os
import textwrap

from import_graph import cycles, describe, graph, modules, package_dirs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_package_has_no_import_cycle():
    edges = graph(ROOT)
    found = cycles(edges)
    assert not found, "import cycles inside fusefuzz:\n" + "\n\n".join(describe(edges, c) for c in found)


def test_the_graph_covers_every_module_and_sees_its_imports():
    dirs = package_dirs(ROOT)
    assert dirs == {"fusefuzz": "fusefuzz", "fusefuzz.harness": "harness", "fusefuzz.kernels": "kernels",
                    "fusefuzz.properties": "properties"}
    n_files = sum(f.endswith(".py") for d in dirs.values() for _, _, fs in os.walk(os.path.join(ROOT, d)) for f in fs)
    edges = graph(ROOT)
    assert len(edges) == n_files
    assert {"fusefuzz.harness.runner", "fusefuzz.harness.preflight"} <= edges["fusefuzz.harness.campaign"]
    assert "fusefuzz.harness.registry" in edges["fusefuzz.kernels.bundled"]
    assert "fusefuzz.harness.example" in edges["fusefuzz.properties._strategies"]


def test_the_engine_imports_no_kernel_module():
    edges = graph(ROOT)
    wrong = sorted(f"{a} -> {b}" for a, bs in edges.items() if a.startswith("fusefuzz.harness")
                   for b in bs if b.startswith("fusefuzz.kernels"))
    assert not wrong, "the engine imports kernels (they register with harness.registry):\n" + "\n".join(wrong)


def _package(tmp_path, files: dict[str, str]) -> dict[str, set[str]]:
    """A package ``cyc`` in folder ``src_cyc`` (mapped the way pyproject maps ours) holding ``files``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools.package-dir]\n"cyc" = "src_cyc"\n')
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / "src_cyc" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return graph(str(tmp_path))


def test_a_cyclic_pair_of_modules_is_a_cycle_and_its_acyclic_twin_is_not(tmp_path):
    a = "from . import b\nx = 1\n"
    cyclic = _package(tmp_path, {"a.py": a, "b.py": "def f():\n    from .a import x\n    return x\n"})
    assert cycles(cyclic) == [["cyc.a", "cyc.b"]]  # a function-level import counts
    assert describe(cyclic, ["cyc.a", "cyc.b"]) == "  cyc.a -> cyc.b\n  cyc.b -> cyc.a"

    twin = _package(tmp_path / "twin", {"a.py": a, "b.py": "def f():\n    return 1\n"})
    assert cycles(twin) == []
    assert twin["cyc.a"] == {"cyc.b"}


def test_absolute_imports_and_subpackages_count_too(tmp_path):
    files = {"sub/__init__.py": "", "sub/c.py": "import cyc.d as d\n", "d.py": "from cyc.sub import c\n",
             "e.py": "import os\nfrom cyc import d\n"}
    edges = _package(tmp_path, files)
    assert cycles(edges) == [["cyc.d", "cyc.sub.c"]]
    assert edges["cyc.e"] == {"cyc.d"}  # os is not the package's
    assert set(modules(str(tmp_path), {"cyc": "src_cyc"})) == {"cyc", "cyc.sub", "cyc.sub.c", "cyc.d", "cyc.e"}


def test_a_package_that_imports_its_module_which_imports_the_package_back_is_a_cycle(tmp_path):
    cyclic = _package(tmp_path, {"__init__.py": "from .m import f\nX = 1\n", "m.py": "from . import X\nf = X\n"})
    assert cycles(cyclic) == [["cyc", "cyc.m"]]
    twin = _package(tmp_path / "twin", {"__init__.py": "from .m import f\n", "base.py": "X = 1\n",
                                         "m.py": "from .base import X\nf = X\n"})
    assert cycles(twin) == []
