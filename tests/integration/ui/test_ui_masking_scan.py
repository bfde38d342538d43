"""Every UI page and every API GET route, as every role of a small demo, scanned byte by byte
for the demo's real personal values (mobiles, emergency phones, bank cards, id numbers,
addresses, devices, IPs, contacts' names and numbers): none may appear for a masked role
(risk analyst, collector, service); the roles that see personal data (admin, auditor) do see
them where the pages show them — so the scan can fail."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from collections import defaultdict
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from fengkong.api import create_app
from fengkong.db import CollectionCaseRecord, DebtorContactRecord, DecisionRecord
from fengkong.demo import run_demo
from fengkong.services.access import load_masking_policy
from fengkong.settings import Settings
from fengkong.synth import generate

# risk_analyst, service, collector (both collectors with keys)
MASKED = ("analyst", "gateway", "collector-0000", "collector-0001")
CLEAR = ("admin", "auditor")
THIRD_PARTY = ("王秀英", "13912345678")  # a contact added to one case below


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = run_demo(folder, applications=3000, seed=0)
    now = dt.datetime.combine(result.as_of, dt.time(2, 0), tzinfo=dt.UTC)
    engine = create_engine(result.database_url)
    with Session(engine) as s, s.begin():
        case = s.scalars(
            select(CollectionCaseRecord)
            .where(CollectionCaseRecord.status == "open",
                   CollectionCaseRecord.assigned_to.in_(["collector-0000", "collector-0001"]))
            .order_by(CollectionCaseRecord.case_id)
        ).first()  # fmt: skip
        assert case is not None, "the demo gave its collectors with keys no open case"
        s.add(DebtorContactRecord(borrower_id=case.borrower_id, role="third_party",
                                  name=THIRD_PARTY[0], relation="sister", number=THIRD_PARTY[1],
                                  added_by="admin", added_at=now))  # fmt: skip
        cases = [case.case_id, *s.scalars(
            select(CollectionCaseRecord.case_id).where(CollectionCaseRecord.status == "open")
            .order_by(CollectionCaseRecord.overdue_fen.desc()).limit(3))]  # fmt: skip
        decisions = list(
            s.scalars(select(DecisionRecord.id).order_by(DecisionRecord.decided_at.desc()).limit(4))
        )
        loans = [r[0] for r in s.execute(text("SELECT external_id FROM loans LIMIT 2"))]
        borrower = case.borrower_id
    engine.dispose()
    app = create_app(
        Settings(database_url=result.database_url, data_dir=folder),
        default_policy="demo_credit",
        online=result.online,
        clock=lambda: now,
    )
    with TestClient(app) as client:
        yield {"client": client, "result": result, "cases": cases, "decisions": decisions,
               "loans": loans, "borrower": borrower, "as_of": result.as_of,
               "secrets": _secrets(result)}  # fmt: skip


def _secrets(result: Any) -> dict[str, str]:
    """Every personal value of the demo's book, each with its kind."""
    book = generate(3000, seed=0)
    found: dict[str, str] = {}
    kinds = {"mobile": "phone", "emergency_phone": "phone", "bank_card": "bank_card",
             "id_number": "id_number", "address": "address", "device": "device", "ip": "ip"}  # fmt: skip
    for kind, value in book.person_identifiers.select("id_type", "id_value").iter_rows():
        if kind in kinds:
            found[value] = kinds[kind]
    for column, kind in (("device_id", "device"), ("ip", "ip")):
        for value in book.applications[column].drop_nulls().unique():
            found[value] = kind
    found[THIRD_PARTY[0]] = "name"
    found[THIRD_PARTY[1]] = "phone"
    assert not book.person_identifiers.filter(pl.col("id_value").str.len_chars() < 6).height
    return found


_TOKENS = re.compile(r"[0-9A-Za-z./_+:-]+|[\u4e00-\u9fff]+")


def _leaks(body: str, secrets: dict[str, str]) -> dict[str, list[str]]:
    """The personal values in ``body``, by kind (tokens, and the parts of ``type|value`` keys)."""
    out: dict[str, list[str]] = defaultdict(list)
    for token in _TOKENS.findall(body):
        for piece in {token, token.strip("./:-_"), *token.split(":")}:
            if piece in secrets:
                out[secrets[piece]].append(piece)
    if THIRD_PARTY[0] in body:
        out["name"].append(THIRD_PARTY[0])
    return dict(out)


def _login(client: TestClient, key: str) -> None:
    client.cookies.clear()
    form = client.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/ui/login", data={"key": key, "csrf": token[1]}, follow_redirects=False)
    assert done.status_code == 303, done.text


def _ui_pages(demo: dict[str, Any]) -> list[str]:
    return ["/ui", "/ui/decisions", "/ui/simulate", "/ui/workbench", "/ui/calculator",
            "/ui/logout", "/ui/calculator?principal=10000&rate=0.2&term=12",
            *(f"/ui/decisions/{d}" for d in demo["decisions"]),
            *(f"/ui/cases/{c}" for c in demo["cases"])]  # fmt: skip


