"""What the benchmark scripts share: where figures go and how they are written."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

BENCH_DIR = Path(__file__).resolve().parents[1] / "runs" / "bench"


def machine() -> dict[str, Any]:
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_figures(name: str, figures: dict[str, Any]) -> Path:
    """Write ``figures`` (plus the machine) as ``runs/bench/<name>.json`` and return the path."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.json"
    path.write_text(json.dumps({**figures, "machine": machine()}, indent=2) + "\n")
    print(f"wrote {path}")
    return path
