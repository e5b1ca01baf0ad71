"""Dagster asset ``marts/mart_customer_lifetime_value`` (rule R7) and its fits table.

Reads the sales fact in one DuckDB aggregation per customer-day (plus the customer list of the
customer dimension), fits BG/NBD and Gamma-Gamma by maximum likelihood for every month end (see
``pipelines.clv.compute`` for the design), and writes back, in one transaction:

* ``marts.mart_customer_lifetime_value`` — customer × as-of date, replaced on every run;
* ``marts.clv_model_fits`` — appended: one row per run, as-of date and model, with the fitted
  parameters, log-likelihood, customers, convergence flag, iterations and fit seconds.

Horizon and discount rate come from ``rules.yml`` (``r7_clv``).
"""

import time

import dagster as dg
import numpy as np
import pandas as pd

from pipelines.clv.compute import TIME_UNIT, AsOfResult, CustomerDays, compute_all
from pipelines.resources import SettingsResource, WarehouseResource
from pipelines.rules import rule

MART = "marts.mart_customer_lifetime_value"
FITS = "marts.clv_model_fits"

CUSTOMER_DAYS_SQL = """
select
    customer_code,
    datediff('day', date '1970-01-01', invoice_date)           as day,
    cast(sum(net_amount) as double)                            as net_amount,
    cast(coalesce(sum(margin_amount), 0) as double)            as margin_amount,
    count(*) filter (where margin_amount is null)              as uncosted_lines
from marts.fct_sales_lines
group by customer_code, invoice_date
order by customer_code, invoice_date
"""

CUSTOMERS_SQL = """
-- known from its first version (an inferred member, which spans all time, from when the facts first show it)
select customer_code,
       datediff('day', date '1970-01-01', min(case when is_inferred then first_seen_date else valid_from end)) as known_from
from marts.dim_customer
where not is_unknown_member
group by customer_code
"""

MART_DDL = """
create or replace table {mart} as
select
    cast(as_of_date as date)                                   as as_of_date,
    cast(customer_code as varchar)                             as customer_code,
    cast(first_purchase_date as date)                          as first_purchase_date,
    cast(last_purchase_date as date)                           as last_purchase_date,
    cast(purchase_days as integer)                             as purchase_days,
    cast(frequency as integer)                                 as frequency,
    recency_weeks, age_weeks,
    cast(round(historical_net_amount, {scale}) as decimal(18, {scale}))    as historical_net_amount,
    cast(round(historical_clv, {scale}) as decimal(18, {scale}))           as historical_clv,
    cast(uncosted_lines as integer)                            as uncosted_lines,
    mean_repeat_margin, p_alive, expected_purchases, expected_margin_per_purchase,
    cast(round(predictive_clv, {scale}) as decimal(18, {scale}))           as predictive_clv,
    cast(run_id as varchar)                                    as run_id
from clv_mart_frame
order by as_of_date, customer_code
"""

FITS_DDL = f"""
create table if not exists {FITS} (
    run_id varchar not null,
    as_of_date date not null,
    model varchar not null,
    params map(varchar, double),
    log_likelihood double,
    n_customers integer,
    converged boolean,
    at_bound boolean,
    iterations integer,
    fit_seconds double,
    message varchar,
    time_unit varchar,
    horizon_months integer,
    annual_discount_rate double,
    fitted_at timestamp
)
"""


def _fit_rows(run_id: str, results: list[AsOfResult], horizon: int, rate: float) -> pd.DataFrame:
    rows = []
    for res in results:
        for fit in (res.bgnbd, res.gamma_gamma):
            rows.append({"run_id": run_id, "as_of_date": np.datetime64(res.as_of_day, "D"), "model": fit.model,
                         "param_names": list(fit.params), "param_values": list(fit.params.values()),
                         "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers,
                         "converged": fit.converged, "at_bound": fit.at_bound, "iterations": fit.iterations, "fit_seconds": fit.fit_seconds,
                         "message": fit.message, "time_unit": TIME_UNIT, "horizon_months": horizon,
                         "annual_discount_rate": rate})
    return pd.DataFrame(rows)


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


