"""The example database the fuzz tests share (fusefuzz.harness.profiles): one directory for every worker, plus
read-only directories (a CI cache) whose examples are replayed but never changed."""

from fusefuzz.harness import profiles
from hypothesis.database import DirectoryBasedExampleDatabase


def test_readonly_directories_are_replayed_but_never_written(tmp_path, monkeypatch):
    cache, local = tmp_path / "ci-cache", tmp_path / "local"
    DirectoryBasedExampleDatabase(str(cache)).save(b"key", b"failure-from-nightly")
    monkeypatch.setenv(profiles.DATABASE_ENV, str(local))
    monkeypatch.setenv(profiles.READONLY_DATABASE_ENV, str(cache))
    db = profiles.database()
    assert set(db.fetch(b"key")) == {b"failure-from-nightly"}
    db.save(b"key", b"found-here")
    db.delete(b"key", b"failure-from-nightly")  # Hypothesis deletes replayed examples that pass now
    assert set(DirectoryBasedExampleDatabase(str(cache)).fetch(b"key")) == {b"failure-from-nightly"}
    assert set(DirectoryBasedExampleDatabase(str(local)).fetch(b"key")) == {b"found-here"}
    assert profiles.get("dev").database == db  # every settings object of a run opens the same databases


def test_without_readonly_directories_the_database_is_the_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(profiles.DATABASE_ENV, str(tmp_path / "db"))
    monkeypatch.delenv(profiles.READONLY_DATABASE_ENV, raising=False)
    assert profiles.database() == DirectoryBasedExampleDatabase(str(tmp_path / "db"))
