"""The masking policy as data: every role covered, each kind masked deterministically keeping a
working part, counts and flags never masked, personal text found inside any string, logs."""

from __future__ import annotations

import logging
import logging.config

import pytest

from fengkong.cli._console import configure_logging
from fengkong.services.access import (
    ROLES,
    PersonalDataFilter,
    load_masking_policy,
    mask_personal,
    mask_text,
    masked_log_config,
)

RECORD = {
    "mobile": "13800138000",
    "emergency_phone": 13912345678,
    "bank_card": "6238123412341234",
    "id_number": "11010119900307123X",
    "address": "sichuan/mianyang/d11/road801/no031",
    "device_id": "d30daf85846b6edf2",
    "ip": "157.79.212.49",
    "contact_name": "王小明",
    "shared_mobile": 3,
    "persons_per_device": 2,
    "app_cnt_device_7d": 4,
    "device_count": 5,
    "mobile_changes": 1,
    "bureau_past_delinquency": True,
    "age": 30,
    "decision_id": "019ca6b1dc0013800138000abcdef012",
    "graph": ["mobile|17548897599 (3 holders)", "device|d1a7bb7b240043639", "person:12"],
    "note": "called +86 13800138000 from 10.1.2.3, mail li.lei@example.cn",
}


def test_every_role_is_in_the_policy_and_only_admin_and_auditor_see_clear():
    policy = load_masking_policy()
    assert set(policy.roles) == set(ROLES)
    assert [r for r in ROLES if policy.sees_clear(r)] == ["admin", "auditor"]
    assert not policy.sees_clear("intruder")  # an unknown role: masked


@pytest.mark.parametrize("role", ["risk_analyst", "collector", "service", "nobody"])
def test_masked_roles_get_a_working_part_and_counts_stay_numbers(role):
    shown = mask_personal(RECORD, role=role)
    assert shown == mask_personal(RECORD, role=role)  # deterministic
    assert shown["mobile"] == "138****8000"
    assert shown["emergency_phone"] == "139****5678"
    assert shown["bank_card"] == "623812******1234"
    assert shown["id_number"] == "**************123X"
    assert shown["address"] == "sichuan/mianyang/*/*/*"
    assert shown["device_id"] == "*************edf2"
    assert shown["ip"] == "157.79.*.*"
    assert shown["contact_name"] == "王**"
    for key in ("shared_mobile", "persons_per_device", "app_cnt_device_7d", "age", "device_count", "mobile_changes",
                "bureau_past_delinquency", "decision_id"):  # fmt: skip
        assert shown[key] == RECORD[key], key
    assert shown["graph"] == ["mobile|175****7599 (3 holders)", "device|*************3639",
                              "person:12"]  # fmt: skip
    assert "13800138000" not in shown["note"] and "10.1.2.3" not in shown["note"]
    assert "li.lei@" not in shown["note"]


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_clear_roles_get_the_data_itself(role):
    assert mask_personal(RECORD, role=role) is RECORD
    assert mask_text("call 13800138000", role=role) == "call 13800138000"


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("fengkong.test_masking")
    handler = logging.Handler()
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(PersonalDataFilter())
    logger.addHandler(handler)
    try:
        logger.warning("declined %s on card %s", "13800138000", "6238123412341234")
    finally:
        logger.removeHandler(handler)
    assert seen == ["declined 138****8000 on card 623812******1234"]


def test_the_cli_log_handler_masks(capsys):
    configure_logging("WARNING")
    try:
        logging.getLogger("fengkong.test_cli_log").warning("borrower 13800138000 unreachable")
        try:
            raise ValueError("card 6238123412341234 refused")
        except ValueError:
            logging.getLogger("fengkong.test_cli_log").exception("failed for %s", "13800138000")
    finally:
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    err = capsys.readouterr().err
    assert "138****8000" in err and "13800138000" not in err
    assert "6238123412341234" not in err and "623812******1234" in err


def test_the_service_logs_are_masked_and_the_access_log_still_formats(capsys):
    config = masked_log_config("info")
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    logging.config.dictConfig(config)
    try:
        logging.getLogger("uvicorn.error").warning("contact 13800138000 failed")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", "/v1/debtors/13800138000", "1.1", 200
        )
        logging.getLogger("fengkong.api").warning("id 110101199003077777 seen")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    err = capsys.readouterr().err
    assert "13800138000" not in err and "110101199003077777" not in err, err
    assert "138****8000" in err and '"GET /v1/debtors/138****8000 HTTP/1.1" 200' in err, err