@dg.asset(
    key=dg.AssetKey(["marts", "mart_customer_lifetime_value"]),
    group_name="marts",
    deps=[dg.AssetKey(["marts", "fct_sales_lines"]), dg.AssetKey(["marts", "dim_customer"])],
    kinds={"python", "duckdb"},
    metadata={"requires_sources": ["sales_lines"]},  # empty, and its checks skipped, without sales lines
    description=("Customer lifetime value (rule R7), customer × month end: historical CLV (cumulative gross "
                 "margin), P(alive), expected purchases and discounted predictive CLV over the rules' horizon "
                 "(BG/NBD × Gamma-Gamma, maximum likelihood per month end). Fits in marts.clv_model_fits."),
)
def mart_customer_lifetime_value(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                                 settings: SettingsResource) -> dg.MaterializeResult:
    horizon = int(rule("r7_clv.horizon_months"))
    rate = float(rule("r7_clv.annual_discount_rate"))
    started = time.perf_counter()
    with warehouse.connect() as con:
        days = con.execute(CUSTOMER_DAYS_SQL).fetchnumpy()
        customers = con.execute(CUSTOMERS_SQL).fetchnumpy()
        read_seconds = time.perf_counter() - started
        data = CustomerDays.from_arrays(days["customer_code"], days["day"], days["net_amount"], days["margin_amount"],
                                        days["uncosted_lines"], customers["customer_code"], customers["known_from"])
        results = compute_all(data, horizon_months=horizon, annual_discount_rate=rate)
        compute_seconds = time.perf_counter() - started - read_seconds

        mart = pd.concat([r.mart for r in results], ignore_index=True) if results else _empty_mart()
        mart["run_id"] = context.run_id
        fits = _fit_rows(context.run_id, results, horizon, rate)
        con.execute("begin transaction")
        try:
            con.execute("create schema if not exists marts")
            con.register("clv_mart_frame", mart)
            con.execute(MART_DDL.format(mart=MART, scale=settings.company.amount_scale))  # amounts at the company's precision
            con.unregister("clv_mart_frame")
            con.execute(FITS_DDL)
            if len(fits):
                con.register("clv_fits_frame", fits)
                con.execute(f"""
                    insert into {FITS} by name
                    select run_id, cast(as_of_date as date) as as_of_date, model,
                           map(param_names, param_values) as params, log_likelihood,
                           cast(n_customers as integer) as n_customers, converged, at_bound,
                           cast(iterations as integer) as iterations, fit_seconds, message, time_unit,
                           cast(horizon_months as integer) as horizon_months, annual_discount_rate,
                           current_timestamp::timestamp as fitted_at
                    from clv_fits_frame""")
                con.unregister("clv_fits_frame")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    metadata: dict[str, object] = {
        "dagster/row_count": len(mart),
        "as_of_dates": len(results),
        "horizon_months": horizon,
        "annual_discount_rate": rate,
        "time_unit": TIME_UNIT,
        "read_seconds": round(read_seconds, 3),
        "compute_seconds": round(compute_seconds, 3),
        "fit_seconds_total": round(float(sum(r.bgnbd.fit_seconds + r.gamma_gamma.fit_seconds for r in results)), 3),
        "fits_not_converged": int(sum((not r.bgnbd.converged) + (not r.gamma_gamma.converged) for r in results)),
    }
    if results:
        last = results[-1]
        metadata["latest_as_of_date"] = str(np.datetime64(last.as_of_day, "D"))
        for fit in (last.bgnbd, last.gamma_gamma):
            for name, value in fit.params.items():
                metadata[f"{fit.model}_{name}"] = _finite(value)
            metadata[f"{fit.model}_log_likelihood"] = _finite(fit.log_likelihood)
            metadata[f"{fit.model}_n_customers"] = fit.n_customers
            metadata[f"{fit.model}_converged"] = fit.converged
            metadata[f"{fit.model}_iterations"] = fit.iterations
        metadata["gamma_gamma_excluded_nonpositive_margin"] = last.gg_excluded_nonpositive
        latest = last.mart
        metadata["latest_predictive_clv_total"] = _finite(float(np.nansum(latest["predictive_clv"])))
        metadata["latest_historical_clv_total"] = _finite(float(latest["historical_clv"].sum()))
        metadata["fits"] = dg.MetadataValue.md(_fits_markdown(fits))
    for key, value in metadata.items():
        if value is None:
            metadata[key] = dg.MetadataValue.null()
    context.log.info(f"CLV: {len(mart)} rows over {len(results)} month ends in {compute_seconds:.1f}s")
    return dg.MaterializeResult(metadata=metadata)


def _empty_mart() -> pd.DataFrame:
    from pipelines.clv.compute import compute_as_of

    empty = CustomerDays.from_arrays([], [], [], [], [])
    return compute_as_of(empty, 0, horizon_months=1, annual_discount_rate=0.0).mart


def _fits_markdown(fits: pd.DataFrame) -> str:
    lines = ["| as of | model | parameters | log-lik | n | converged | iter | s |", "|---|---|---|---|---|---|---|---|"]
    for row in fits.itertuples():
        params = ", ".join(f"{k}={v:.4g}" for k, v in zip(row.param_names, row.param_values))
        lines.append(f"| {str(row.as_of_date)[:10]} | {row.model} | {params} | {row.log_likelihood:.2f} | "
                     f"{row.n_customers} | {row.converged} | {row.iterations} | {row.fit_seconds:.3f} |")
    return "\n".join(lines)
