"""Malformed catalog files, one per kind of mistake: (text, the line the error names, words it says)."""

ENTRY = '[weights."resnet18.tv_in1k"]\nmodel = "resnet18"\nsource = "timm/resnet18.tv_in1k"\nrevision = "main"\n'

# (catalog text, expected line, words the message must contain)
MISTAKES = {
    "toml-syntax": ('[weights."a.b"]\nmodel = "a"\nsource = \n', 3, ["invalid TOML"]),
    "missing-key": (
        '[weights."resnet18.tv_in1k"]\nmodel = "resnet18"\nsource = "timm/x"\n',
        1,
        ["missing required key 'revision'"],
    ),
    "typo-key": (ENTRY + 'licence = "mit"\n', 5, ["unknown key", "did you mean 'license'"]),
    "wrong-type": (ENTRY + 'default = "yes"\n', 5, [".default", "expected true or false, got a string"]),
    "bad-digest": (
        ENTRY + '[weights."resnet18.tv_in1k".files]\n"model.safetensors" = "md5:abc"\n',
        6,
        [".files.model.safetensors", 'expected "sha256:" and 64 lowercase hex digits'],
    ),
    "bad-name": (ENTRY.replace('resnet18.tv_in1k"]', 'ResNet18"]'), 1, ["must be 'arch.tag'"]),
    "arch-mismatch": (
        ENTRY.replace('model = "resnet18"', 'model = "resnet34"'),
        2,
        ["architecture 'resnet18' differs from model 'resnet34'"],
    ),
    "bad-source": (ENTRY.replace("timm/resnet18.tv_in1k", "not a repo"), 3, ["expected a Hub repo id"]),
    # the one repo-id rule (zoo.core.paths.is_repo_id) that pull and publish apply: no ".." even where the regex fits
    "dotdot-source": (ENTRY.replace("timm/resnet18.tv_in1k", "timm/resnet18..x"), 3, ["expected a Hub repo id"]),
    "revision-type": (
        ENTRY.replace('revision = "main"', "revision = 5"),
        4,
        [".revision", "expected a non-empty string, got an integer"],
    ),
    "metric-type": (
        ENTRY + '[weights."resnet18.tv_in1k".metrics]\ntop1 = "high"\n',
        6,
        [".metrics.top1", "expected a number"],
    ),
    "top-level": ('[models."x"]\nname = "x"\n', None, ["unknown top-level key 'models'"]),
    "path-escape": (
        ENTRY + '[weights."resnet18.tv_in1k".files]\n"../../etc/passwd" = "sha256:' + "0" * 64 + '"\n',
        6,
        ["must stay inside the repository"],
    ),
}
