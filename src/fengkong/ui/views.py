"""The web UI's pages: server-rendered HTML (Jinja2 templates, inline SVG charts), no script,
no build step, nothing fetched from outside — it works offline.

Login takes an API key (the same keys and roles as the API) and opens a server-side session
(:mod:`fengkong.ui.sessions`: the cookie holds a random session id, never the key; every form
carries a CSRF token); every page checks the role like the API does and calls the same services:
the dashboard (KPIs, vintage and roll-rate charts), the decision explorer (search, decide,
a decision's trace, reasons and the applicant's relationship-graph neighbourhood), the policy
simulator (champion against challenger over the stored decisions), the collector's workbench
(my queue, a case with schedule, balances, contact history; log a call through the
guardrails — a blocked contact shows the rules that blocked it — or a promise) and the loan
calculator (schedule, true APR, cap breaches, legal statement). Labels in English and
Chinese (``?lang=zh``). Personal data is masked by role on every page (the masking policy of
:mod:`fengkong.services.access`): the data before rendering, then the rendered page itself, so
text, attributes and SVG tooltips alike.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, cast

import polars as pl
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy import select

from fengkong.api.errors import StorageError
from fengkong.api.schemas import DecisionIn
from fengkong.collections.strategy import load_templates
from fengkong.db.models import DecisionRecord
from fengkong.errors import FengkongError, InvalidArgumentError, NotFoundError
from fengkong.money import Money
from fengkong.policy.audit import json_ready
from fengkong.policy.simulate import simulate
from fengkong.services.access import (
    Principal,
    audit_write,
    mask_personal,
    mask_text,
    workable_case,
)
from fengkong.services.casework import add_promise, case_detail, contact_case, queue
from fengkong.services.dashboard import kpis as portfolio_kpis
from fengkong.services.dashboard import roll_rates, vintage_curves
from fengkong.services.debtors import REQUEST_KINDS, set_request
from fengkong.services.policies import get_decision, list_versions, load_version, new_decision_id
from fengkong.servicing import apr, build_schedule, check_contract, legal_statement, replay
from fengkong.servicing.apr import schedule_cash_flows
from fengkong.servicing.products import METHODS, ad_hoc_product
from fengkong.servicing.schedule import LoanTerms
from fengkong.ui.charts import graph_view, line_chart
from fengkong.ui.i18n import LANGUAGES, labels
from fengkong.ui.sessions import (
    SESSION_LIFETIME,
    csrf_token,
    end_session,
    principal_of,
    same_token,
    start_session,
)

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
_env = Environment(loader=PackageLoader("fengkong.ui"), autoescape=select_autoescape())
_SESSION, _LOGIN_CSRF, _LANG = "fk_session", "fk_login_csrf", "fk_lang"
Csrf = Annotated[str, Form(max_length=128)]
ANALYSTS = ("admin", "risk_analyst", "auditor")
COLLECTORS = ("admin", "collector", "auditor", "risk_analyst")
ROLES = ("admin", "risk_analyst", "collector", "auditor", "service")


def _lang(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(_LANG) or "en"
    return wanted if wanted in LANGUAGES else "en"


def _who(request: Request) -> Principal | None:
    """The principal of the request's session (cached on the request: one look-up each)."""
    if not hasattr(request.state, "who"):
        request.state.who = principal_of(request.app.state.sessions, request.cookies.get(_SESSION))
    found: Principal | None = request.state.who
    return found


def _csrf(request: Request) -> str:
    """The CSRF token the session's forms carry ("" without a session)."""
    session_id = request.cookies.get(_SESSION)
    return csrf_token(session_id) if session_id else ""


def _secure(request: Request) -> bool:
    """Cookies are ``Secure`` when the request came over HTTPS (uvicorn's ``--proxy-headers``
    makes a TLS-terminating proxy's ``X-Forwarded-Proto`` count)."""
    return request.url.scheme == "https"


