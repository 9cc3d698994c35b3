"""`zoo serve`: a model behind HTTP on LitServe, answering POST /predict as `zoo predict --json` does for one input.

The main process checks the options and the port, resolves the model (a run folder, or a pulled repository whose
every file `zoo pull` verified), writes the page and /info, then starts LitServe: inference workers that load the
model (zoo.jobs.serve_api) and HTTP processes with zoo's routes (zoo.jobs.serve_http). It blocks until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.core.schema import validate
from zoo.hub.integrity import hash_file
from zoo.hub.pull import PullResult, download
from zoo.jobs.model_source import ModelSource, from_pulled, from_run_folder
from zoo.jobs.train import make_recipe, resolve, settings
from zoo.store import layout
from zoo.store.card import dataset_name
from zoo.store.run_folder import METRICS_SCHEMA, read_json, side_files

HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "0.0.0.0": "0.0.0.0", "::": "::"}
DEVICES = ("auto", "cpu", "cuda", "mps")
#: tasks whose inputs are ids (JSON {"user": ...}); every other task takes a file upload
ID_TASKS = frozenset({"recommendation"})
MAX_BODY = 32 * 1024 * 1024
TOP = 5


@dataclass(frozen=True)
class ServeOptions:
    """How `zoo serve` listens and batches."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_size: int = 8
    batch_timeout: float = 0.01
    workers: int = 1
    device: str | None = None
    hub: str | None = None
    top: int = TOP
    max_body: int = MAX_BODY
    timeout: float = 30.0

    def check(self) -> ServeOptions:
        """The options, refused with one line each (a UsageError) before anything starts."""
        if self.host not in HOSTS:
            raise UsageError(f"--host must be one of {', '.join(HOSTS)} (LitServe binds no other), got {self.host!r}")
        if not 1024 <= self.port <= 65535:
            raise UsageError(f"--port must be from 1024 to 65535, got {self.port}")
        if not 1 <= self.max_batch_size <= 1024:
            raise UsageError(f"--max-batch-size must be from 1 to 1024, got {self.max_batch_size}")
        if not 0 <= self.batch_timeout < min(10.0, self.timeout):
            raise UsageError(f"--batch-timeout must be at least 0 and under 10 seconds, got {self.batch_timeout:g}")
        if not 1 <= self.workers <= 64:
            raise UsageError(f"--workers must be from 1 to 64, got {self.workers}")
        if self.device not in (None, *DEVICES):
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.top < 1:
            raise UsageError(f"top must be at least 1, got {self.top}")
        return self


@dataclass
class Model:
    """The model being served, as the main process knows it (its weights load in the workers)."""

    source: ModelSource
    pulled: PullResult | None
    recipe: Any
    #: what the workers load: the run folder, or the repository pinned at the commit that was verified here
    worker_target: str


def check_port(host: str, port: int) -> None:
    """Refuse a port another server holds, before the model is loaded."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            sock.bind((HOSTS[host], port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ZooError(
                    f"port {port} on {host} is in use: stop what listens there, or pick another --port"
                ) from None
            raise ZooError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def load_model(target: str, hub: str | None) -> Model:
    """The run folder or the pulled (verified, safetensors-only) repository, and its recipe: no weights loaded."""
    pulled = None
    if Path(target).is_dir():
        source = from_run_folder(target)
        worker_target = str(Path(target).resolve())
    else:
        pulled = download(target, hub=hub)
        source = from_pulled(pulled)
        worker_target = f"{pulled.repo_id}@{pulled.revision}" if "/" in target else target
    config = source.config
    mspec, rspec, dspec = resolve(source.spec.qualified_name, config.get("recipe"), dataset_name(config))
    recipe = make_recipe(rspec, mspec, dspec, settings(rspec, {"device": "cpu"}, {}), None)
    recipe.run_config = {"recipe": rspec.name, "model": mspec.name, **config}
    recipe.run_folder = source.folder
    return Model(source, pulled, recipe, worker_target)


def info(model: Model) -> dict[str, Any]:
    """GET /info: the model, where its weights come from (repo and commit, or null for a run folder), each
    file's sha256, the task and the metrics."""
    source, pulled = model.source, model.pulled
    if pulled is not None:
        files = [{"path": f.path, "sha256": f.sha256} for f in pulled.files]
    else:
        read = [*source.weights, *side_files(source.folder).values()]  # a recommender's id index too
        files = [
            {"path": p.relative_to(source.folder).as_posix(), "sha256": hash_file(p, git_sha1=False).sha256}
            for p in read
        ]
    return {
        "model": source.spec.name,
        "repo_id": pulled.repo_id if pulled else None,
        "revision": pulled.revision if pulled else None,
        "files": files,
        "task": source.spec.task,
        "metrics": metrics(source.folder, pulled),
    }


