"""Dagster side of the quarterly credit rating: one quarterly-partitioned asset,
``credit/credit_rating``, the only asset of the job ``credit_rating_quarterly``.

For the quarter(s) of its run (one quarter, or a range in one run for a backfill) it

1. refuses to rate a quarter when an override row of the maintained file was rejected at ingest
   (``raw.quarantine`` with source ``credit_overrides``: unknown customer, invalid grade, missing
   approver, bad quarter, …) for that quarter, or for no readable quarter: the run fails naming
   file, line, reason and row, so an override is never silently dropped;
2. builds the rating with dbt — ``stg_credit__rating_overrides``, the ``int_credit_*`` views and
   ``marts.mart_credit_rating`` with their data tests (the grade rule's dbt unit tests run in CI) — and checks
   each quarter of the run is rated (the sales data has reached its last day);
3. writes each quarter's workbook (``pipelines.credit.report``) from the warehouse.

dbt runs from inside this asset (not as the dbt assets of ``dbt_models``) because those dbt
assets are downstream of the daily raw assets: a quarterly asset downstream of them would be
pulled into the daily job, whose assets must share the daily partitions. For the same reason the
asset declares no upstream asset (even the overrides raw table is downstream of the master data);
its inputs are named in its description. The mart computes every quarter
on each build; each quarter reads only data dated on or before its last day, so the rebuild never
changes a past quarter (see the mart's documentation).
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.credit.quarters import label, parse, quarterly_partitions
from pipelines.credit.report import build_rating_report
from pipelines.resources import WarehouseResource
from pipelines.rules import dbt_vars
from pipelines.settings import paths

MART_KEY = dg.AssetKey(["marts", "mart_credit_rating"])
RATING_KEY = dg.AssetKey(["credit", "credit_rating"])
# dbt nodes the rating builds (with their data tests), in one `dbt build`.
DBT_SELECTION = ["stg_credit__rating_overrides", "int_credit_rating_quarters", "int_credit_indicators",
                 "int_credit_grades", "mart_credit_rating"]
OVERRIDES_SOURCE = "credit_overrides"

# Rejected override rows: the quarter as written in the raw row (null when unreadable).
REJECTED_SQL = f"""
select _source_file, _source_line, reason_code, message, raw_row,
       regexp_extract(upper(coalesce(raw_row, '')), '([0-9]{{4}}Q[1-4])', 1) as quarter_text
from raw.quarantine
where source = '{OVERRIDES_SOURCE}'
order by _source_file, _source_line
"""


def rejected_overrides(con, quarter: str) -> list[dict]:
    """Override rows rejected at ingest that concern ``quarter`` (YYYYQn) or no readable quarter."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'raw' "
                         "and table_name = 'quarantine'").fetchone()[0]
    if not exists:
        return []
    rows = con.execute(REJECTED_SQL).fetchall()
    out = []
    for file, line, reason, message, raw_row, q in rows:
        if q in (quarter, "", None):
            out.append({"file": file, "line": line, "reason": reason, "message": message, "row": raw_row,
                        "quarter": q or None})
    return out


def format_rejections(quarter: str, rejected: list[dict]) -> str:
    lines = [f"{quarter}: {len(rejected)} credit-rating override row(s) rejected; fix the overrides file "
             f"and reload it (job reference_data) before rating the quarter:"]
    for r in rejected:
        lines.append(f"  {r['file']} line {r['line']}: {r['reason']} ({r['message']}) row={r['row']}")
    return "\n".join(lines)


def _quarters_of(context: dg.AssetExecutionContext) -> list[str]:
    return [label(parse(k)) for k in context.partition_keys]


def build_rating_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> None:
    """``dbt build`` of the rating's models with the rules as vars (fails the step on any error)."""
    from pipelines.transform.assets import BUILD, _prepare_dbt_env, reuse_parse, translator
    from pipelines.transform.project import dbt_project

    _prepare_dbt_env()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    invocation = dbt.cli([*BUILD, "--select", " ".join(DBT_SELECTION), "--vars", dbt_vars()],
                         manifest=manifest, dagster_dbt_translator=translator)
    for event in invocation.stream_raw_events():
        info = event.raw_event.get("info", {})
        if info.get("level") in ("warn", "error"):
            context.log.warning(info.get("msg", ""))
    invocation.wait()
    reuse_parse(invocation)


@dg.asset(
    key=RATING_KEY,
    group_name="credit",
    partitions_def=quarterly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"dbt", "excel", "duckdb"},
    description=("Quarterly credit rating (R6) of each quarter of the run, from the warehouse marts (dim_customer, fct_sales_lines, fct_receivables, fct_receivable_payments, fct_stock_weekly, dim_product) and raw.credit_rating_overrides: fails naming every rejected override "
                 "row of the quarter (raw.quarantine, source credit_overrides); builds marts.mart_credit_rating "
                 "(dbt, with its data tests); writes "
                 "reports/credit_rating/credit_rating_<YYYYQn>.xlsx, one sheet per branch, sorted for review."),
)
def credit_rating(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  dbt: DbtCliResource) -> dg.MaterializeResult:
    quarters = _quarters_of(context)
    out_dir = paths().reports / "credit_rating"
    written: dict[str, dict] = {}
    with warehouse.connect() as con:
        problems = {q: rejected_overrides(con, q) for q in quarters}
    problems = {q: r for q, r in problems.items() if r}
    if problems:
        text = "\n".join(format_rejections(q, r) for q, r in problems.items())
        raise dg.Failure(description=text, metadata={"rejected_overrides": dg.MetadataValue.json(problems)})
    build_rating_models(context, dbt)  # the warehouse connection is closed: dbt opens the file itself
    with warehouse.connect() as con:
        rated = dict(con.execute(
            "select rating_quarter, count(*) from marts.mart_credit_rating group by 1").fetchall())
        missing = [q for q in quarters if q not in rated]
        if missing:
            raise dg.Failure(description=f"quarters not rated (the sales data does not reach their last day "
                                         f"yet, or no customer is in force): {', '.join(missing)}")
        for q in quarters:
            grades = dict(con.execute(
                "select coalesce(cast(final_grade as varchar), rating_status), count(*) from marts.mart_credit_rating "
                "where rating_quarter = ? group by 1 order by 1", [q]).fetchall())
            path, per_branch = build_rating_report(con, q, out_dir)
            written[q] = {"path": str(path), "customers": rated[q], "grades": grades, "branches": per_branch}
            context.log.info(f"{q}: {rated[q]} customers, grades {grades}, report {path}")
    return dg.MaterializeResult(metadata={
        "quarters": ", ".join(quarters),
        "ratings": dg.MetadataValue.json(written),
        "folder": dg.MetadataValue.path(str(out_dir)),
    })
