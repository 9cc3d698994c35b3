"""A tqdm class that draws with Rich on stderr, for huggingface_hub's downloads (stdout stays for --json)."""

from __future__ import annotations

from typing import Any

from huggingface_hub.utils import tqdm as _tqdm  # honours HF_HUB_DISABLE_PROGRESS_BARS

_PROGRESS: Any = None
_OPEN = 0


def _progress() -> Any:
    global _PROGRESS
    if _PROGRESS is None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        _PROGRESS = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        _PROGRESS.start()
    return _PROGRESS


class RichTqdm(_tqdm):
    """Each tqdm bar becomes one task of a shared Rich Progress; the display closes with the last bar."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._task = None  # tqdm's __init__ already calls display()
        super().__init__(*args, **kwargs)
        if not self.disable:
            global _OPEN
            _OPEN += 1
            self._task = _progress().add_task(self.desc or "", total=self.total, completed=self.n)

    def rewound(self) -> None:
        """Called when the download goes back (huggingface_hub restarting it); a subclass may listen."""

    def update(self, n: float | None = 1) -> bool | None:
        if n is not None and n < 0:
            self.rewound()
        return super().update(n)

    def display(self, *_args: Any, **_kwargs: Any) -> None:
        if self._task is not None and _PROGRESS is not None:
            _PROGRESS.update(self._task, completed=self.n, total=self.total, description=self.desc or "")

    def close(self) -> None:
        global _PROGRESS, _OPEN
        if self.disable or self._task is None:
            return super().close()
        self.display()
        self._task = None
        _OPEN -= 1
        if _OPEN == 0 and _PROGRESS is not None:
            _PROGRESS.stop()
            _PROGRESS = None
        self.disable = True

    def clear(self, *args: Any, **kwargs: Any) -> None:
        pass
