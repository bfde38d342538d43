"""Who acts in ``fengkong policy promote``: FENGKONG_OPERATOR or an API key's holder, never
typed; look-alikes of the author's name (case, spaces, full-width, ligature, mathematical
letters) cannot approve the author's version; an unconfigured identity is a clear error."""

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.db import make_engine, migrate, session_factory
from fengkong.db.models import ApiKeyRecord, PolicyEventRecord, PolicyVersionRecord
from fengkong.policy.examples import write_reference_policy
from fengkong.services.access import create_api_key

runner = CliRunner()
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
LOOK_ALIKES = ["Alice", "alice ", "  ALICE", "ＡＬＩＣＥ", "ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ⓐⓛⓘⓒⓔ"]


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    env = {"COLUMNS": "200", "FENGKONG_DATABASE_URL": url}
    policy = write_reference_policy(tmp_path / "policy")
    submit = runner.invoke(
        app, ["policy", "promote", str(policy)], env=env | {"FENGKONG_OPERATOR": " Ａｌｉｃｅ "}
    )
    assert submit.exit_code == 0, submit.output
    assert "credit@1: draft (author alice," in submit.output  # stored normalised
    yield sessions, env
    engine.dispose()


def _status(sessions) -> str:
    with sessions() as s:
        return s.scalar(select(PolicyVersionRecord.status))


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_operator_cannot_approve_the_authors_version(world, name):
    sessions, env = world
    own = runner.invoke(
        app,
        ["policy", "promote", "credit@1", "--to", "approved"],
        env=env | {"FENGKONG_OPERATOR": name},
    )
    assert own.exit_code == 2 and "maker-checker" in own.output, own.output
    assert _status(sessions) == "draft"


def test_a_look_alike_key_holder_cannot_approve_and_a_second_person_can(world):
    sessions, env = world
    keys = {}
    with sessions.begin() as s:
        for name in LOOK_ALIKES:  # as a key created before names were normalised would be
            key = f"fk_legacy_{len(keys)}"
            s.add(ApiKeyRecord(name=name, role="risk_analyst", subject=None, created_at=NOW,
                               key_hash=hashlib.sha256(key.encode()).hexdigest()))  # fmt: skip
            keys[name] = key
        bob = create_api_key(s, name="Bob", role="risk_analyst", at=NOW)
        carl = create_api_key(s, name="carl", role="collector", subject="C-7", at=NOW)
    approve = ["policy", "promote", "credit@1", "--to", "approved"]
    for name, key in keys.items():
        own = runner.invoke(app, approve, env=env | {"FENGKONG_API_KEY": key})
        assert own.exit_code == 2 and "maker-checker" in own.output, (name, own.output)
    refused = runner.invoke(app, [*approve, "--api-key", carl], env=env)
    assert refused.exit_code == 2 and "a key with the role admin or risk_analyst" in refused.output
    unknown = runner.invoke(app, [*approve, "--api-key", "fk_not_a_key_at_all"], env=env)
    assert unknown.exit_code == 2 and "a live API key" in unknown.output
    assert "fk_not_a_key_at_all" not in unknown.output  # a key is never printed
    mixed = runner.invoke(app, approve, env=env | {"FENGKONG_API_KEY": bob,
                                                   "FENGKONG_OPERATOR": "alice"})  # fmt: skip
    assert mixed.exit_code == 2 and "FENGKONG_OPERATOR" in mixed.output
    assert _status(sessions) == "draft"
    ok = runner.invoke(app, [*approve, "--api-key", bob], env=env | {"FENGKONG_OPERATOR": "BOB"})
    assert ok.exit_code == 0 and "approved by bob" in ok.output, ok.output
    with sessions() as s:
        actors = s.scalars(select(PolicyEventRecord.actor).order_by(PolicyEventRecord.id)).all()
    assert actors == ["alice", "bob"]


def test_no_identity_or_a_bad_one_is_a_clear_error_and_changes_nothing(world):
    sessions, env = world
    approve = ["policy", "promote", "credit@1", "--to", "approved"]
    none = runner.invoke(app, approve, env=env)
    assert none.exit_code == 2
    assert "FENGKONG_OPERATOR=<your name>" in none.output and "FENGKONG_API_KEY" in none.output
    for bad, why in (("", "not empty"), ("   ", "not empty"), ("bo\tb", "control"),
                     ("bo\u200bb", "invisible"), ("b" * 65, "at most 64")):  # fmt: skip
        res = runner.invoke(app, approve, env=env | {"FENGKONG_OPERATOR": bad})
        assert res.exit_code == 2 and "FENGKONG_OPERATOR:" in res.output, (bad, res.output)
        assert why in res.output
    typed = runner.invoke(app, [*approve, "--by", "bob"], env=env)
    assert typed.exit_code == 2 and "--by" in typed.output  # no free-text identity
    assert _status(sessions) == "draft"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(PolicyEventRecord)) == 1
