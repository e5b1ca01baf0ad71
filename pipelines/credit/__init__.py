"""Quarterly credit rating (rule R6): quarterly partitions, the ``credit_rating_quarterly`` job and
its schedule, the override gate and the XLSX rating report per quarter.

The rating itself is dbt: ``int_credit_rating_quarters`` → ``int_credit_indicators`` (every
indicator as of the quarter's last day) → ``int_credit_grades`` (the grade rule, macro
``credit_grade``, and the score) → ``marts.mart_credit_rating``. This package runs it per quarter
through Dagster (``assets.credit_rating``) and writes the review workbook (``report``).

Running it
----------
* Schedule ``credit_rating_quarterly_schedule``: 08:00 China time on day ``DWH_CREDIT_RATING_DAY``
  (default 5; an operating setting, not a business rule, hence not in rules.yml) of January,
  April, July and October, for the quarter just ended.
* UI: job ``credit_rating_quarterly`` → Materialize / Backfill, pick quarters (keys are the
  quarters' first days, e.g. ``2023-04-01`` = 2023Q2); a range runs as one run (single-run
  backfill policy).
* CLI: ``python -m pipelines.credit.cli --quarters 2023Q2..2023Q4`` (one run on the instance in
  DWH_HOME; ``python -m pipelines credit-rating --quarters ...`` once pipelines/cli.py dispatches
  to ``pipelines.credit.cli.dispatch``), or with Dagster's own CLI:
  ``dagster job backfill -m pipelines.definitions -j credit_rating_quarterly --from 2023-04-01 --to 2023-10-01``
  (queues runs on the instance: the Dagster daemon, e.g. of ``dagster dev``, launches them).

Design choice: all quarters on every build
------------------------------------------
``mart_credit_rating`` is a table that recomputes every quarter on each build instead of an
incremental model that replaces one quarter's rows per partition run. Each quarter reads only
data dated on or before its last day, so recomputing a past quarter gives the same rows (the
point-in-time test checks it); the previous-quarter change needs the previous quarter anyway;
and the whole computation is one aggregation per input over a handful of quarter-end dates
(seconds at the default scale). The partition of a run decides which quarters are gated for
rejected overrides, checked as rated and reported.
"""
