"""Policy versions and decisions in SQLite and PostgreSQL: maker-checker, activation,
rollback, immutability, and decisions stored with their full audit record."""

import datetime as dt

import pytest
import yaml

from fengkong.errors import ConfigError, NotFoundError, WorkflowError
from fengkong.policy.examples import reference_applications, write_reference_policy
from fengkong.services import policies as svc

AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def _bump(path, version):
    data = yaml.safe_load(path.read_text())
    data["version"] = version
    data["rules"][3]["when"] = f"credit_score < {430 + int(version)}"
    out = path.with_name(f"credit_v{version}.yaml")
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def test_maker_checker_activation_and_rollback(sessions, tmp_path):
    v1 = write_reference_policy(tmp_path)
    v2 = _bump(v1, "2")
    with sessions.begin() as s:
        info = svc.submit_policy(s, v1, author="alice", at=AT)
        assert info.status == "draft" and info.version == "1"
        assert svc.submit_policy(s, v1, author="alice", at=AT).sha256 == info.sha256  # idempotent
        with pytest.raises(WorkflowError, match="maker-checker"):
            svc.promote(s, "credit", "1", to="approved", actor="alice", at=AT)
        with pytest.raises(WorkflowError, match="approved by a second person"):
            svc.promote(s, "credit", "1", to="active", actor="bob", at=AT)
        svc.promote(s, "credit", "1", to="approved", actor="bob", at=AT)
        svc.promote(s, "credit", "1", to="active", actor="bob", at=AT)
        svc.submit_policy(s, v2, author="carol", at=AT)
        svc.promote(s, "credit", "2", to="approved", actor="alice", at=AT)
        svc.promote(s, "credit", "2", to="active", actor="alice", at=AT)
        assert [(v.version, v.status) for v in svc.list_versions(s, "credit")] == [
            ("1", "retired"),
            ("2", "active"),
        ]
        assert svc.load_version(s, "credit").version == "2"
        svc.promote(s, "credit", "1", to="active", actor="bob", at=AT, note="v2 declines too much")
        assert svc.load_version(s, "credit").version == "1"
        actions = [a for a, *_ in svc.history(s, "credit", "1")]
        assert actions == ["submitted", "approved", "activated", "retired", "rolled_back"]


def test_versions_are_immutable_and_bad_files_never_stored(sessions, tmp_path):
    path = write_reference_policy(tmp_path)
    with sessions.begin() as s:
        svc.submit_policy(s, path, author="alice", at=AT)
    changed = yaml.safe_load(path.read_text())
    changed["rules"][0]["when"] = "age < 21"
    path.write_text(yaml.safe_dump(changed))
    with sessions.begin() as s, pytest.raises(WorkflowError, match="immutable"):
        svc.submit_policy(s, path, author="alice", at=AT)
    changed["rules"][0]["when"] = "age <"
    changed["version"] = "9"
    path.write_text(yaml.safe_dump(changed))
    with sessions.begin() as s, pytest.raises(ConfigError):
        svc.submit_policy(s, path, author="alice", at=AT)
    with sessions.begin() as s:
        assert [v.version for v in svc.list_versions(s)] == ["1"]
        with pytest.raises(NotFoundError):
            svc.load_version(s, "credit", "9")


def test_a_stored_version_decides_like_the_file_and_decisions_keep_their_audit(sessions, tmp_path):
    path = write_reference_policy(tmp_path)
    with sessions.begin() as s:
        svc.submit_policy(s, path, author="alice", at=AT)
        svc.promote(s, "credit", "1", to="approved", actor="bob", at=AT)
        svc.promote(s, "credit", "1", to="active", actor="bob", at=AT)
        policy = svc.load_version(s, "credit")
    app = reference_applications(1, seed=4).to_dicts()[0] | {"age": 17}
    decision = policy.decide(app)
    with sessions.begin() as s:
        key = svc.record_decision(s, decision, at=AT, application_id=app["application_id"])
    with sessions.begin() as s:
        stored = svc.get_decision(s, key)
    assert stored["decision"] == "decline" and stored["reasons"][0] == "R01_UNDERAGE"
    assert stored["inputs"]["age"] == 17
    assert sum(stored["points"]["credit"].values()) == stored["variables"]["credit_score"]
    assert stored["sha256"] == policy.sha256 and stored["outputs"]["limit_fen"] >= 0
    assert set(stored["timings_ns"]) >= {"inputs", "credit", "limit"}
