"""`zoo serve`'s inference worker: a LitServe LitAPI that loads the model once and answers batches of requests.

Each request is decoded alone (`Recipe.decode`) in `decode_request`, where a bad one becomes a `Refused` answer
instead of an exception: LitServe's batched loop fails every request of a batch when one raises. The batch then
runs `Recipe.predict_batch` on the good samples only.
"""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import litserve as ls

from zoo.core.errors import ZooError
from zoo.core.text import printable

#: what the HTTP side sends for one request: an upload {"file": name, "data": bytes}, or {"id": "196"}
Payload = dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """A request answered with an error instead of an output: its HTTP status and one line."""

    status: int
    error: str


def one_line(text: str, limit: int = 400) -> str:
    """A message as one printable line, cut to `limit` characters."""
    line = printable(" ".join(str(text).split()), keep_newlines=False)
    return line if len(line) <= limit else line[: limit - 3] + "..."


class ZooAPI(ls.LitAPI):
    """One inference worker: `target` is loaded by `setup` in the worker's own process."""

    def __init__(
        self, target: str, hub: str | None, top: int, errors: str, max_batch_size: int, batch_timeout: float
    ) -> None:
        with warnings.catch_warnings():  # batch and unbatch are ours at every batch size, 1 included
            warnings.simplefilter("ignore")
            super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.target, self.hub, self.top = target, hub, top
        #: a file where a worker that cannot load the model writes why, in one line, for the main process
        self.errors = errors

    def setup(self, device: str) -> None:
        # Ctrl-C reaches the whole process group: the main process ends the workers; a worker must not die alone
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from zoo.jobs.inference import load_for_inference

        kind, _, index = str(device).partition(":")
        try:
            self.recipe, model, self.config = load_for_inference(self.target, device=kind, hub=self.hub)
        except (ZooError, OSError) as exc:
            Path(self.errors).write_text(one_line(str(exc) or type(exc).__name__, 2000), encoding="utf-8")
            logging.getLogger("litserve.loops.loops").setLevel(logging.CRITICAL)  # its traceback says no more
            raise
        self.model = model.to(device) if index else model

    def decode_request(self, request: Payload, **kwargs: Any) -> Any:  # noqa: ARG002 - LitServe's signature
        if "id" in request:
            return self._decode(str(request["id"]), str(request["id"]), None)
        folder = tempfile.mkdtemp(prefix="zoo-serve-")
        try:
            path = Path(folder) / request["file"]
            path.write_bytes(request["data"])
            return self._decode(str(path), request["file"], folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _decode(self, source: str, name: str, folder: str | None) -> Any:
        """The recipe's decoded sample, or Refused: the message names the upload, not where it was kept."""
        try:
            return self.recipe.decode(source, self.config)
        except Exception as exc:
            message = str(exc) if isinstance(exc, ZooError) else f"cannot read {name}: {type(exc).__name__}: {exc}"
            if folder is not None:
                message = message.replace(str(Path(folder) / name), name).replace(folder, "")
            return Refused(422, one_line(message))

    def batch(self, inputs: list[Any]) -> list[Any]:
        return list(inputs)

    def predict(self, x: Any, **kwargs: Any) -> Any:  # noqa: ARG002 - LitServe's signature
        """predict_batch over the good samples; the refused keep their refusal. At max_batch_size 1 LitServe
        passes one sample, not a list."""
        if self.max_batch_size == 1:
            return self._predict([x])[0]
        return self._predict(x)

    def _predict(self, x: list[Any]) -> list[Any]:
        import torch

        good = [sample for sample in x if not isinstance(sample, Refused)]
        outputs: list[Any] = []
        if good:
            try:
                with torch.no_grad():
                    outputs = list(self.recipe.predict_batch(self.model, good, self.top, self.config))
            except Exception as exc:
                failed = Refused(500, one_line(f"the model failed on this batch: {type(exc).__name__}: {exc}"))
                logging.getLogger("zoo.serve").error("zoo serve: %s", failed.error)
                return [sample if isinstance(sample, Refused) else failed for sample in x]
            if len(outputs) != len(good):
                name = self.recipe.recipe_spec.qualified_name
                failed = Refused(500, f"recipe '{name}' returned {len(outputs)} outputs for {len(good)} inputs")
                return [sample if isinstance(sample, Refused) else failed for sample in x]
        answers = iter(outputs)
        return [sample if isinstance(sample, Refused) else next(answers) for sample in x]

    def unbatch(self, output: list[Any]) -> list[Any]:
        return output

    def encode_response(self, output: Any, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002
        if isinstance(output, Refused):
            return {"status": output.status, "error": output.error}
        return {"status": 200, "output": output}
