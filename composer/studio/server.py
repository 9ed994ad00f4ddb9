"""The studio server: a FastAPI app serving the page, its API and files, run by uvicorn on 127.0.0.1.

FastAPI because the page needs little more than JSON routes, file responses and one streaming
response, all of which it gives without a front-end build or any asset from a CDN; the page is
hand-written HTML/JS in ``static/`` served from the package.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from composer.errors import ComposerError
from composer.studio.jobs import Jobs
from composer.studio.radio import Radio
from composer.studio.routes import json_error, router
from composer.studio.workspace import StudioError, Workspace

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


@dataclass
class Studio:
    """What every request shares: the folders, the job queue and the radio."""

    workspace: Workspace
    jobs: Jobs
    radio: Radio


def create_app(root: Path, runs: Path) -> FastAPI:
    """The app for a studio folder ``root`` (sessions, scratch) and a folder of trained runs."""
    workspace = Workspace.create(root, runs)
    studio = Studio(workspace, Jobs(), Radio(workspace))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        studio.radio.stop()
        studio.jobs.shutdown()

    app = FastAPI(title="composer studio", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.studio = studio
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/", lambda: FileResponse(STATIC / "index.html"), include_in_schema=False)
    install_error_handlers(app)
    return app


def install_error_handlers(app: FastAPI) -> None:
    """Every failure becomes ``{"error": one line}``: 4xx for the user's input, 500 for a bug."""

    @app.exception_handler(StudioError)
    async def studio_error(request: Request, exc: StudioError) -> JSONResponse:
        return json_error(str(exc), exc.status)

    @app.exception_handler(ComposerError)
    async def composer_error(request: Request, exc: ComposerError) -> JSONResponse:
        return json_error(str(exc), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return json_error(f"{request.url.path}: {exc.detail}", exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return json_error(validation_message(exc), 422)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s failed", request.url.path)
        return json_error(f"internal error: {type(exc).__name__}: {exc}", 500)


def validation_message(exc: RequestValidationError) -> str:
    """Pydantic's first complaint as one line: ``seconds: Input should be less than or equal to 300 (got 1e9)``."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
    got = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], dict) else ""
    more = f"; and {len(errors) - 1} more" if len(errors) > 1 else ""
    return f"{field}: {first.get('msg', 'invalid')}{got}{more}"


def serve(root: Path, runs: Path, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the studio until Ctrl-C."""
    import uvicorn

    uvicorn.run(create_app(root, runs), host=host, port=port, log_level="warning")
