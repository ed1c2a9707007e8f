"""The device a network is meant to run on: checked here, and named by its model so measurements never mix."""

from __future__ import annotations

import contextlib
import platform

import torch

DEVICES = ("cpu", "cuda", "cuda:N")


def check_device(device: str) -> torch.device:
    """``device`` as a torch device; ``ValueError`` when it is unknown or not present here."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown target.device {device!r}; allowed: {', '.join(DEVICES)}") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown target.device {device!r}; allowed: {', '.join(DEVICES)}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"target.device {device!r} is not present here (no CUDA GPU); allowed: cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"target.device {device!r} is not present: {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def device_name(device: str) -> str:
    """The device's model (CPU or GPU name), so that measurements from two machines never mix."""
    resolved = check_device(device)
    if resolved.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(resolved)}"
    return f"cpu:{cpu_model()}"


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
