"""Latency on a real device: measured per genotype, and predicted from a per-layer lookup table."""

from search_spaces.latency.measure import Latency, LatencyMeter, measure_latency
from search_spaces.latency.table import LatencyTable, build_table, default_table_path

__all__ = [
    "Latency",
    "LatencyMeter",
    "LatencyTable",
    "build_table",
    "default_table_path",
    "measure_latency",
]
