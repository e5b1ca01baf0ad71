"""Sample-data generator: writes a deterministic, realistic landing zone (the layout of
docs/landing-zone.md) plus generated/manifest.json, faults.jsonl and sensitive_values.txt.

    from sample_data import GeneratorConfig, generate
    manifest = generate(GeneratorConfig.preset("tiny", seed=1), "var")

CLI: ``python -m sample_data --out var --seed 42 --scale default``.
"""

from sample_data.config import PRESETS, GeneratorConfig
from sample_data.engine import LandingNotEmpty, generate
from sample_data.faults import FAULT_TABLE, FILE_KINDS, ROW_KINDS, TOLERATED_KINDS
from sample_data.stock import STOCK_HEADER_VARIANTS

__all__ = ["FAULT_TABLE", "FILE_KINDS", "GeneratorConfig", "LandingNotEmpty", "PRESETS", "ROW_KINDS",
           "STOCK_HEADER_VARIANTS", "TOLERATED_KINDS", "generate"]
