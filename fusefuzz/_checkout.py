"""What a project folder does when it is imported under its bare name (``import kernels`` from a checkout's root,
where the current directory is first on ``sys.path``).

The folders ``harness/``, ``kernels/`` and ``properties/`` are ``fusefuzz.harness``, ``fusefuzz.kernels`` and
``fusefuzz.properties``. Imported as ``harness``, ``kernels`` or ``properties`` they would be a second copy of the
same code under another name (two registries, two sets of classes), and ``kernels`` would shadow HuggingFace's
``kernels`` distribution, which GPU users often have. So the folder hands the bare name to the next package of that
name on ``sys.path`` (HuggingFace's ``kernels``, say), or refuses with an ImportError that says what to import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def hand_over(name: str, init_file: str) -> None:
    """Called by ``<folder>/__init__.py`` when ``__name__`` is the bare ``name``: replace ``sys.modules[name]``
    with the next importable package called ``name`` outside this checkout, or raise ImportError."""
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(init_file)))
    elsewhere = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != checkout]
    spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
    if spec is None or spec.loader is None:
        raise ImportError(f"name={name!r} is fusefuzz's folder {checkout}/{name}, which is imported as "
                          f"fusefuzz.{name}: write `import fusefuzz.{name}` (no other {name!r} is installed)",
                          name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the import statement returns what sys.modules holds once this file has run
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
