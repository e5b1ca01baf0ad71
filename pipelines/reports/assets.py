"""Report assets, downstream of the serving database: they read only published data, so a
blocked run leaves the reports at the last validated state."""

import dagster as dg

from pipelines.reports.dashboard import build_dashboard
from pipelines.reports.workbooks import build_branch_workbooks
from pipelines.settings import paths

SERVING = dg.AssetKey(["serving", "database"])


@dg.asset(key=["reports", "dashboard"], group_name="reports", deps=[SERVING], kinds={"html"},
          description="Self-contained offline HTML dashboard built from the serving database.")
def dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    p = paths()
    out = build_dashboard(p.serving, p.reports / "dashboard.html")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)), "bytes": out.stat().st_size})


@dg.asset(key=["reports", "branch_workbooks"], group_name="reports", deps=[SERVING], kinds={"excel"},
          description="One XLSX workbook per branch built from the serving database.")
def branch_workbooks(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    p = paths()
    files = build_branch_workbooks(p.serving, p.reports / "branches")
    return dg.MaterializeResult(metadata={"workbooks": len(files), "folder": dg.MetadataValue.path(str(p.reports / "branches"))})
