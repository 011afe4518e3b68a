"""The JSON response every route returns: serialised with orjson. FastAPI deprecated its own
ORJSONResponse; a class of our own keeps the bytes the same whatever FastAPI version is installed.
It is a JSONResponse so FastAPI still documents each route's response schema in OpenAPI."""
from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSONBody(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