def _page(
    request: Request,
    template: str,
    *,
    title: str,
    who: Principal | None,
    active: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = _lang(request)
    t = labels(lang)
    context.setdefault("csrf", _csrf(request) if who is not None else "")
    body = _env.get_template(template).render(
        t=t, lang=lang, who=who, active=active, page_title=t.get(title, title), **context
    )
    # the data was masked before rendering; the page is scanned once more for any personal
    # value that reached it another way (attributes, tooltips, free text)
    body = mask_text(body, role=who.role if who is not None else "")
    response = HTMLResponse(body, status_code=status)
    if "lang" in request.query_params:
        response.set_cookie(_LANG, lang, samesite="lax", secure=_secure(request))
    return response


def _guard(
    request: Request, roles: tuple[str, ...], *, csrf: str | None = None
) -> Principal | Response:
    """The page's principal, or the response refusing it: to the login page without a
    session, 403 for a role the page is not for or (a POST: ``csrf`` given) a wrong token."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    if csrf is not None and not same_token(_csrf(request), csrf):
        return _page(request, "message.html", title="forbidden", who=who, status=403,
                     message=labels(_lang(request))["bad_csrf"])  # fmt: skip
    if who.role not in roles:
        return _page(request, "message.html", title="forbidden", who=who, status=403,
                     message=labels(_lang(request))["forbidden"])  # fmt: skip
    return who


def _now(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.clock()
    return now


# ------------------------------------------------------------------------------ login
def _login_page(request: Request, *, status: int = 200, error: str | None = None) -> Response:
    """The login form with a fresh double-submit token (cookie and hidden field agree)."""
    token = secrets.token_hex(24)
    response = _page(request, "login.html", title="login", who=None, status=status,
                     error=error, csrf=token)  # fmt: skip
    response.set_cookie(_LOGIN_CSRF, token, max_age=3600, httponly=True, samesite="lax",
                        secure=_secure(request), path="/ui/login")  # fmt: skip
    return response


@router.get("/login", response_model=None)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_model=None)
def login(request: Request, key: Annotated[str, Form(max_length=200)], csrf: Csrf = "") -> Response:
    t = labels(_lang(request))
    if not same_token(request.cookies.get(_LOGIN_CSRF), csrf):
        return _login_page(request, status=403, error=t["bad_csrf"])
    made = start_session(request.app.state.sessions, key.strip())
    if made is None:
        return _login_page(request, status=401, error=t["bad_key"])
    session_id, who = made
    home = "/ui/workbench" if who.role == "collector" else "/ui"
    response = RedirectResponse(home, status_code=303)
    response.set_cookie(_SESSION, session_id, max_age=int(SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=_secure(request), path="/ui")  # fmt: skip
    response.delete_cookie(_LOGIN_CSRF, path="/ui/login")
    return response


@router.get("/logout", response_model=None)
def logout_form(request: Request) -> Response:
    """Logging out is a POST (with the session's token): this page only offers the button."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/ui/login", status_code=303)
    return _page(request, "logout.html", title="logout", who=who)


@router.post("/logout", response_model=None)
def logout(request: Request, csrf: Csrf = "") -> Response:
    """Delete the session server-side, then the cookie."""
    who = _guard(request, ROLES, csrf=csrf)
    if isinstance(who, Response):
        return who
    end_session(request.app.state.sessions, request.cookies.get(_SESSION))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(_SESSION, path="/ui")
    return response


# -------------------------------------------------------------------------- dashboard
@router.get("", response_model=None)
def dashboard(request: Request) -> Response:
    who = _guard(request, ANALYSTS)
    if isinstance(who, Response):
        if _who(request) is not None and _who(request).role == "collector":  # type: ignore[union-attr]
            return RedirectResponse("/ui/workbench", status_code=303)
        return who
    t = labels(_lang(request))
    with request.app.state.sessions() as s:
        k = portfolio_kpis(s)
        vintages = vintage_curves(s)
        rolls = roll_rates(s)
    vintage_series = {
        f"{v:%Y-%m}": list(zip(g["mob"].to_list(), g["share"].to_list(), strict=True))
        for (v,), g in vintages.group_by("vintage", maintain_order=True)
    }
    roll_series = {}
    if rolls.height:
        first = cast(dt.date, rolls["month"].min())
        for (bucket,), g in rolls.filter(pl.col("from").is_in(["M0", "M1", "M2", "M3"])).group_by(
            "from", maintain_order=True
        ):
            months = [(m.year - first.year) * 12 + m.month - first.month for m in g["month"]]
            roll_series[f"{bucket}→"] = list(zip(months, g["rate"].to_list(), strict=True))
    return _page(
        request, "dashboard.html", title="dashboard", who=who, active="dashboard", k=k,
        vintage_svg=line_chart(vintage_series, x_label=t["mob"], y_label=t["share"]),
        roll_svg=line_chart(roll_series, x_label="month end", y_label=t["share"]),
    )  # fmt: skip


# -------------------------------------------------------------------------- decisions
def _sample(request: Request, who: Principal) -> tuple[str, str]:
    """The newest stored application, to edit and send again (as a new application, now);
    its personal values masked for a role that may not see them."""
    with request.app.state.sessions() as s:
        record = s.scalars(
            select(DecisionRecord).order_by(DecisionRecord.decided_at.desc()).limit(1)
        ).first()
    if record is None:
        return "{}", "[]"
    inputs = dict(record.record.get("inputs", {}))
    inputs.pop("applied_at", None)  # sent again now: the server's clock stamps it
    inputs = mask_personal(inputs, role=who.role)
    return json.dumps(inputs, ensure_ascii=False, indent=1, default=str)[:20000], "[]"


@router.get("/decisions", response_model=None)
def decisions(
    request: Request, decision: str | None = None, application_id: str | None = None
) -> Response:
    who = _guard(request, ANALYSTS)
    if isinstance(who, Response):
        return who
    query = select(DecisionRecord).order_by(DecisionRecord.decided_at.desc()).limit(50)
    if decision in ("approve", "decline", "refer"):
        query = query.where(DecisionRecord.decision == decision)
    if application_id:
        query = query.where(DecisionRecord.application_id == application_id[:64])
    with request.app.state.sessions() as s:
        rows = [
            {"decision_id": r.id, "application_id": r.application_id, "decision": r.decision,
             "reasons": r.reasons, "policy": r.policy, "version": r.version, "arm": r.arm}
            for r in s.scalars(query)
        ]  # fmt: skip
    sample, sample_ids = _sample(request, who)
    return _page(
        request, "decisions.html", title="decisions", who=who, active="decisions", rows=rows,
        filters={"decision": decision, "application_id": application_id},
        can_decide=who.role in ("admin", "risk_analyst"), sample=sample, sample_ids=sample_ids,
        default_policy=request.app.state.default_policy,
    )  # fmt: skip


def _json_field(text: str, field: str, kind: type) -> Any:
    try:
        value = json.loads(text or ("{}" if kind is dict else "[]"))
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(field, expected="JSON", got=str(exc)) from None
    if not isinstance(value, kind):
        raise InvalidArgumentError(
            field, expected=f"a JSON {kind.__name__}", got=type(value).__name__
        )
    return value


@router.post("/decisions", response_model=None)
async def decide(
    request: Request,
    application: Annotated[str, Form(max_length=100_000)],
    identifiers: Annotated[str, Form(max_length=20_000)] = "[]",
    policy: Annotated[str, Form(max_length=64)] = "",
    csrf: Csrf = "",
) -> Response:
    who = _guard(request, ("admin", "risk_analyst"), csrf=csrf)
    if isinstance(who, Response):
        return who
    state = request.app.state
    try:
        body = _json_field(application, "application", dict)
        links = _json_field(identifiers, "identifiers", list)
        try:  # the API's own bounds: the same request model, the same refusals
            checked = DecisionIn.model_validate({"application": body, "identifiers": links})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidArgumentError(
                ".".join(str(p) for p in first["loc"]), expected=first["msg"], got="(the form)"
            ) from None
        body, links = checked.application, checked.identifiers
        application_id = body.get("application_id")
        if application_id is not None and len(str(application_id)) > 64:
            raise InvalidArgumentError(
                "application.application_id", expected="at most 64 characters", got="(longer)"
            )
        chosen = state.policies.active(policy or state.default_policy)
        at = state.clock()
        decided = state.online.decide(chosen, body, links, now=at)
    except FengkongError as exc:
        return _page(request, "decisions.html", title="decisions", who=who, active="decisions",
                     rows=[], filters={}, can_decide=True, sample=application,
                     sample_ids=identifiers, default_policy=policy, error=str(exc),
                     status=422)  # fmt: skip
    key = new_decision_id(at)
    try:
        await state.writer.write(
            decided, at=at, decision_id=key, application_id=body.get("application_id")
        )
    except StorageError as exc:
        return _page(request, "decisions.html", title="decisions", who=who, active="decisions",
                     rows=[], filters={}, can_decide=True, sample=application,
                     sample_ids=identifiers, default_policy=policy, error=str(exc),
                     status=503)  # fmt: skip
    state.metrics.decisions.labels(chosen.name, decided.decision.decision).inc()
    return RedirectResponse(f"/ui/decisions/{key}", status_code=303)


def _decision_graph(
    request: Request, found: dict[str, Any], who: Principal
) -> tuple[dict[str, Any], str]:
    """The relationship graph a trace page draws, and its caption: the one stored with the
    decision (its applicant's component as the decision saw it, already masked with the
    record), else the worker's graph now, said so."""
    person = found.get("inputs", {}).get("person_id")
    stored = found.get("graph")
    if isinstance(stored, dict) and isinstance(stored.get("nodes"), list):
        people = sum(1 for n in stored["nodes"] if n.get("kind") == "applicant")
        return stored, (
            f"person:{person} — its component as the decision saw it ({stored.get('as_of')}): "
            f"{people} applicants{' (truncated)' if stored.get('truncated') else ''}; "
            "known-bad in red"
        )
    if not isinstance(person, int):
        return {"nodes": [], "edges": []}, "—"
    view = request.app.state.online.graph.neighbourhood(person, hops=2, limit=60)
    view = mask_personal(view, role=who.role)  # identifiers' values in the tooltips
    people = sum(1 for n in view["nodes"] if n["kind"] == "applicant")
    return view, (
        f"person:{person} — {people} applicants within 2 hops in today's graph (this decision "
        f"stored none){' (truncated)' if view['truncated'] else ''}; known-bad in red"
    )


@router.get("/decisions/{decision_id}", response_model=None)
def decision_page(request: Request, decision_id: str) -> Response:
    who = _guard(request, ANALYSTS)
    if isinstance(who, Response):
        return who
    with request.app.state.sessions() as s:
        found = mask_personal(json_ready(get_decision(s, decision_id[:64])), role=who.role)
    inputs = found.get("inputs", {})
    view, note = _decision_graph(request, found, who)
    return _page(
        request, "decision.html", title="trace", who=who, active="decisions", d=found,
        inputs=sorted(inputs.items()), graph_svg=graph_view(view), graph_note=note,
    )  # fmt: skip


# -------------------------------------------------------------------------- simulator
def _versions(request: Request) -> list[str]:
    with request.app.state.sessions() as s:
        decided = set(s.scalars(select(DecisionRecord.policy).distinct()))
        return [f"{v.name}@{v.version}" for v in list_versions(s) if v.name in decided]


@router.get("/simulate", response_model=None)
def simulate_form(request: Request) -> Response:
    who = _guard(request, ("admin", "risk_analyst"))
    if isinstance(who, Response):
        return who
    versions = _versions(request)
    return _page(request, "simulate.html", title="simulator", who=who, active="simulator",
                 versions=versions, champion=versions[0] if versions else "",
                 challenger=versions[-1] if versions else "", limit=2000, result=None)  # fmt: skip


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _inputs_frame(policy: Any, records: list[dict[str, Any]]) -> pl.DataFrame:
    """The stored decisions' inputs as a frame typed by the policy's declarations."""
    kinds = {"number": pl.Float64, "integer": pl.Int64, "text": pl.String,
             "boolean": pl.Boolean, "date": pl.Date}  # fmt: skip
    columns = {}
    for spec in policy.inputs:
        values = [r.get(spec.name) for r in records]
        if spec.type == "date":  # an unreadable stored date is missing, never a 500
            values = [_iso_date(v) if isinstance(v, str) else v for v in values]
        columns[spec.name] = pl.Series(spec.name, values, dtype=kinds[spec.type], strict=False)
    return pl.DataFrame(columns)


@router.post("/simulate", response_model=None)
def run_simulation(
    request: Request,
    champion: Annotated[str, Form(max_length=100)],
    challenger: Annotated[str, Form(max_length=100)],
    limit: Annotated[int, Form(ge=10, le=50_000)] = 2000,
    csrf: Csrf = "",
) -> Response:
    who = _guard(request, ("admin", "risk_analyst"), csrf=csrf)
    if isinstance(who, Response):
        return who
    versions = _versions(request)
    context: dict[str, Any] = {"versions": versions, "champion": champion, "challenger": challenger,
               "limit": limit}  # fmt: skip
    try:
        (a_name, _, a_version), (b_name, _, b_version) = (
            champion.partition("@"), challenger.partition("@"))  # fmt: skip
        if champion == challenger:
            raise InvalidArgumentError("challenger", expected="another version than the champion",
                                       got=challenger)  # fmt: skip
        with request.app.state.sessions() as s:
            a, b = load_version(s, a_name, a_version), load_version(s, b_name, b_version)
            stored = s.scalars(
                select(DecisionRecord.record).where(DecisionRecord.policy == a_name)
                .order_by(DecisionRecord.decided_at.desc()).limit(limit)
            ).all()  # fmt: skip
        records = [r.get("inputs", {}) for r in stored]
        if not records:
            raise InvalidArgumentError("champion", expected="a policy with stored decisions",
                                       got=champion)  # fmt: skip
        sim = simulate(a, _inputs_frame(a, records), challenger=b)
    except FengkongError as exc:
        return _page(request, "simulate.html", title="simulator", who=who, active="simulator",
                     result=None, error=str(exc), status=422, **context)  # fmt: skip
    rows = sim.rows
    outcomes = ["approve", "refer", "decline"]
    swap = {(x, y): n for x, y, n in rows.group_by("a_decision", "b_decision").len().iter_rows()}

    def bad(prefix: str) -> str:
        column = f"{prefix}_pd"
        if column not in rows.columns:
            return "—"
        value = rows.filter(pl.col(f"{prefix}_decision") == "approve")[column].mean()
        return "—" if value is None else f"{100 * float(value):.2f}%"  # type: ignore[arg-type]

    result = {
        "rows": rows.height, "source": f"the newest {rows.height:,} stored decisions of {a_name}",
        "a_rate": (rows["a_decision"] == "approve").mean(),
        "b_rate": (rows["b_decision"] == "approve").mean(),
        "a_bad": bad("a"), "b_bad": bad("b"), "outcomes": outcomes, "swap": swap,
    }  # fmt: skip
    return _page(request, "simulate.html", title="simulator", who=who, active="simulator",
                 result=result, **context)  # fmt: skip


# -------------------------------------------------------------------------- workbench
@router.get("/workbench", response_model=None)
def workbench(request: Request) -> Response:
    who = _guard(request, COLLECTORS)
    if isinstance(who, Response):
        return who
    with request.app.state.sessions() as s:
        cases = queue(s, who, limit=200)
    title = "my_queue" if who.role == "collector" else "workbench"
    return _page(request, "workbench.html", title=title, who=who, active="workbench", cases=cases)


def _case_page(
    request: Request, who: Principal, case_id: str, *, result: Any = None, error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    with request.app.state.sessions() as s:
        found = case_detail(s, case_id[:64], who, _now(request).date())
    shown = mask_personal(found, role=who.role)
    now = _now(request).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    return _page(request, "case.html", title=f"{labels(_lang(request))['case']} {case_id}",
                 who=who, active="workbench", c=shown, result=result, now=now,
                 templates=load_templates(), kinds=list(REQUEST_KINDS),
                 error=error or None, status=status)  # fmt: skip


@router.get("/cases/{case_id}", response_model=None)
def case_page(request: Request, case_id: str) -> Response:
    who = _guard(request, COLLECTORS)
    if isinstance(who, Response):
        return who
    try:
        return _case_page(request, who, case_id)
    except FengkongError as exc:
        return _page(request, "message.html", title="case", who=who, status=404, message=str(exc))


@router.post("/cases/{case_id}/contact", response_model=None)
def log_contact(
    request: Request,
    case_id: str,
    channel: Annotated[str, Form(max_length=16)],
    template_id: Annotated[str, Form(max_length=64)],
    contact_id: Annotated[str, Form(max_length=20)] = "",
    csrf: Csrf = "",
) -> Response:
    """Log a contact now through the same gate as the API (the server supplies the facts)."""
    who = _guard(request, ("admin", "collector"), csrf=csrf)
    if isinstance(who, Response):
        return who
    person = int(contact_id) if contact_id.isdigit() and len(contact_id) < 19 else None
    if contact_id and person is None:
        return _case_page(request, who, case_id, status=422,
                          error=f"contact_id: expected a stored contact, got {contact_id!r}")  # fmt: skip
    try:
        with request.app.state.sessions.begin() as s:
            done = contact_case(s, case_id[:64], who, channel=channel, template_id=template_id,
                                at=_now(request), contact_id=person)  # fmt: skip
            audit_write(s, who, "contact.attempt", case_id, at=_now(request),
                        log_id=done.log_id, allowed=done.verdict.allowed)  # fmt: skip
    except NotFoundError as exc:
        return _page(request, "message.html", title="case", who=who, status=404, message=str(exc))
    except FengkongError as exc:
        return _case_page(request, who, case_id, status=422, error=str(exc))
    for b in done.verdict.breaches:
        request.app.state.metrics.blocks.labels(b.rule).inc()
    result = {"allowed": done.verdict.allowed, "log_id": done.log_id,
              "breaches": [{"rule": b.rule, "message": b.message, "source": b.source}
                           for b in done.verdict.breaches]}  # fmt: skip
    return _case_page(request, who, case_id, result=result)


@router.post("/cases/{case_id}/request", response_model=None)
def record_request(
    request: Request,
    case_id: str,
    kind: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=2000)],
    channels: Annotated[list[str] | None, Form()] = None,
    csrf: Csrf = "",
) -> Response:
    """Record a borrower's request or a stop fact on the case's debtor (dispute, cease contact...)."""
    who = _guard(request, ("admin", "collector"), csrf=csrf)
    if isinstance(who, Response):
        return who
    try:
        with request.app.state.sessions.begin() as s:
            case = workable_case(s, case_id[:64], who)
            made = set_request(s, who, case.borrower_id, kind, at=_now(request), reason=reason,
                               channels=[c[:16] for c in channels[:8]] if channels else None)  # fmt: skip
            audit_write(s, who, "debtor.request", case.borrower_id, at=_now(request),
                        request_id=made["request_id"], kind=kind)  # fmt: skip
    except NotFoundError as exc:
        return _page(request, "message.html", title="case", who=who, status=404, message=str(exc))
    except FengkongError as exc:
        return _case_page(request, who, case_id, status=422, error=str(exc))
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/promise", response_model=None)
def make_promise(
    request: Request,
    case_id: str,
    amount_fen: Annotated[str, Form(max_length=20)],
    due_on: Annotated[str, Form(max_length=20)],
    csrf: Csrf = "",
) -> Response:
    who = _guard(request, ("admin", "collector"), csrf=csrf)
    if isinstance(who, Response):
        return who
    try:
        amount = int(amount_fen)
        day = dt.date.fromisoformat(due_on)
    except ValueError:
        return _case_page(request, who, case_id, status=422,
                          error="amount_fen: a whole number of fen; due_on: YYYY-MM-DD")  # fmt: skip
    try:
        with request.app.state.sessions.begin() as s:
            made = add_promise(s, case_id[:64], who, amount_fen=amount, due_on=day,
                               today=_now(request).date())  # fmt: skip
            audit_write(s, who, "case.promise", case_id, at=_now(request), **made)
    except FengkongError as exc:
        return _case_page(request, who, case_id, status=422, error=str(exc))
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303)


