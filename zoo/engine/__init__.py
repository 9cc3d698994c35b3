"""Floor 5: the training engine, which every recipe of every plugin trains through (`Trainer`): devices, precision,
loaders, the loop, checkpoints, evaluation and the loggers' calls. It knows no Hub and no catalog."""
