"""Quarterly credit rating (rule R6): quarterly partitions, the ``credit_rating_quarterly`` job and
its schedule, the override gate and the XLSX rating workbook per quarter.

The rating itself is dbt: ``stg_credit__rating_overrides`` and ``int_credit_rating_quarters`` →
``int_credit_indicators`` (every indicator as of the quarter's last day) → ``int_credit_grades``
(the grade rule, macro ``credit_grade``, and the score) → ``marts.mart_credit_rating``. In Dagster
these models are one quarterly-partitioned ``@dbt_assets``, ``dbt_credit_models``
(pipelines/transform/assets.py, dbt selection ``CREDIT_SELECT``: the credit folders), whose dbt
tests are its asset checks; the unpartitioned ``dbt_models`` and the daily job leave them out, so
the job ``credit_rating_quarterly`` is the mart's one writer and Dagster records the mart's
materialization per quarter.

Where things are
----------------
* ``quarters.py`` — the quarterly partitions (keys are the quarters' first days) and the
  ``YYYYQn`` notation.
* ``assets.py`` — the override gate: the blocking check ``overrides_accepted`` on
  ``raw/credit_rating_overrides`` (a rejected override row of a quarter being rated fails the run
  before the rating, naming file, line, reason and row).
* ``jobs.py`` — the job (overrides → credit dbt models and their checks → serving database →
  rating workbook) and its schedule.
* ``report.py`` — the workbook of one quarter; the asset ``reports/credit_rating_workbook``
  (pipelines/reports/assets.py) writes it from the serving database.

Running it
----------
* Schedule ``credit_rating_quarterly_schedule``: 08:00 China time on day ``DWH_CREDIT_RATING_DAY``
  (default 5; an operating setting, not a business rule, hence not in rules.yml) of January,
  April, July and October, for the quarter just ended.
* UI: job ``credit_rating_quarterly`` → Materialize / Backfill, pick quarters (keys are the
  quarters' first days, e.g. ``2023-04-01`` = 2023Q2); a range runs as one run (single-run
  backfill policy).
* CLI: ``python -m pipelines credit-rating --quarters 2023Q2..2023Q4`` (one run on the instance in
  DWH_HOME), or with Dagster's own CLI:
  ``dagster job backfill -m pipelines.definitions -j credit_rating_quarterly --from 2023-04-01 --to 2023-10-01``
  (queues runs on the instance: the Dagster daemon, e.g. of ``dagster dev``, launches them).

Design choice: incremental by quarter
-------------------------------------
``mart_credit_rating`` is an incremental model: a run passes its partition window to dbt as the
vars ``min_date`` / ``max_date`` (first day of its first quarter, last day of its last; built in
one place, ``pipelines.transform.assets.dbt_args``, as for the daily facts), the model's pre-hook
deletes those quarters and the run appends them again (macros ``partition_filter`` /
``delete_partition_window``, plain SQL that PostgreSQL and Spark run too). ``int_credit_indicators``
computes the window's quarters and the one before (``credit_rating_window``), which the mart needs
for the change against the previous quarter. Without the vars (a plain ``dbt build``) every quarter
is computed. Each quarter reads only data dated on or before its last day, so re-rating or
backfilling an old quarter gives the rows computed then (the point-in-time test checks it), and a
run writes exactly the quarters its gate checked and its workbook reports.
"""