def _api_routes(demo: dict[str, Any]) -> list[str]:
    """Every GET route of the OpenAPI, its path parameters filled with the demo's ids."""
    client = demo["client"]
    day = demo["as_of"].isoformat()
    fill = {"decision_id": demo["decisions"], "case_id": demo["cases"], "loan_id": demo["loans"],
            "borrower_id": [demo["borrower"]]}  # fmt: skip
    extra = {"/v1/loans/{loan_id}": f"as_of={day}", "/v1/loans/{loan_id}/payoff": f"on={day}",
             "/v1/loans/{loan_id}/statement": f"as_of={day}",
             "/v1/decisions": "limit=500"}  # fmt: skip
    urls = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        if "get" not in ops:
            continue
        names = re.findall(r"{(\w+)}", path)
        assert all(n in fill for n in names), f"{path}: no demo value for {names}"
        variants = [path]
        for name in names:
            variants = [v.replace("{" + name + "}", str(x)) for v in variants for x in fill[name]]
        query = extra.get(path)
        urls += [f"{v}?{query}" if query else v for v in variants]
    return urls


def _scan(demo: dict[str, Any], who: str) -> tuple[dict[str, dict[str, list[str]]], int]:
    client, keys = demo["client"], demo["result"].keys
    found: dict[str, dict[str, list[str]]] = {}
    _login(client, keys[who])
    ok = 0
    for url in _ui_pages(demo):
        response = client.get(url)
        ok += response.status_code == 200
        leaks = _leaks(response.text, demo["secrets"])
        if leaks:
            found[url] = leaks
    client.cookies.clear()
    for url in _api_routes(demo):
        response = client.get(url, headers={"X-API-Key": keys[who]})
        ok += response.status_code == 200
        leaks = _leaks(response.text, demo["secrets"])
        if leaks:
            found[url] = leaks
    return found, ok


@pytest.mark.parametrize("who", MASKED)
def test_no_personal_value_reaches_a_masked_role(demo, who):
    found, ok = _scan(demo, who)
    assert ok >= 3, f"{who} opened almost nothing: the scan proves nothing"
    assert not found, f"{who} sees personal data in clear: {found}"


@pytest.mark.parametrize("who", CLEAR)
def test_admin_and_auditor_see_personal_values_where_pages_show_them(demo, who):
    found, _ = _scan(demo, who)
    kinds = {kind for page in found.values() for kind in page}
    # the trace: the graph's identifiers (tooltips), the inputs' device and IP; the case: phones
    assert {"phone", "bank_card", "device", "ip", "name"} <= kinds, kinds
    trace = next(u for u in found if u.startswith("/ui/decisions/"))
    assert {"device", "ip"} <= set(found[trace])


def test_the_trace_tooltips_keep_a_working_part_and_counts_stay_numbers(demo):
    client, keys = demo["client"], demo["result"].keys
    _login(client, keys["analyst"])
    pages = [client.get(f"/ui/decisions/{d}").text for d in demo["decisions"]]
    client.cookies.clear()
    titles = [t for page in pages for t in re.findall(r"<title>([^<]*)</title>", page)]
    assert any(re.fullmatch(r"(mobile|emergency_phone)\|1[3-9]\d\*{4}\d{4} \(\d+ holders\)", t)
               for t in titles), titles[:20]  # fmt: skip
    trace = client.get(f"/v1/decisions/{demo['decisions'][0]}",
                       headers={"X-API-Key": keys["analyst"]}).json()  # fmt: skip
    clear = client.get(f"/v1/decisions/{demo['decisions'][0]}",
                       headers={"X-API-Key": keys["admin"]}).json()  # fmt: skip
    numbers = {k: v for k, v in clear["inputs"].items() if isinstance(v, int | float | bool)}
    assert "persons_per_device" in numbers and "devices_per_person" in numbers, sorted(numbers)
    # counts and flags are never personal: every number and flag the analyst sees as is
    assert {k: trace["inputs"][k] for k in numbers} == numbers
    ip, device = trace["inputs"]["ip"], trace["inputs"]["device_id"]
    assert re.fullmatch(r"\d{1,3}\.\d{1,3}\.\*\.\*", ip), ip
    assert re.fullmatch(r"\*+[0-9a-f]{4}", device), device
    assert load_masking_policy().sees_clear("auditor") and not load_masking_policy().sees_clear("x")


def test_the_demo_keys_file_is_readable_by_its_owner_only(demo):
    path = demo["result"].folder / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == set(demo["result"].keys)


def test_serving_the_demo_prints_where_the_keys_are_not_the_keys(demo, monkeypatch, capsys):
    import uvicorn  # noqa: PLC0415

    from fengkong.cli import demo as cli_demo  # noqa: PLC0415

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    cli_demo._serve(demo["result"], 8765)
    printed = capsys.readouterr().out
    assert "keys.json" in printed.replace("\n", "")
    assert not [name for name, key in demo["result"].keys.items() if key in printed]
