"""The API's own description: /openapi.json and /docs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import openapi, params
from ..metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .admin import require_admin


@params.accepts()
async def openapi_json(request: Request) -> Response:
    return Response(openapi.document(), media_type="application/json")


@params.accepts()
async def docs(request: Request) -> Response:
    return Response(openapi.docs_page(), media_type="text/html; charset=utf-8")


@params.accepts()
async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    if runtime.config.metrics_require_admin:
        require_admin(request)
    return Response(runtime.metrics.render(), media_type=METRICS_CONTENT_TYPE)
