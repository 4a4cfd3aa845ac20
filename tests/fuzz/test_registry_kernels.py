"""One Hypothesis campaign per registered kernel (and per ``--fusefuzz-candidate`` file), marked ``fuzz``.

Skipped unless selected: ``pytest -m fuzz -n 2`` (one pytest-xdist worker per GPU), or HypoFuzz:
``hypothesis fuzz -- tests/fuzz``. See docs/scale-out.md.
"""

import pytest
from fusefuzz.harness.fuzzsuite import kernel_test

test_kernel = kernel_test()


@pytest.fixture(autouse=True)
def _isolated_database():
    """Overrides tests/conftest.py's fixture of this name: fuzz tests share the session's example
    database (``$FUSEFUZZ_DATABASE``, default ``.hypothesis/fusefuzz``: one for every xdist worker, so a
    failure found by one worker is replayed by the others) and run the checks ``$FUSEFUZZ_CHECKS`` names
    (default: all), like ``fusefuzz fuzz``."""
    yield
