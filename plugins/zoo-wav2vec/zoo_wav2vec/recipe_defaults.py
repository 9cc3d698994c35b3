"""The wav2vec2-ctc-finetune settings (plain data: registering them imports no torch)."""

# lr 5e-5 with AdamW and the tri-stage schedule (10% warmup, 40% hold, 50% decay) follows the paper's fine-tuning
# of BASE; the feature encoder stays frozen throughout.
CPU = {
    "epochs": 10,
    "batch_size": 8,
    "optimizer": "adamw",
    "lr": 5e-5,
    "weight_decay": 0.0,
    "scheduler": "tri-stage",
    "stage_ratios": "0.1,0.4,0.5",
    "grad_clip": 1.0,
    "best_metric": "-wer",
    "pretrained": True,
    "base": "",
    "hub": "",
    "freeze_feature_encoder": True,
    "freeze_transformer_steps": 0,
    "dropout": 0.1,
    "max_seconds": 30.0,
    "train_split": "train-clean-100",
    "val_split": "dev-clean",
    "val_fraction": 0.1,
    "chunk_seconds": 30.0,
    "overlap_seconds": 5.0,
}
# On a GPU: bf16 autocast (precision auto), larger batches and two accumulated batches per step.
GPU = {**CPU, "batch_size": 16, "grad_accum": 2, "precision": "auto"}
LIMITS = {
    "freeze_transformer_steps": "[0, inf)",
    "dropout": "[0, 1)",
    "max_seconds": "(0, 3600]",
    "val_fraction": "(0, 1)",
    "chunk_seconds": "[1, 3600]",
    "overlap_seconds": "[0, 600]",
}
