import os

import pytest

HERE = os.path.dirname(__file__)
CANDIDATES = os.path.join(HERE, "candidates")
REPO = os.path.dirname(HERE)


@pytest.fixture(autouse=True)
def _isolated_database(tmp_path, monkeypatch):
    """Each test gets its own Hypothesis example database: no test replays another's failures."""
    monkeypatch.setenv("FUSEFUZZ_DATABASE", str(tmp_path / "hypothesis-db"))


def candidate_path(name: str) -> str:
    return os.path.join(CANDIDATES, name)
