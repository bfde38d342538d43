"""The web UI in Debian's Chromium (Playwright), over a small ``fengkong demo``: log in with
the API keys, each screen with real data, a decision and its trace, a compliant and a blocked
contact, a promise, a simulation, the loan calculator, Chinese labels. Each screen saves a
screenshot (into ``FENGKONG_SCREENSHOTS`` when set, else the test's temporary folder)."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import create_engine, text

from fengkong.api import create_app
from fengkong.demo import run_demo
from fengkong.settings import Settings

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")


MOMENT: list[dt.datetime] = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]  # the server's clock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = run_demo(folder, applications=3000, seed=0)
    MOMENT[0] = dt.datetime.combine(result.as_of, dt.time(2, 0), tzinfo=dt.UTC)  # 10:00 Shanghai
    app = create_app(
        Settings(database_url=result.database_url, data_dir=folder),
        default_policy="demo_credit",
        online=result.online,
        clock=lambda: MOMENT[0],
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.1)
    shots = Path(os.environ.get("FENGKONG_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield f"http://127.0.0.1:{port}", result, browser, shots
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)


def _collector_with_open_cases(result) -> str:
    """A collector of the demo with an open case in their queue (which one depends on the book)."""
    engine = create_engine(result.database_url)
    with engine.connect() as c:
        found = c.execute(
            text(
                "SELECT assigned_to FROM collection_cases WHERE status = 'open' AND "
                "assigned_to IS NOT NULL GROUP BY assigned_to ORDER BY count(*) DESC, assigned_to"
            )
        ).first()
    engine.dispose()
    assert found is not None and found[0] in result.keys, "the demo has no assigned open case"
    return str(found[0])


def _login(site, who: str) -> Page:
    base, result, browser, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/ui/login")
    page.fill("#key", result.keys[who])
    page.click("#login")
    return page


def test_login_refuses_a_wrong_key_and_sends_strangers_to_login(site):
    base, _, browser, _ = site
    page = browser.new_page()
    page.goto(f"{base}/ui")
    expect(page).to_have_url(f"{base}/ui/login")
    page.fill("#key", "fk_not-a-key")
    page.click("#login")
    expect(page.locator("#error")).to_contain_text("not valid")
    page.close()


def test_dashboard_shows_kpis_and_charts(site):
    shots = site[3]
    page = _login(site, "head-of-risk")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#kpis")).to_contain_text("Approval rate")
    assert page.locator("svg.chart polyline").count() >= 2  # vintage and roll-rate lines
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.goto(page.url + "?lang=zh")
    expect(page.locator("h1")).to_have_text("风险看板")
    page.close()


def test_decide_an_application_and_open_its_trace(site):
    shots = site[3]
    page = _login(site, "analyst")
    page.click("text=Decisions")
    expect(page.locator("#results tr")).not_to_have_count(1)
    page.click("#decide")  # the newest stored application, sent again
    expect(page.locator("#decision")).to_have_text(re.compile("^(approve|decline|refer)$"))
    expect(page.locator("#trace")).to_contain_text("Scorecard points")
    assert page.locator("#graph svg circle").count() >= 1  # the applicant at least
    page.screenshot(path=str(shots / "decision.png"), full_page=True)
    bad = page.goto(page.url.rsplit("/", 1)[0])
    assert bad is not None and bad.ok
    page.fill("#application", "{not json")
    page.click("#decide")
    expect(page.locator("#error")).to_contain_text("application")
    page.close()


def test_collector_logs_a_compliant_and_a_blocked_contact_and_a_promise(site):
    shots = site[3]
    page = _login(site, _collector_with_open_cases(site[1]))
    expect(page.locator("h1")).to_have_text("My queue")
    rows = page.locator("#queue a")
    assert rows.count() >= 1
    rows.first.click()
    case_url = page.url
    page.select_option("#channel", "sms")
    page.select_option("#template_id", "reminder")
    page.click("#log-contact")
    expect(page.locator("#contact-result")).to_contain_text("Allowed")
    MOMENT[0] = dt.datetime.combine(site[1].as_of, dt.time(15, 0), tzinfo=dt.UTC)  # 23:00 local
    try:
        page.select_option("#channel", "sms")
        page.select_option("#template_id", "reminder")
        page.click("#log-contact")
        expect(page.locator("#contact-result .rule").first).to_have_text("quiet_hours")
    finally:
        MOMENT[0] = dt.datetime.combine(site[1].as_of, dt.time(2, 0), tzinfo=dt.UTC)
    page.screenshot(path=str(shots / "workbench.png"), full_page=True)
    page.goto(case_url)
    page.select_option("#kind", "cease_contact")
    page.fill("#reason", "asked us in writing to stop")
    page.click("#save-request")
    expect(page.locator("#stops")).to_contain_text("cease_request")
    page.select_option("#channel", "sms")
    page.select_option("#template_id", "reminder")
    page.click("#log-contact")
    expect(page.locator("#contact-result")).to_contain_text("stop:cease_request")
    page.goto(case_url)
    page.fill("#amount_fen", "100")
    page.fill("#due_on", str(site[1].as_of + dt.timedelta(days=7)))
    page.click("#save-promise")
    expect(page.locator("#promises")).to_contain_text("pending")
    expect(page.locator("#contacts")).to_contain_text("quiet_hours")
    page.goto(site[0] + "/ui/decisions")
    expect(page.locator("h1")).to_have_text("Your role may not open this page.")
    page.close()


def test_a_collector_cannot_open_another_collectors_case(site):
    base, result, _, _ = site
    from sqlalchemy import select  # noqa: PLC0415

    from fengkong.db import CollectionCaseRecord, make_engine, session_factory  # noqa: PLC0415

    engine = make_engine(result.database_url)
    with session_factory(engine)() as s:
        theirs = s.scalars(
            select(CollectionCaseRecord.case_id).where(
                CollectionCaseRecord.assigned_to != "collector-0000"
            )
        ).first()
    engine.dispose()
    assert theirs is not None
    page = _login(site, "collector-0000")
    response = page.goto(f"{base}/ui/cases/{theirs}")
    assert response is not None and response.status == 404
    page.close()


def test_simulate_a_challenger_against_the_champion(site):
    shots = site[3]
    page = _login(site, "analyst")
    page.click("text=Policy simulator")
    page.select_option("#champion", "demo_credit@1")
    page.select_option("#challenger", "demo_credit@2")
    page.click("#run")
    expect(page.locator("#simulation")).to_contain_text("stored decisions of demo_credit")
    expect(page.locator("#swap")).to_be_visible()
    page.screenshot(path=str(shots / "simulator.png"), full_page=True)
    page.close()


def test_loan_calculator_shows_apr_and_cap_breaches(site):
    base, _, browser, shots = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/ui/calculator")
    page.fill("#principal", "10000")
    page.fill("#rate", "0.36")
    page.fill("#term", "12")
    page.fill("#fee", "1000")
    page.click("#calculate")
    expect(page.locator("#apr")).to_contain_text("%")
    expect(page.locator("#breaches")).to_contain_text("cn")
    page.screenshot(path=str(shots / "calculator.png"), full_page=True)
    page.close()
