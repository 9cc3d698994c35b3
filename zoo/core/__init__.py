"""Floor 1: what every floor uses and that knows nothing of zoo: errors and warnings, atomic writes, paths and
text from untrusted sources, the ranges of settings, the cache folder, child interpreters."""
