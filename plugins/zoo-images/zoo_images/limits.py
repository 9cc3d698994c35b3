"""The valid ranges of the options every image recipe takes (plain data: no torch)."""

IMAGE_LIMITS = {
    "crop_padding": "[-1, 256]",  # -1: as the dataset suggests
    "flip": ("auto", "true", "false"),
    "size": "[16, 1024]",
    "val_split": "[0, 1)",
    "label_smoothing": "[0, 1]",
    "cache": ("auto", "memory", "none"),
    "decode": ("cpu", "device"),
}
