"""Where training runs: the device a worker trains on, and its CPU threads."""

from __future__ import annotations

import torch

DEVICES = "auto, cpu, cuda, cuda:N"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; an explicit unavailable device is a ``ValueError``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; allowed: {DEVICES}") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available here; use device=auto or cpu")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device {device!r}: only {count} CUDA device(s) here; allowed: auto, cpu, cuda:0..cuda:{count - 1}"
            )
    elif resolved.type != "cpu":
        raise ValueError(f"unsupported device {device!r}; allowed: {DEVICES}")
    return resolved


def use_device(device: str, threads: int | None = None) -> torch.device:
    """Resolve ``device`` and, when given, set PyTorch's CPU thread count; returns the device."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be an integer >= 1 or null, got {threads!r}")
    resolved = resolve_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    return resolved
