"""The command edge: Hydra entry and bad input, worker device and threads, the stop guard, the study command skeleton."""
