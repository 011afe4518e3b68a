"""An API fuzz campaign with schemathesis over the app's own OpenAPI document, shared by
tests/reliability/test_api_fuzz.py (small) and bench/fuzz.py (large).

Every operation gets `examples` generated cases (hypothesis, no shrinking: failures are counted,
not minimised), sent in-process over ASGI with the right credentials: Basic write key for ingest
routes, Bearer admin token for everything else. Checks: no 5xx, every answer within `slow_s`,
and, where reasonable, status codes and content types the document declares."""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance

BASIC = {"Authorization": "Basic " + base64.b64encode(b"dev-web-key:").decode()}
BEARER = {"Authorization": "Bearer dev-admin-token"}
INGEST_PREFIXES = ("/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias",
                   "/v1/t", "/v1/i", "/v1/p", "/v1/s", "/v1/g", "/v1/a", "/v1/b",
                   "/v1/batch", "/v1/import", "/api/track")
# Destructive or slow: erasing profiles, and kicking off sync runs (Celery) are not for random fuzz.
EXCLUDED = {("DELETE", "/v1/profiles/{ref}"), ("POST", "/v1/syncs/{sync_id}/run")}


@dataclass
class OperationResult:
    cases: int = 0
    server_errors: int = 0
    slow: int = 0
    other_failures: int = 0
    max_seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)  # a few failing requests, for the report


def headers_for(path: str) -> dict:
    return BASIC if path in INGEST_PREFIXES else BEARER


def run_campaign(app, examples: int, slow_s: float = 5.0, seed: int | None = 0) -> dict[str, OperationResult]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results: dict[str, OperationResult] = {}
    for found in schema.get_all_operations():
        op = found.ok()
        if (op.method.upper(), op.path) in EXCLUDED:
            continue
        label = f"{op.method.upper()} {op.path}"
        res = results[label] = OperationResult()
        auth = headers_for(op.path)

        @hsettings(max_examples=examples, deadline=None, derandomize=seed is not None, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def one(case) -> None:
            started = time.perf_counter()
            try:
                response = case.call(headers=auth)
            except Exception as exc:  # noqa: BLE001 - an unhandled error in the app is a 500
                res.cases += 1
                res.server_errors += 1
                _note(res, f"raised {exc!r}"[:300], case)
                return
            took = time.perf_counter() - started
            res.cases += 1
            res.max_seconds = max(res.max_seconds, took)
            res.statuses[response.status_code] = res.statuses.get(response.status_code, 0) + 1
            if took > slow_s:
                res.slow += 1
                _note(res, f"{took:.1f}s", case)
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=auth)
            except (AssertionError, FailureGroup) as exc:
                res.server_errors += 1
                _note(res, f"{response.status_code}: {str(exc)[:300]}", case)
                return
            try:
                case.validate_response(response, checks=[content_type_conformance], headers=auth)
            except (AssertionError, FailureGroup) as exc:
                res.other_failures += 1
                _note(res, f"{response.status_code}: {str(exc)[:300]}", case)

        one()
    return results


def _note(res: OperationResult, what: str, case) -> None:
    if len(res.examples) < 3:
        res.examples.append(f"{what} | {case.as_curl_command(headers={'Authorization': '<auth>'})[:600]}")
