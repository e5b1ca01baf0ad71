"""dbt docs as a static site beside the reports, rebuilt after every publish: ``dbt docs generate
--static`` with the catalog read from the warehouse gives one self-contained HTML file (models and
columns with their descriptions and tests, lineage, the exposures with their owners, and the CLV
mart as the dbt source ``python_marts``), written to ``<home>/reports/dbt_docs/index.html`` in one
``os.replace``. Offline like the dashboard: the page embeds its scripts and data; dbt's usage
tracking, the one thing it would load (a CloudFront script), is off
(``send_anonymous_usage_stats: false``) and its address is removed from the page all the same."""

import os
import re
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.resources import SettingsResource
from pipelines.rules import dbt_vars
from pipelines.transform.assets import prepare_dbt_env

SERVING = dg.AssetKey(["serving", "database"])
# an address a browser would load: an attribute or a CSS url(), or a script's src set in code.
# AngularJS sets an anchor's href to http://[::1] to test IPv6 parsing: never fetched.
LOADED = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)(?:https?:)?//(?!\[::1\])[^\s"'<>)]*""",
                    re.IGNORECASE)
TRACKER = re.compile(r"""(["'])(?:https?:)?//[\w.-]+\.cloudfront\.net/[\d.]+/sp\.js\1""")  # snowplow's loader


def network_references(html: str) -> list[str]:
    """What the page would load from the network."""
    return [m.group(0) for m in LOADED.finditer(html)]


@dg.asset(key=["reports", "dbt_docs"], group_name="reports", deps=[SERVING], kinds={"dbt", "html"},
          description="dbt docs of the warehouse as one offline HTML file (models, columns, tests, lineage, "
                      "exposures and owners, the CLV mart), rebuilt after every publish.")
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource) -> dg.MaterializeResult:
    prepare_dbt_env(settings)
    invocation = dbt.cli(["docs", "generate", "--static", "--vars", dbt_vars({}, config_dir=settings.folder)])
    invocation.wait()
    html = TRACKER.sub('"data:,"', (Path(invocation.target_path) / "static_index.html").read_text(encoding="utf-8"))
    out = settings.paths.reports / "dbt_docs" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".index.html.{os.getpid()}")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    loads = network_references(html)
    if loads:
        context.log.warning(f"dbt docs name {len(loads)} network address(es) a browser would load: {loads[:5]}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)), "bytes": len(html.encode()),
                                          "network_references": len(loads)})
