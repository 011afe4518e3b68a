"""Schemathesis over the app's OpenAPI: no 5xx, no hang, declared content types, on every operation."""
from fastapi.testclient import TestClient

from app.main import create_app
from tests.reliability.fuzzing import run_campaign

EXAMPLES = 12


def test_fuzzing_every_operation_finds_no_server_error_and_no_hang(clean_db, settings):
    # With a Stripe secret configured, the webhook answers bad signatures 400 (unconfigured it is a 503).
    app = create_app(settings.model_copy(update={"stripe_webhook_secret": "whsec_fuzz"}))
    with TestClient(app):  # lifespan (driver, writer) for the whole campaign
        results = run_campaign(app, EXAMPLES, slow_s=5.0)
    assert len(results) > 30
    bad = {op: r.examples for op, r in results.items() if r.server_errors or r.slow}
    assert bad == {}
    assert all(r.cases > 0 for r in results.values())
    wrong_type = {op: r.examples for op, r in results.items() if r.other_failures}
    assert wrong_type == {}
