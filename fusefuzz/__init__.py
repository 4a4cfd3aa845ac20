"""fusefuzz: differential fuzz testing of fused Triton kernels against their PyTorch reference.

One import namespace for the whole project:

* ``fusefuzz.harness``    the engine (campaigns, policies, runner, CLI, pytest plugin), folder ``harness/``;
* ``fusefuzz.kernels``    the bundled Triton kernels and their registry, folder ``kernels/``;
* ``fusefuzz.properties`` Hypothesis strategies and the property records, folder ``properties/``.

An install maps the three top-level folders under this package (``package-dir`` in pyproject.toml), so nothing
else is installed at top level. Run from a checkout without installing, this package adds the checkout root to
its own search path, so the same folders are found under the same names. Each folder refuses to be imported
under its bare name (see :mod:`fusefuzz._checkout`): one module, one name.
"""

import os as _os

__version__ = "0.1.0"

_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
_PARTS = ("harness", "kernels", "properties")

#: the checkout this package runs from (its folders beside this one: run without installing, or an editable
#: install), else None (an ordinary install); the kernel registry reads the checkout's entry points from it
CHECKOUT: str | None = None
if all(_os.path.isfile(_os.path.join(_ROOT, part, "__init__.py")) for part in _PARTS):
    __path__.append(_ROOT)  # noqa: F821 - a package's __path__; a checkout: the folders beside this one
    CHECKOUT = _ROOT
