"""The resnet-finetune recipe's settings on CPU and on GPU (plain data: registering them imports no torch)."""

from zoo_images.limits import IMAGE_LIMITS

COMMON = {
    "optimizer": "adamw",
    "weight_decay": 0.05,
    "scheduler": "cosine",
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "crop_padding": -1,
    "flip": "auto",
    "size": 224,
    "download": False,
    "val_split": 0.2,
    "cache": "auto",  # folder datasets: decoded images kept in memory when they fit (auto), always, or never
    "decode": "cpu",  # folder datasets: in the DataLoader's workers (cpu), or whole batches on the device
    "best_metric": "accuracy",
    # the recipe's own
    "base": "",  # weights to start from: a catalog name or repo id; "" = the model's default weights
    "hub": "",  # where to pull them from; "" = ZOO_HUB or the Hugging Face Hub
    "pretrained": True,
    "freeze_backbone": False,
    "backbone_lr_scale": 0.1,  # the backbone learns at lr x this, the new head at lr
    "mixup": 0.2,  # Beta(alpha, alpha) for MixUp; 0 turns it off
    "cutmix": 1.0,  # Beta(alpha, alpha) for CutMix; 0 turns it off
    "mix_prob": 0.5,  # the share of batches mixed
}
CPU_DEFAULTS = {**COMMON, "epochs": 3, "batch_size": 32, "lr": 1e-3, "num_workers": 0}
GPU_DEFAULTS = {**COMMON, "epochs": 10, "batch_size": 256, "lr": 2e-3}
LIMITS = {
    **IMAGE_LIMITS,
    "backbone_lr_scale": "[0, inf)",
    "mixup": "[0, inf)",
    "cutmix": "[0, inf)",
    "mix_prob": "[0, 1]",
}
