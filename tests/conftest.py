import os

import pytest

HERE = os.path.dirname(__file__)
CANDIDATES = os.path.join(HERE, "candidates")
REPO = os.path.dirname(HERE)


@pytest.fixture(autouse=True)
def _isolated_database(tmp_path, monkeypatch):
    """Each test gets its own Hypothesis example database: no test replays another's failures."""
    monkeypatch.setenv("FUSEFUZZ_DATABASE", str(tmp_path / "hypothesis-db"))
    # Tests of the engine check equality (and mutation) only, which keeps the interpreter runs short;
    # the property tests and the zoo kill-rate test ask for every check explicitly.
    monkeypatch.setenv("FUSEFUZZ_CHECKS", "mutation")


def candidate_path(name: str) -> str:
    return os.path.join(CANDIDATES, name)
