"""Floor 5: the Hub. One transport interface (remote: huggingface_hub; local: git folders) chosen in one place, and
on top of it integrity checks, pull, publish, pin and search. It never imports the engine."""
