"""The recsys recipes' settings (plain data: registering them imports no torch)."""

DATA = {
    "val_split": 0.2,
    "rating_min": 0.5,
    "rating_max": 5.0,
    "columns": "user=user,item=item,rating=rating,timestamp=timestamp",
}
# reg is L2 on the batch's user and item vectors. On ml-100k (random 80/20) reg 0.1 with lr 3e-3 gave the best
# validation RMSE of the settings tried (reg 0.02..0.3, lr 3e-3..5e-3, batch 512..1024); it overfits after ~14 epochs.
MF_CPU = {
    **DATA,
    "epochs": 40,
    "batch_size": 1024,
    "optimizer": "adam",
    "lr": 3e-3,
    "dim": 64,
    "reg": 0.1,
    # auto: sparse embedding gradients with SparseAdam from 50,000 user + item rows (ml-10m and up), dense Adam
    # below. At ml-25m size SparseAdam trains several times as many ratings/s (bench/recsys_scale.py); on ml-100k
    # dense Adam reaches a better RMSE (0.909 against 0.911) at no cost that matters.
    "sparse": "auto",
    "best_metric": "-rmse",
    "patience": 4,
    "num_workers": 0,
}
MF_GPU = {**MF_CPU, "batch_size": 8192}
NCF_CPU = {
    **DATA,
    "epochs": 10,
    "batch_size": 256,
    "optimizer": "adam",
    "lr": 1e-3,
    "gmf_dim": 8,
    "mlp_layers": "64,32,16,8",
    "negatives": 4,
    "sparse": "false",  # NeuMF's MLP has dense gradients, which SparseAdam refuses
    "best_metric": "hr@10",
    "patience": 3,
    "num_workers": 0,
}
NCF_GPU = {**NCF_CPU, "batch_size": 4096}
DATA_LIMITS = {
    "val_split": "(0, 1)",
    "rating_min": "(-inf, inf)",
    "rating_max": "(-inf, inf)",
    "sparse": ("auto", "true", "false"),
}
MF_LIMITS = {**DATA_LIMITS, "dim": "[1, 4096]", "reg": "[0, inf)"}
NCF_LIMITS = {**DATA_LIMITS, "gmf_dim": "[1, 4096]", "negatives": "[1, 1000]", "sparse": ("false",)}
