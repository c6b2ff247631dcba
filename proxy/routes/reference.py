"""The API's own description: /openapi.json, and /docs, an interactive
reference (Swagger UI) that works offline.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package and are
served from ``/docs/assets``; nothing is loaded from another host (the page's
Content-Security-Policy says so to the browser too).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from .. import openapi, params
from ..metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .admin import require_admin

# Relative URLs, so the page also works behind a proxy that adds a path prefix.
_PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>shoprelay API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<noscript>This reference needs JavaScript; the document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""

# validatorUrl: null, or Swagger UI asks validator.swagger.io for a badge.
_INIT = b"""window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: false,
  displayOperationId: false,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""

# Swagger UI draws with inline styles and data: images; everything else is
# this origin's.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

assets = StaticFiles(directory=str(swagger_ui_path))


@params.accepts()
async def openapi_json(request: Request) -> Response:
    return Response(openapi.document(), media_type="application/json")


@params.accepts()
async def docs(request: Request) -> Response:
    return Response(_PAGE, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": _CSP})


@params.accepts()
async def docs_init(request: Request) -> Response:
    return Response(_INIT, media_type="text/javascript; charset=utf-8")


@params.accepts()
async def root(request: Request) -> Response:
    return RedirectResponse("docs", status_code=302)


@params.accepts()
async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    if runtime.config.metrics_require_admin:
        require_admin(request)
    return Response(runtime.metrics.render(), media_type=METRICS_CONTENT_TYPE)
