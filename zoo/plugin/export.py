"""What a task tells export and the parity gate: example inputs of the model's forward and their dynamic axes.

A recipe implements `Recipe.example_inputs(batch_size)` (real samples of its task: the validation split when the
data is at hand, else inputs the plugin makes) and `Recipe.agreement(eager, exported, inputs)` (the task's own
measure of two runs agreeing: top-1, transcripts, top-N). The image, speech and recommender recipes of the
built-in plugins do; a plugin whose recipe subclasses one of them exports with no code of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Axis:
    """One dynamic axis of an input: the batch, or a length (audio samples). Inputs sharing a name share a size."""

    name: str
    #: the smallest size the exported model takes (shorter audio is refused with one line, not run)
    min: int = 1
    max: int = 1 << 20
    #: what the axis counts, for the refusal: "samples of audio (16 kHz)"
    unit: str = ""


@dataclass
class ExampleInputs:
    """The positional inputs of the model's forward for one batch, with their names and dynamic axes."""

    tensors: tuple[Any, ...]
    #: the inputs' names in the exported file (ONNX input names), one per tensor
    names: tuple[str, ...]
    #: per input, its dynamic axes: dimension -> Axis. The batch is dimension 0 of every input.
    axes: tuple[dict[int, Axis], ...]
    #: where the samples came from, for the report: "the validation split of digits", "inputs zoo_images makes"
    source: str = ""
    #: what the recipe needs to judge agreement for these inputs (e.g. the users of a recommender's batch)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.tensors) == len(self.names) == len(self.axes)):
            raise ValueError("ExampleInputs needs one name and one axes map per tensor")


@dataclass(frozen=True)
class Agreement:
    """The task's own measure of eager and exported outputs agreeing, as a fraction of the samples."""

    #: what was compared: "top-1", "transcripts", "top-10 items"
    name: str
    agreeing: int
    total: int

    @property
    def value(self) -> float:
        return self.agreeing / self.total if self.total else 1.0
