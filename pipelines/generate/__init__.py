"""Sample-data generator: writes a deterministic, realistic landing zone (the layout of
docs/landing-zone.md) plus generated/manifest.json, faults.jsonl and sensitive_values.txt.

    from pipelines.generate import GeneratorConfig, generate
    manifest = generate(GeneratorConfig.preset("tiny", seed=1), "var")

CLI: ``python -m pipelines.generate --out var --seed 42 --scale default``.
"""

from pipelines.generate.config import PRESETS, GeneratorConfig
from pipelines.generate.engine import LandingNotEmpty, generate
from pipelines.generate.faults import FAULT_TABLE, FILE_KINDS, ROW_KINDS, TOLERATED_KINDS
from pipelines.generate.stock import STOCK_HEADER_VARIANTS

__all__ = ["FAULT_TABLE", "FILE_KINDS", "GeneratorConfig", "LandingNotEmpty", "PRESETS", "ROW_KINDS",
           "STOCK_HEADER_VARIANTS", "TOLERATED_KINDS", "generate"]
