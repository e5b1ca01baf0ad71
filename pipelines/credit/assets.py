"""The override gate of the quarterly credit rating: a blocking asset check on the overrides raw
asset ``raw/credit_rating_overrides`` (the asset itself is defined by ``pipelines/ingest``).

The sales director's overrides file is loaded like any source: a row that breaks a row rule
(unknown customer, invalid grade, missing approver, bad quarter, …) goes to ``raw.quarantine``
(source ``credit_overrides``) and the good rows load. A rejected override must never be silently
dropped from a rating, so the check ``overrides_accepted`` fails when a rejected row concerns a
quarter being rated:

* in a run of ``credit_rating_quarterly`` (its partition key or range names the quarters): the
  rejected rows of those quarters, and those whose quarter cannot be read, fail the check at
  severity ERROR. The check is blocking, and the credit models (``dbt_credit_models``, whose
  ``stg_credit__rating_overrides`` reads the overrides asset) are downstream of it, so the run
  rates nothing, publishes nothing and writes no workbook; the check's description, metadata
  and the run's log name file, line, reason and row of every rejected row;
* in any other run (``reference_data``, a materialization from the UI: no quarter): every rejected
  row is reported at severity WARN (recorded and shown, blocking nothing), so a bad override is
  visible as soon as the file is loaded while the daily work goes on.

``rejected_overrides`` / ``format_rejections`` are the same rules for other callers (the bad-input
tests).
"""

import dagster as dg

from pipelines.credit.quarters import label, parse, quarterly_partitions
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
from pipelines.resources import WarehouseResource

OVERRIDES_KEY = dg.AssetKey(["raw", "credit_rating_overrides"])
OVERRIDES_SOURCE = "credit_overrides"
GATE_CHECK = "overrides_accepted"
PARTITION_TAG = "dagster/partition"

# Rejected override rows: the quarter as written in the raw row (null when unreadable).
REJECTED_SQL = f"""
select _source_file, _source_line, reason_code, message, raw_row,
       regexp_extract(upper(coalesce(raw_row, '')), '([0-9]{{4}}Q[1-4])', 1) as quarter_text
from raw.quarantine
where source = '{OVERRIDES_SOURCE}'
order by _source_file, _source_line
"""


def _rejected_rows(con) -> list[dict]:
    """Every override row rejected at ingest, with the quarter it names (None when unreadable)."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'raw' "
                         "and table_name = 'quarantine'").fetchone()[0]
    if not exists:
        return []
    return [{"file": file, "line": line, "reason": reason, "message": message, "row": raw_row, "quarter": q or None}
            for file, line, reason, message, raw_row, q in con.execute(REJECTED_SQL).fetchall()]


def rejected_overrides(con, quarter: str) -> list[dict]:
    """Override rows rejected at ingest that concern ``quarter`` (YYYYQn) or no readable quarter."""
    return [r for r in _rejected_rows(con) if r["quarter"] in (quarter, None)]


def format_rejections(quarter: str, rejected: list[dict]) -> str:
    lines = [f"{quarter}: {len(rejected)} credit-rating override row(s) rejected; fix the overrides file "
             f"and reload it (job reference_data) before rating the quarter:"]
    for r in rejected:
        lines.append(f"  {r['file']} line {r['line']}: {r['reason']} ({r['message']}) row={r['row']}")
    return "\n".join(lines)


def run_quarters(tags: dict[str, str]) -> list[str] | None:
    """The quarters (``YYYYQn``) a run rates, from its partition tags (a run of the quarterly job:
    one partition, or a range in one run); None when the run is not partitioned by quarter."""
    keys = quarterly_partitions.get_partition_keys()
    if tags.get(RANGE_START_TAG) in keys and tags.get(RANGE_END_TAG) in keys:
        chosen = keys[keys.index(tags[RANGE_START_TAG]): keys.index(tags[RANGE_END_TAG]) + 1]
    elif tags.get(PARTITION_TAG) in keys:
        chosen = [tags[PARTITION_TAG]]
    else:
        return None
    return [label(parse(k)) for k in chosen]


@dg.asset_check(
    asset=OVERRIDES_KEY,
    name=GATE_CHECK,
    blocking=True,
    description="No override row of the quarters being rated was rejected at ingest (raw.quarantine, source "
                "credit_overrides): in a run of credit_rating_quarterly a rejected row of its quarters (or without "
                "a readable quarter) fails at ERROR and blocks the rating; elsewhere every rejected row is a "
                "warning. Names file, line, reason and row of each.",
)
def overrides_accepted(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    quarters = run_quarters(context.run.tags)
    with warehouse.connect() as con:
        rows = _rejected_rows(con)
    if quarters is None:  # not a rating run: report every rejected row, block nothing
        problems: dict[str, list[dict]] = {}
        for r in rows:
            problems.setdefault(r["quarter"] or "no readable quarter", []).append(r)
        severity, scope = dg.AssetCheckSeverity.WARN, "every quarter (not a rating run)"
    else:
        problems = {q: [r for r in rows if r["quarter"] in (q, None)] for q in quarters}
        problems = {q: rejected for q, rejected in problems.items() if rejected}
        severity, scope = dg.AssetCheckSeverity.ERROR, ", ".join(quarters)
    meta = {"quarters": scope, "rejected_rows": sum(len(r) for r in problems.values())}
    if not problems:
        return dg.AssetCheckResult(passed=True, metadata=meta)
    text = "\n".join(format_rejections(q, rejected) for q, rejected in problems.items())
    (context.log.error if severity == dg.AssetCheckSeverity.ERROR else context.log.warning)(text)
    return dg.AssetCheckResult(passed=False, severity=severity, description=text,
                               metadata={**meta, "rejected_overrides": dg.MetadataValue.json(problems)})
