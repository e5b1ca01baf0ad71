"""The one Dagster Definitions loads and validates, with asset groups named by stage."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, subprocess_env


def test_dagster_definitions_validate(tmp_path):
    env = subprocess_env(tmp_path / "var")
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_asset_groups_are_stages():
    from pipelines.definitions import defs

    groups = {spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert {"ingest", "staging", "marts", "publish"} <= groups, groups
    keys = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert {"raw/sales_lines", "raw/master_customers", "serving/database"} <= keys, keys
