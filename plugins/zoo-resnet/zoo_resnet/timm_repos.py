"""timm's ResNet repositories on the Hub (timm/resnet50.a1_in1k, ...): torchvision's architecture and key names,
with the preprocessing of timm's `pretrained_cfg`. Reading them needs neither timm nor torch; loading them builds
the model on torch's meta device first, to check config.json against the weights' header."""

from __future__ import annotations

from typing import Any

from zoo.plugin import Claim, ForeignRepo
from zoo.plugin.schema import ANY, Fields, ListOf, MapOf, Maybe, Number, Rule, Text

# The pretrained_cfg fields that say how an image is prepared, as timm's resolve_data_config reads them.
PREPROCESSING = ("input_size", "crop_pct", "crop_mode", "interpolation", "mean", "std")
# timm's own defaults for a field a pretrained_cfg leaves out (timm.data.constants, resolve_data_config).
DEFAULTS = {
    "input_size": [3, 224, 224],
    "crop_pct": 0.875,
    "crop_mode": "center",
    "interpolation": "bilinear",
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}
# timm model arguments that change the architecture away from torchvision's (deep stems, anti-aliasing, ...).
SHAPE_ARGS = ("stem_type", "stem_width", "block_args", "aa_layer", "attn_layer", "avg_down", "cardinality")

# The ranges, from timm 1.0.31's 1,826 pretrained configs: crop_pct 0.875 to 1.15, input sizes 106 to 1024 pixels
# (always 3 channels), mean 0 to 0.5, std 0.143 to 1, num_classes up to 115,217. Each bound leaves room around them.
MAX_CLASSES = 1 << 17
SIDE = Number("[16, 2048]", integer=True)  # a ResNet downsamples 32x; 2048 is twice timm's largest


class Tuple(Rule):
    """A list of exactly len(rules) items, the i-th checked by rules[i] (timm's (channels, height, width))."""

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    def check(self, value: Any, path: str) -> None:
        ListOf(length=len(self.rules)).check(value, path)
        for i, (rule, item) in enumerate(zip(self.rules, value, strict=True)):
            rule.check(item, f"{path}[{i}]")

    def describe(self) -> str:
        return f"a list of {len(self.rules)} values"


class IdKey(Rule):
    """A JSON object key that is a class index written as digits ("0", "17"), below `limit`."""

    def __init__(self, limit: int = MAX_CLASSES) -> None:
        self.limit = limit

    def check(self, value: Any, path: str) -> None:
        index = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value
        Number(f"[0, {self.limit})", integer=True).check(index, path)

    def describe(self) -> str:
        return "a class index"


class LabelNames(Rule):
    """timm's label_names: a name per class, as a list or as {index: name} (gaps allowed); `classes` of them."""

    def __init__(self, classes: int | None = None) -> None:
        self.classes = classes

    def check(self, value: Any, path: str) -> None:
        name = Text(max_length=1000)
        if isinstance(value, dict):
            MapOf(name, key=IdKey(self.classes or MAX_CLASSES)).check(value, path)
        else:
            ListOf(name, max_length=MAX_CLASSES, length=self.classes).check(value, path)

    def describe(self) -> str:
        return "a list of class names, or a mapping of class index to name"


COLOUR = ListOf(Number("[0, 1]"), length=3)
PRETRAINED_CFG = Fields(
    {
        "input_size": Tuple(Number("[3, 3]", integer=True), SIDE, SIDE),  # torchvision's ResNet takes RGB
        "crop_pct": Maybe(Number("[0.5, 1.5]")),  # resize to input_size / crop_pct: at most twice the crop
        "crop_mode": Maybe(Text(choices=("center", "squash", "border"))),  # timm's three
        "interpolation": Text(choices=("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")),
        "mean": COLOUR,
        "std": ListOf(Number("[0.01, 1]"), length=3),  # pixels lie in [0, 1]: no spread is wider, none near 0
        "num_classes": Number(f"[0, {MAX_CLASSES}]", integer=True),
        "tag": Maybe(Text(max_length=200)),
        "label_names": LabelNames(),
    }
)


# config.json as timm's save_for_hf writes it (the fields zoo reads; the others pass).
CONFIG = Fields(
    {
        "architecture": Text(max_length=200),
        "num_classes": Number(f"[0, {MAX_CLASSES}]", integer=True),
        "global_pool": Maybe(Text(max_length=50)),
        "model_args": Maybe(MapOf(ANY)),
        "label_names": LabelNames(),
        "pretrained_cfg": PRETRAINED_CFG,
    },
    required=("pretrained_cfg",),
)


def claim(repo: ForeignRepo, depths: tuple[int, ...]) -> Claim | None:
    """A claim for a timm repo whose architecture is one of zoo's ResNets (`resnet50`), else None."""
    arch = repo.config.get("architecture")
    if not isinstance(arch, str) or arch not in {f"resnet{d}" for d in depths} or "pretrained_cfg" not in repo.config:
        return None
    config = repo.document("config.json", CONFIG) or {}
    cfg = config["pretrained_cfg"]
    args = config.get("model_args") or {}
    if any(k in args for k in SHAPE_ARGS) or args.get("in_chans", 3) != 3 or config.get("global_pool", "avg") != "avg":
        return None  # a timm variant torchvision does not build (torchvision's ResNet takes 3 channels)
    num_classes = config.get("num_classes", cfg.get("num_classes", 1000))
    if num_classes == 0:
        return None  # a headless timm ResNet (features only): torchvision's has a classifier
    # as many names as classes (timm reads label_names from config.json, else from its pretrained_cfg)
    repo.document("config.json", Fields({"label_names": LabelNames(num_classes), "pretrained_cfg": Fields(
        {"label_names": LabelNames(num_classes)})}))  # fmt: skip
    labels = names_by_index(config.get("label_names", cfg.get("label_names")), num_classes)
    found = Claim(
        model=arch,
        model_args={"num_classes": num_classes},
        library="timm",
        architecture=f"{arch}.{cfg.get('tag')}" if cfg.get("tag") else arch,
        task="image-classification",
        labels=labels,
        preprocessing=preprocessing(cfg),
        # Without label_names, 1000 classes are ImageNet's: the recipe names them when it predicts.
        config={"label_set": "imagenet-1k"} if not labels and num_classes == 1000 else {},
    )
    repo.check_weights(found, lambda **args: _build(arch, **args), imports=("torchvision",))
    return found


def _build(arch: str, **args: Any) -> Any:
    from zoo_resnet.models import build

    return build(arch, **args)


def names_by_index(names: list[str] | dict[str, str] | None, num_classes: int) -> tuple[str, ...]:
    """The class names by output index (a dict's gaps named by their index); () when the repo names none."""
    if isinstance(names, dict):
        return tuple(names.get(str(i), str(i)) for i in range(num_classes)) if names else ()
    return tuple(names or ())


def preprocessing(cfg: dict[str, Any]) -> dict[str, Any]:
    """The eval-time preprocessing of a (checked) pretrained_cfg, field for field (timm's defaults where it is
    silent or null)."""
    return {key: DEFAULTS[key] if cfg.get(key) is None else cfg[key] for key in PREPROCESSING}
