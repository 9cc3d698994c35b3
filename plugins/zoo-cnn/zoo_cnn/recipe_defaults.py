"""The cnn-cifar10 recipe's settings on CPU and on GPU (plain data: registering them imports no torch)."""

from zoo_images.limits import IMAGE_LIMITS

COMMON = {
    "optimizer": "sgd",
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 5e-4,
    "scheduler": "onecycle",
    "label_smoothing": 0.1,
    "crop_padding": -1,
    "flip": "auto",
    "size": 32,
    "download": False,
    "val_split": 0.2,
    "cache": "auto",  # folder datasets: decoded images kept in memory when they fit (auto), always, or never
    "decode": "cpu",  # folder datasets: in the DataLoader's workers (cpu), or whole batches on the device
    "best_metric": "accuracy",
}
CPU_DEFAULTS = {**COMMON, "epochs": 20, "batch_size": 128, "lr": 0.1, "num_workers": 0}
GPU_DEFAULTS = {**COMMON, "epochs": 30, "batch_size": 512, "lr": 0.4}
# The tutorial network's first linear layer is sized for 32 x 32 inputs.
LIMITS = {**IMAGE_LIMITS, "size": "[32, 32]"}
