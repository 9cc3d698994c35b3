"""Floor 6: what a user asks for: train (resolved once into a job), launch, worker, inference, pretrained models,
reproduce, the runs listing, plugin install and scaffold, and the Python API behind `import zoo`."""
