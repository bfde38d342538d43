from pathlib import Path

import pytest
from pydantic import ValidationError

from fengkong.settings import Settings


def test_sqlite_under_the_data_dir_is_the_default(tmp_path):
    assert (
        Settings(data_dir=tmp_path).resolved_database_url()
        == f"sqlite:///{tmp_path.as_posix()}/fengkong.db"
    )


def test_environment_variables_use_the_fengkong_prefix(monkeypatch):
    monkeypatch.setenv("FENGKONG_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("FENGKONG_DATA_DIR", "/srv/fk")
    settings = Settings()
    assert settings.resolved_database_url().startswith("postgresql+psycopg://")
    assert settings.data_dir == Path("/srv/fk")


def test_unknown_log_level_is_refused():
    with pytest.raises(ValidationError, match="log_level"):
        Settings(log_level="LOUD")
