"""The engine's kernel registry finds kernels through the ``fusefuzz.kernels`` entry-point group: installed
distributions' entry points, and the checkout's pyproject.toml when run from one (harness/registry.py)."""

import os
import sys

import pytest
from fusefuzz.harness import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry's state as now, restored afterwards (a test plugin's kernels do not stay registered)."""
    registry.all_kernels()
    monkeypatch.setattr(registry, "_KERNELS", dict(registry._KERNELS))
    monkeypatch.setattr(registry, "_LOADED", set(registry._LOADED))
    return registry


def _plugin(tmp_path, name, body):
    """A distribution named ``name`` that declares module ``name`` in the group, as an installed one would."""
    (tmp_path / f"{name}.py").write_text(body)
    info = tmp_path / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{registry.GROUP}]\nmine = {name}\n")


def test_the_checkouts_pyproject_declares_the_bundled_kernels():
    eps = registry.checkout_entry_points(ROOT)
    assert [(ep.name, ep.value, ep.group) for ep in eps] == [("bundled", "fusefuzz.kernels.bundled", registry.GROUP)]
    assert registry.fusefuzz.CHECKOUT == ROOT  # the tests run from this checkout
    assert "fusefuzz.kernels.bundled" in [ep.value for ep in registry.entry_points()]


def test_a_malformed_line_in_the_table_is_a_one_line_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[project.entry-points."{registry.GROUP}"]\n'
                                             'bundled = fusefuzz.kernels.bundled\n\n[tool.x]\ny = "z"\n')
    with pytest.raises(ValueError, match=r"line='bundled = fusefuzz.kernels.bundled' .* is not name = \"module\""):
        registry.checkout_entry_points(str(tmp_path))
    (tmp_path / "pyproject.toml").write_text(f'[project.entry-points."{registry.GROUP}"]\nb = "m.n"  # note\n'
                                             '[tool.x]\ny = "z"\n')
    assert [(ep.name, ep.value) for ep in registry.checkout_entry_points(str(tmp_path))] == [("b", "m.n")]


def test_another_distribution_registers_its_kernels_through_the_entry_point(tmp_path, monkeypatch, fresh_registry):
    name = "fusefuzz_test_plugin_ok"
    _plugin(tmp_path, name, "from fusefuzz.harness.registry import KernelRecord, register\n"
                            "register(KernelRecord(name='plugin.layernorm', problem='layernorm', precision='ieee',\n"
                            "    module='fusefuzz.kernels.layernorm', description='from a plugin'))\n")
    before = {r.name for r in registry.all_kernels()}
    assert "plugin.layernorm" not in before  # the twin: not there until the distribution is on the path
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    names = {r.name for r in registry.all_kernels()}
    assert names == before | {"plugin.layernorm"}
    assert registry.get("plugin.layernorm").problem == "layernorm"
    sys.modules.pop(name, None)


def test_a_broken_plugin_is_named_in_one_line(tmp_path, monkeypatch, fresh_registry):
    name = "fusefuzz_test_plugin_broken"
    _plugin(tmp_path, name, "raise RuntimeError('no GPU\\n here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=rf"^kernel entry point mine='{name}' \(group fusefuzz.kernels\) failed "
                                          r"to import: RuntimeError: no GPU here; fix or uninstall"):
        registry.all_kernels()
    sys.modules.pop(name, None)


def test_an_unknown_name_lists_the_registered_kernels():
    with pytest.raises(KeyError, match=r"no kernel or file named 'nope'; registered kernels: .*layernorm.fused"):
        registry.get("nope")
