"""The JSON response every route returns: serialised with orjson (FastAPI deprecated its own
JSONBody, and a class of our own keeps the bytes the same whatever FastAPI version is installed)."""
from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