# ------------------------------------------------------------------------- calculator
def _decimal(value: str, field: str) -> Decimal:
    """A form number: finite and at most 10^12 in size (a fee of NaN or a principal of 1e30 is
    a clear error on the page, never a 500)."""
    try:
        found = Decimal(value.strip())
    except InvalidOperation:
        found = None
    if found is None or not found.is_finite() or abs(found) > 10**12:
        raise InvalidArgumentError(
            field, expected="a finite number of at most 10^12", got=value
        ) from None
    return found


@router.get("/calculator", response_model=None)
def calculator(request: Request) -> Response:
    """Schedule, true APR, legal-cap breaches and the legal statement of a contract (open to
    anyone: a borrower or a lawyer checks a loan here)."""
    q = {"principal": "10000", "rate": "0.12", "term": "12", "method": "equal-instalment",
         "fee": "0", "date": _now(request).date().isoformat(), "jurisdiction": "cn",
         "lender_type": "private", "as_of": _now(request).date().isoformat(),
         **{k: v[:40] for k, v in request.query_params.items() if k != "lang"}}  # fmt: skip
    methods = [m.replace("_", "-") for m in METHODS]
    quote = None
    error = None
    if "principal" in request.query_params:
        try:
            fee = _decimal(q["fee"] or "0", "fee")
            product = ad_hoc_product(q["method"]).model_copy(
                update={"upfront_fee_deducted": True})  # fmt: skip
            terms = LoanTerms(
                product, Money.of(str(_decimal(q["principal"], "principal"))),
                _decimal(q["rate"], "rate"), int(_decimal(q["term"], "term")),
                dt.date.fromisoformat(q["date"]),
                upfront_fee_amount=Money.of(str(fee)) if fee > 0 else None,
            )  # fmt: skip
            schedule = build_schedule(terms)
            rate = apr(schedule_cash_flows(schedule))
            breaches = check_contract(schedule, jurisdiction=q["jurisdiction"],
                                      lender_type=q["lender_type"])  # fmt: skip
            state = replay(schedule, [], as_of=dt.date.fromisoformat(q["as_of"]))
            statement = legal_statement(state, jurisdiction=q["jurisdiction"],
                                        lender_type=q["lender_type"])  # fmt: skip
            quote = {
                "received": str(terms.net_disbursed),
                "apr": f"{rate.annual * 100:.2f}% (IRR × 12) · {rate.effective * 100:.2f}% (compound)",
                "breaches": [{"rule": b.rule_id, "message": b.message} for b in breaches],
                "instalments": [{"number": i.number, "due_on": i.due_on, "principal": i.principal,
                                 "interest": i.interest, "fee": i.fee, "total": i.total}
                                for i in schedule.instalments],
                "statement": [(f"{line.item}: contract / lawful / owed",
                               f"{line.contract} / {line.lawful} / {line.owed}")
                              for line in statement.lines],
            }  # fmt: skip
        except (FengkongError, ValueError, ArithmeticError) as exc:  # e.g. no APR solves
            error = str(exc)
    return _page(request, "calculator.html", title="calculator", who=_who(request),
                 active="calculator", q=q, methods=methods, quote=quote, error=error,
                 status=422 if error else 200)  # fmt: skip
