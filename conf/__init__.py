"""Hydra configs of the effnas commands, one folder per group (shipped in the wheel as effnas_conf)."""
