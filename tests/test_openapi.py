"""The OpenAPI document describes what the routes answer: JSON bodies are documented as the
objects they are (the response class must stay a JSONResponse for FastAPI to do that)."""
from __future__ import annotations

from app.main import create_app


def _json_200_schemas(spec: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            content = op.get("responses", {}).get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                out[(method, path)] = schema
    return out


def test_json_answers_are_documented_as_objects_not_strings(settings):
    schemas = _json_200_schemas(create_app(settings).openapi())
    assert schemas[("get", "/v1/events/{message_id}")]["type"] == "object"
    assert [key for key, schema in schemas.items() if schema.get("type") == "string"] == []
