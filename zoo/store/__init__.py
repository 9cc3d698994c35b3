"""Floor 3 (below the registry: see the README's Layout): the one owner of every file of a run folder and of a published
repository: their names (layout), run folders, weights (safetensors), the model card, the training curves."""