def metrics(folder: Path, pulled: PullResult | None) -> dict[str, Any]:
    """The run's (or repo's) metrics.json, else the catalog's metrics for the weights, else none."""
    path = folder / layout.METRICS
    if path.is_file():
        return dict(validate(read_json(path, "it should map metric names to numbers"), METRICS_SCHEMA[0], str(path)))
    if pulled is not None and pulled.name is not None:
        from zoo.registry.merged import get_registry

        return dict(get_registry().weights_entry(pulled.name).metrics or {})
    return {}


def page(model: Model, details: dict[str, Any]) -> str:
    """GET /: zoo.jobs.serve_page's page for the model; a plain one while that module is absent."""
    try:
        from zoo.jobs.serve_page import page as render
    except ImportError:
        from html import escape

        name = escape(str(details["model"]))
        return f"<!doctype html><title>{name}</title><h1>{name}</h1><p>POST /predict; GET /info</p>"
    return render(model.recipe, model.recipe.run_config, model.source.folder, details)


def serve(
    target: str,
    options: ServeOptions | None = None,
    on_ready: Callable[[dict[str, Any], str], None] | None = None,
) -> None:
    """Serve `target` (a run folder, a catalog name or ORG/NAME[@REV]) until Ctrl-C; `on_ready(info, url)` is
    called once the server listens."""
    options = (options or ServeOptions()).check()
    check_port(options.host, options.port)
    model = load_model(target, options.hub)
    details = info(model)
    html = page(model, details)
    scratch = tempfile.mkdtemp(prefix="zoo-serve-")
    try:
        with _terminate_as_interrupt():
            _run(model, details, html, options, Path(scratch) / "worker-error.txt", on_ready)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (docker stop, kill) ends the server as Ctrl-C does, every process it started with it; processes
    forked meanwhile keep the default. Ctrl-C works even where the shell started zoo with SIGINT ignored (`&`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    previous = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _run(
    model: Model,
    details: dict[str, Any],
    html: str,
    options: ServeOptions,
    errors: Path,
    on_ready: Callable[[dict[str, Any], str], None] | None,
) -> None:
    from zoo.jobs.serve_api import ZooAPI
    from zoo.jobs.serve_http import Site, ZooServer

    api = ZooAPI(
        model.worker_target, options.hub, options.top, str(errors), options.max_batch_size, options.batch_timeout
    )
    takes_ids = model.source.spec.task in ID_TASKS
    site = Site(html, details, takes_ids, options.max_body, str(errors))
    device = options.device or "auto"
    server = ZooServer(
        api,
        site=site,
        accelerator=device,
        devices=1 if device == "cpu" else "auto",
        workers_per_device=options.workers,
        timeout=options.timeout,
    )
    url = f"http://{'[::]' if options.host == '::' else options.host}:{options.port}"
    server.on_listening = lambda: on_ready(details, url) if on_ready else None
    try:
        server.run(
            host=HOSTS[options.host],
            port=options.port,
            log_level="warning",
            generate_client_file=False,
        )
    finally:
        _stop_leftovers(server)


def _stop_leftovers(server: Any) -> None:
    """End what a start that failed half-way left running (LitServe ends them itself after a normal start)."""
    for worker in getattr(server, "inference_workers", []):
        if worker.is_alive():
            worker.terminate()
            worker.join(5)
            if worker.is_alive():
                worker.kill()
    manager = getattr(getattr(server, "transport_config", None), "manager", None)
    if manager is not None:
        with contextlib.suppress(OSError, AttributeError, EOFError):
            manager.shutdown()
