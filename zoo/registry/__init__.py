"""Floor 4: what is installed and named: entry-point discovery and isolation of broken plugins, the one hook caller,
the merged registry, catalog reading and writing, claim dispatch, parameter counts, the built-in loggers."""
