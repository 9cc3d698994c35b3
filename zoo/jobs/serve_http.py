"""`zoo serve`'s HTTP side: LitServe's server with zoo's routes in place of its own.

POST /predict reads the body (refusing one larger than the limit before reading it), checks its form, and hands
LitServe's queue an upload's bytes or a user id; GET / is the page, /info and /health describe the model. Every
error, LitServe's and FastAPI's included, is answered as {"error": "<one line>"}.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import litserve as ls
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from litserve.server import RegularRequestHandler
from litserve.utils import WorkerSetupStatus
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from zoo.core.schema import DocumentError, Fields, Number, OneOf, Text, validate
from zoo.jobs.serve_api import Payload, one_line

#: the JSON body a recommender takes
USER_REQUEST = Fields({"user": OneOf((Text(max_length=200), Number(integer=True)))}, required=("user",))
ROUTES = "POST /predict, GET /, GET /info, GET /health"


class TooLarge(Exception):
    """The body is larger than the limit."""


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name, without any folder the client put in it; 'upload' when it gave none."""
    name = PurePath(str(filename or "").replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") and len(name.encode()) <= 200 and "\0" not in name else "upload"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused (TooLarge) as soon as it is known to pass `limit`: by its Content-Length before
    reading any of it, else as it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


class ZooServer(ls.LitServer):
    """LitServer whose routes are zoo's: its own `/`, `/info` and `/health` and its POST handler are not registered."""

    def __init__(self, api: ls.LitAPI, *, site: Site, **options: Any) -> None:
        self.site = site
        super().__init__(api, disable_openapi_url=True, **options)
        self.uvicorn_graceful_timeout = 3  # Ctrl-C must end everything within seconds, open connections or not
        self.on_listening: Callable[[], None] = lambda: None

    def register_endpoints(self) -> None:
        site, app = self.site, self.app
        handler = RegularRequestHandler(self.lit_api, self)
        add_error_handlers(app)

        @app.get("/", response_class=HTMLResponse)
        async def index() -> HTMLResponse:
            return HTMLResponse(site.page)

        @app.get("/info")
        async def info() -> JSONResponse:
            return JSONResponse(site.info)

        @app.get("/health")
        async def health() -> JSONResponse:
            ready = bool(self.workers_setup_status) and all(
                status == WorkerSetupStatus.READY for status in self.workers_setup_status.values()
            )
            return JSONResponse({"status": "ok" if ready else "starting"}, status_code=200 if ready else 503)

        @app.post("/predict")
        async def predict(request: Request) -> Response:
            try:
                body = await read_body(request, site.max_body)
            except TooLarge:
                return error(413, f"the request is larger than {site.max_body} bytes", {"Connection": "close"})
            except ClientDisconnect:
                return Response(status_code=400)  # nobody is left to read it
            payload = await site.payload(request, body)
            if isinstance(payload, JSONResponse):
                return payload
            answer = await handler.handle_request(payload, dict)
            if answer.get("status") != 200:
                return error(int(answer.get("status", 500)), str(answer.get("error")))
            name = payload.get("file", payload.get("id"))
            return JSONResponse([{"input": name, "output": answer["output"]}])

    def verify_worker_status(self) -> None:
        """Wait until a worker is ready; one that could not load the model stops the start with its own line."""
        import time

        from zoo.core.errors import ZooError

        while not any(v == WorkerSetupStatus.READY for v in self.workers_setup_status.values()):
            failed = any(v == WorkerSetupStatus.ERROR for v in self.workers_setup_status.values())
            if failed or not any(worker.is_alive() for worker in self.inference_workers):
                raise ZooError(self.site.worker_error() or "the inference worker ended before it was ready")
            time.sleep(0.05)

    def _perform_graceful_shutdown(self, *args: Any, **kwargs: Any) -> None:
        # LitServe's monitor thread logs a traceback when the manager it polls goes away: nothing to report
        logging.getLogger("litserve").setLevel(logging.CRITICAL)
        super()._perform_graceful_shutdown(*args, **kwargs)

    def _start_server(self, *args: Any, **kwargs: Any) -> Any:
        workers = super()._start_server(*args, **kwargs)
        self.on_listening()
        return workers


def add_error_handlers(app: FastAPI) -> None:
    """LitServe's and FastAPI's errors ({"detail": ...}) as {"error": ...}, and no traceback to any client."""

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404:
            detail = f"no such page: zoo serve answers {ROUTES}"
        elif exc.status_code == 405:
            detail = f"method not allowed here: zoo serve answers {ROUTES}"
        return error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, f"bad request: {exc.errors()[:1]}")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("zoo.serve").error("zoo serve: unexpected %s: %s", type(exc).__name__, one_line(str(exc)))
        return error(500, f"internal error ({type(exc).__name__}); the server's log has more")


class Site:
    """What the HTTP processes serve: the page, /info, how requests look, and the body limit."""

    def __init__(self, page: str, info: dict[str, Any], takes_ids: bool, max_body: int, errors: str) -> None:
        self.page, self.info, self.takes_ids, self.max_body = page, info, takes_ids, max_body
        self.errors = errors

    def worker_error(self) -> str:
        try:
            with open(self.errors, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError:
            return ""

    async def payload(self, request: Request, body: bytes) -> Payload | JSONResponse:
        """The request as the worker takes it, or the 4xx that refuses it."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return await self._upload(request, body)
        if self.takes_ids:
            return self._user(body)
        return error(
            415,
            "send the file as a multipart upload in the field 'file' (curl -F file=@photo.jpg URL/predict)",
        )

    async def _upload(self, request: Request, body: bytes) -> Payload | JSONResponse:
        if self.takes_ids:
            return error(415, 'this model takes a user as JSON: {"user": "196"} (Content-Type: application/json)')
        request._body = body  # the form is parsed from the body already read under the limit
        form = await request.form(max_files=1, max_fields=16)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                fields = ", ".join(sorted(repr(str(k))[:40] for k in form)) or "none"
                return error(400, f"no file in the form field 'file' (curl -F file=@photo.jpg); fields sent: {fields}")
            data = await upload.read()
            return {"file": upload_name(upload.filename), "data": data}
        finally:
            await form.close()

    def _user(self, body: bytes) -> Payload | JSONResponse:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return error(400, f'the body is not JSON ({exc}): send {{"user": "196"}}')
        try:
            validate(document, USER_REQUEST, "the request", 'Send {"user": "196"}.')
        except DocumentError as exc:
            return error(422, str(exc))
        return {"id": str(document["user"])}
