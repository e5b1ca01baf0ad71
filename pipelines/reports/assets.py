"""Report assets, downstream of the serving database: they read only published data, so a
blocked run leaves the reports at the last validated state.

* ``reports/dashboard`` and ``reports/branch_workbooks`` — unpartitioned, rebuilt after every
  publish (the daily job, and the quarterly credit rating so they show the quarter just rated).
* ``reports/credit_rating_workbook`` — partitioned by quarter (``pipelines.credit.quarters``):
  the review workbook of each quarter of the run,
  ``reports/credit_rating/credit_rating_<YYYYQn>.xlsx`` (``pipelines.credit.report``), built in the
  job ``credit_rating_quarterly`` from the serving database that the same run has just published.
  It is downstream of ``marts/mart_credit_rating`` as well, so the mart's blocking checks (its dbt
  tests, and a Great Expectations suite if one remains) keep it from running: a quarter that
  failed them keeps its last workbook.
"""

import dagster as dg
import duckdb

from pipelines.credit.quarters import label, parse, quarterly_partitions
from pipelines.credit.report import SERVING_RELATION, build_rating_report
from pipelines.reports.dashboard import build_dashboard
from pipelines.reports.workbooks import build_branch_workbooks
from pipelines.resources import SettingsResource

SERVING = dg.AssetKey(["serving", "database"])
CREDIT_MART = dg.AssetKey(["marts", "mart_credit_rating"])
CREDIT_RATING_WORKBOOK = dg.AssetKey(["reports", "credit_rating_workbook"])


@dg.asset(key=["reports", "dashboard"], group_name="reports", deps=[SERVING], kinds={"html"},
          description="Self-contained offline HTML dashboard built from the serving database.")
def dashboard(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
    p = settings.paths
    out = build_dashboard(p.serving, p.reports / "dashboard.html")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)), "bytes": out.stat().st_size})


@dg.asset(key=["reports", "branch_workbooks"], group_name="reports", deps=[SERVING], kinds={"excel"},
          description="One XLSX workbook per branch built from the serving database.")
def branch_workbooks(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
    p = settings.paths
    files = build_branch_workbooks(p.serving, p.reports / "branches")
    return dg.MaterializeResult(metadata={"workbooks": len(files), "folder": dg.MetadataValue.path(str(p.reports / "branches"))})


@dg.asset(
    key=CREDIT_RATING_WORKBOOK,
    group_name="reports",
    deps=[SERVING, CREDIT_MART],
    partitions_def=quarterly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"excel"},
    description="Credit-rating review workbook of each quarter of the run (R6), from mart_credit_rating in the "
                "serving database: reports/credit_rating/credit_rating_<YYYYQn>.xlsx, one sheet per branch, sorted "
                "for review. Fails when a quarter of the run is not in the serving database (not rated: the sales "
                "data does not reach its last day yet, or no customer is in force).",
)
def credit_rating_workbook(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
    quarters = [label(parse(k)) for k in context.partition_keys]
    p = settings.paths
    out_dir = p.reports / "credit_rating"
    written: dict[str, dict] = {}
    con = duckdb.connect(str(p.serving), read_only=True)
    try:
        published = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if SERVING_RELATION not in published:
            raise dg.Failure(description=f"the serving database {p.serving} holds no {SERVING_RELATION}: "
                                         "nothing has been rated and published yet")
        marks = ", ".join("?" for _ in quarters)
        rated = dict(con.execute(f"SELECT rating_quarter, count(*) FROM {SERVING_RELATION} "
                                 f"WHERE rating_quarter IN ({marks}) GROUP BY 1", quarters).fetchall())
        not_rated = [q for q in quarters if q not in rated]
        if not_rated:
            raise dg.Failure(description=f"quarters not rated (the sales data does not reach their last day "
                                         f"yet, or no customer is in force): {', '.join(not_rated)}")
        for q in quarters:
            grades = dict(con.execute(
                f"SELECT coalesce(cast(final_grade AS VARCHAR), rating_status), count(*) FROM {SERVING_RELATION} "
                "WHERE rating_quarter = ? GROUP BY 1 ORDER BY 1", [q]).fetchall())
            path, per_branch = build_rating_report(con, q, out_dir)
            written[q] = {"path": str(path), "customers": rated[q], "grades": grades, "branches": per_branch}
            context.log.info(f"{q}: {rated[q]} customers, grades {grades}, report {path}")
        publish_id = con.execute("SELECT max(publish_id) FROM _publish").fetchone()[0] if "_publish" in published else None
    finally:
        con.close()
    return dg.MaterializeResult(metadata={
        "quarters": ", ".join(quarters),
        "ratings": dg.MetadataValue.json(written),
        "folder": dg.MetadataValue.path(str(out_dir)),
        "serving_publish_id": publish_id or "",
    })
