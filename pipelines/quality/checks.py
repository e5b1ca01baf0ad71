"""Blocking Great Expectations checks on raw partitions (placeholder until gx_runtime lands)."""


def build_raw_checks():
    return []
