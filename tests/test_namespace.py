"""One import package, fusefuzz: pyproject installs every package folder under it, and an install of the project
lives beside HuggingFace's ``kernels`` distribution in one virtualenv (both import, ``fusefuzz fuzz`` and the
pytest plugin work), installed or run from this checkout."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF_KERNELS = "kernels==0.17.2"  # HuggingFace's distribution; its top-level package is `kernels`, like our folder


def _packages_in_pyproject() -> list[str]:
    text = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    block = re.search(r"^\[tool\.setuptools\]\npackages = \[(.*?)\]", text, re.S | re.M)
    return re.findall(r'"([\w.]+)"', block.group(1))


def test_pyproject_installs_every_package_folder_under_fusefuzz():
    mapping = {"fusefuzz": "fusefuzz", "fusefuzz.harness": "harness", "fusefuzz.kernels": "kernels",
               "fusefuzz.properties": "properties"}
    folders = set()
    for package, folder in mapping.items():
        for dirpath, dirnames, files in os.walk(os.path.join(ROOT, folder)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in files:
                rel = os.path.relpath(dirpath, os.path.join(ROOT, folder))
                folders.add(package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}")
    assert sorted(_packages_in_pyproject()) == sorted(folders)


def _run(cmd, cwd, env, timeout=300):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} (in {cwd}) exited {proc.returncode}:\n" \
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.network
def test_installed_beside_huggingface_kernels_in_one_virtualenv(tmp_path):
    """A virtualenv holding HuggingFace's ``kernels`` gets this project installed (not editable, from a copy of
    the checkout); torch, triton and the rest come from the running environment (a .pth line), so nothing large
    is installed. Needs PyPI: skipped when ``kernels`` cannot be downloaded."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip"]
    wheels = tmp_path / "wheels"
    got = subprocess.run([*pip, "download", "--quiet", "--no-deps", HF_KERNELS, "-d", str(wheels)],
                         env=env, capture_output=True, text=True, timeout=180)
    if got.returncode != 0:
        last = (got.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot download {HF_KERNELS} (needs network to PyPI): {last}")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(site, "outer-environment.pth"), "w") as f:  # after the venv's own site-packages
        f.write("".join(f"{p}\n" for p in sorted(outer)))
    into = [*pip, "--python", python, "install", "--quiet"]
    _run([*into, "--find-links", str(wheels), HF_KERNELS], tmp_path, env)

    copy = tmp_path / "clone"  # a copy, so the build writes nothing into the checkout
    for name in ("fusefuzz", "harness", "kernels", "properties"):
        shutil.copytree(os.path.join(ROOT, name), copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), copy / name)
    _run([*into, "--no-deps", "--no-build-isolation", str(copy)], tmp_path, env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = textwrap.dedent(f"""
        import importlib.metadata, kernels, fusefuzz, fusefuzz.kernels
        from fusefuzz.harness import registry
        site = {site!r}
        assert kernels.__file__.startswith(site) and callable(kernels.get_kernel), kernels.__file__
        assert fusefuzz.__file__.startswith(site) and fusefuzz.CHECKOUT is None, fusefuzz.__file__
        assert fusefuzz.kernels.__file__.startswith(site), fusefuzz.kernels.__file__
        eps = [ep for ep in importlib.metadata.entry_points(group=registry.GROUP)
               if str(ep.dist.locate_file("")).startswith(site)]
        assert [ep.value for ep in eps] == ["fusefuzz.kernels.bundled"], eps
        assert "layernorm.fused" in [r.name for r in registry.all_kernels()]
        print("installed ok")
    """)
    assert "installed ok" in _run([python, "-c", installed], elsewhere, env)
    _run([str(venv / "bin" / "fusefuzz"), "fuzz", "--kernel", "layernorm.fused", "--max-examples", "1",
          "--checks", "none", "--no-isolate", "--quiet", "--json", "fuzz.json"], elsewhere, {**env, "CI": "true"})
    report = json.loads((elsewhere / "fuzz.json").read_text())
    assert '"verdict": "pass"' in json.dumps(report) and "layernorm.fused" in json.dumps(report), report
    (elsewhere / "test_beside.py").write_text(textwrap.dedent("""
        import kernels

        def test_plugin_and_hf_kernels(fusefuzz_check):
            assert callable(kernels.get_kernel)
            result = fusefuzz_check("layernorm.fused", problem="layernorm", max_examples=1)
            assert result.verdict == "pass", result.verdict
    """))
    out = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_beside.py"], elsewhere,
               {**env, "CI": "true", "FUSEFUZZ_CHECKS": "none"})
    assert "1 passed" in out, out  # fusefuzz_check is the plugin's fixture (pytest11 entry point)

    from_checkout = textwrap.dedent(f"""
        import kernels, fusefuzz, fusefuzz.kernels
        from fusefuzz.harness import registry
        assert kernels.__file__.startswith({site!r}) and callable(kernels.get_kernel), kernels.__file__
        assert fusefuzz.CHECKOUT == {ROOT!r} and fusefuzz.kernels.__file__.startswith({ROOT!r})
        assert "layernorm.fused" in [r.name for r in registry.all_kernels()]
        try:
            import harness
        except ImportError as e:
            assert "import fusefuzz.harness" in str(e), e
        else:
            raise AssertionError(f"harness imported under its bare name: {{harness.__file__}}")
        print("checkout ok")
    """)
    assert "checkout ok" in _run([python, "-c", from_checkout], ROOT, env)
    out = _run([python, "-m", "fusefuzz.harness.cli", "list"], ROOT, env)
    assert "kernel  layernorm.fused" in out, out
