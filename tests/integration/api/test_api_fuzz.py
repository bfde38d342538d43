"""Schemathesis against the OpenAPI schema: no generated request gets a 500."""

import datetime as dt
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from fengkong.api import create_app
from fengkong.policy.examples import write_reference_policy
from fengkong.services.access import create_api_key
from fengkong.services.policies import promote, submit_policy
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
_folder = Path(tempfile.mkdtemp(prefix="fk-fuzz-"))
app = create_app(Settings(data_dir=_folder), clock=lambda: NOW)
with app.state.sessions.begin() as _s:
    ADMIN = create_api_key(_s, name="root", role="admin", at=NOW)
    submit_policy(_s, write_reference_policy(_folder / "policy"), author="alice", at=NOW)
    promote(_s, "credit", "1", to="approved", actor="bob", at=NOW)
    promote(_s, "credit", "1", to="active", actor="bob", at=NOW)

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error_on_any_generated_request(case):
    response = case.call(headers={"X-API-Key": ADMIN})
    assert response.status_code < 500, (
        case.method,
        case.path,
        response.status_code,
        response.text[:500],
    )
