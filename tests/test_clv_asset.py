"""The CLV asset end to end on a small synthetic warehouse: reads marts.fct_sales_lines and
marts.dim_customer, writes marts.mart_customer_lifetime_value and marts.clv_model_fits."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.clv.assets import mart_customer_lifetime_value
from pipelines.resources import WarehouseResource, build_resources
from pipelines.rules import rule

START = np.datetime64("2024-01-01", "D")
DAYS = 240                        # 2024-01-01 .. 2024-08-27: as-of month ends January .. July


def _synthetic_lines(rng: np.random.Generator, customers: int = 150):
    """BG/NBD-like buyers simulated day by day, vectorised over customers: each customer starts
    in the first 60 days, buys on a day with its own probability and drops out after a purchase
    with its own probability; 1-3 lines per purchase around its own mean spend, margin 10-30 %.
    Plus a returns-only customer, an uncosted line and a loss-making repeat buyer."""
    start = rng.integers(0, 60, customers)
    buy_p = rng.beta(2, 12, customers)
    drop_p = rng.beta(1, 15, customers)
    mean_spend = rng.gamma(3, 150, customers)
    alive = np.ones(customers, dtype=bool)
    purchases = []
    for d in range(DAYS):
        buys = alive & (d >= start) & ((rng.random(customers) < buy_p) | (d == start))
        purchases += [(d, i) for i in np.flatnonzero(buys)]
        alive &= ~(buys & (d > start) & (rng.random(customers) < drop_p))
    day, cust = np.array(purchases).T
    lines = rng.integers(1, 4, len(day))
    day, cust = np.repeat(day, lines), np.repeat(cust, lines)
    line_no = np.concatenate([np.arange(1, k + 1) for k in lines])
    net = np.round(rng.gamma(4, mean_spend[cust] / 4), 2)
    margin = np.round(net * rng.uniform(0.1, 0.3, len(net)), 2)
    rows = [(f"INV{d}-{c}", int(n), str(START + int(d)), "SALE", f"C{c:03d}", float(a), float(m))
            for d, c, n, a, m in zip(day, cust, line_no, net, margin)]
    rows.append(("RET1", 1, "2024-03-05", "RETURN", "RETONLY", -120.0, -30.0))
    rows.append(("UNC1", 1, "2024-02-10", "SALE", "C000", 55.0, None))
    for k, when in enumerate(["2024-02-01", "2024-03-01", "2024-04-01"]):
        rows.append((f"LOSS{k}", 1, when, "SALE", "LOSSY", 100.0, -5.0))
    return rows


@pytest.fixture
def warehouse(dwh_home):
    path = dwh_home / "warehouse" / "test.duckdb"
    path.parent.mkdir(parents=True)
    rows = _synthetic_lines(np.random.default_rng(2024))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.fct_sales_lines (
            invoice_no varchar, line_no integer, invoice_date date, line_type varchar, customer_code varchar,
            net_amount decimal(18, 2), margin_amount decimal(18, 2))""")
        lines = pd.DataFrame(rows, columns=["invoice_no", "line_no", "invoice_date", "line_type", "customer_code",
                                            "net_amount", "margin_amount"])
        con.execute("insert into marts.fct_sales_lines select * from lines")
        con.execute("""create table marts.dim_customer as
            select * from (values ('-1', 'UNKNOWN', date '1900-01-01', true, false, null),
                                  ('k1', 'NOSALES', date '2024-01-01', false, false, null),
                                  ('k2', 'NOSALES', date '2024-05-01', false, false, null),
                                  ('k3', 'C000', date '2023-12-15', false, false, null),
                                  ('k4', 'FUTURE', date '2024-07-15', false, false, null),
                                  ('k5', 'INFERRED', date '1900-01-01', false, true, date '2024-06-10'))
                t(customer_key, customer_code, valid_from, is_unknown_member, is_inferred, first_seen_date)""")
    return path


def test_asset_materializes_mart_and_fits(warehouse):
    resources = {"warehouse": WarehouseResource(path=str(warehouse), memory_limit="1GB", threads=1),
                 "settings": build_resources()["settings"]}
    result = dg.materialize([mart_customer_lifetime_value], resources=resources)
    assert result.success
    second = dg.materialize([mart_customer_lifetime_value], resources=resources)
    assert second.success

    md = result.asset_materializations_for_node("marts__mart_customer_lifetime_value")[0].metadata
    assert md["latest_as_of_date"].value == "2024-07-31"
    assert md["bgnbd_converged"].value and md["gamma_gamma_converged"].value
    assert md["horizon_months"].value == rule("r7_clv.horizon_months")
    assert {"bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "gamma_gamma_p", "gamma_gamma_q", "gamma_gamma_gamma",
            "bgnbd_log_likelihood", "fits"} <= set(md)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        as_of = [str(r[0]) for r in con.execute(
            "select distinct as_of_date from marts.mart_customer_lifetime_value order by 1").fetchall()]
        assert as_of == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31"]
        # one row per customer and month end; one run's rows only (the table is replaced)
        assert con.execute("""select count(*) = count(distinct (as_of_date, customer_code)), count(distinct run_id)
                              from marts.mart_customer_lifetime_value""").fetchone() == (True, 1)
        bad = con.execute("""select count(*) from marts.mart_customer_lifetime_value
                             where predictive_clv < 0 or p_alive not between 0 and 1
                                or expected_purchases < 0 or expected_margin_per_purchase < 0""").fetchone()[0]
        assert bad == 0
        assert con.execute("select count(*) from marts.mart_customer_lifetime_value where as_of_date = '2024-07-31' "
                           "and predictive_clv is null").fetchone()[0] == 0

        def row(code, as_of="2024-07-31"):
            cur = con.execute("select * from marts.mart_customer_lifetime_value where customer_code = ? and as_of_date = ?",
                              [code, as_of])
            values = cur.fetchone()
            return None if values is None else dict(zip([d[0] for d in cur.description], values))

        nosales = row("NOSALES")
        assert nosales["historical_clv"] == 0 and nosales["predictive_clv"] == 0 and nosales["p_alive"] is None
        assert row("NOSALES", "2024-01-31") is not None and row("FUTURE", "2024-06-30") is None
        assert row("FUTURE")["purchase_days"] == 0
        # an inferred member (valid since 1900) exists from when the facts first show it
        assert row("INFERRED", "2024-05-31") is None and row("INFERRED", "2024-06-30") is not None
        assert row("RETONLY", "2024-02-29") is None and float(row("RETONLY")["historical_clv"]) == -30.0
        assert row("RETONLY")["predictive_clv"] == 0 and row("RETONLY")["p_alive"] is None
        lossy = row("LOSSY")
        assert float(lossy["historical_clv"]) == -15.0 and lossy["expected_margin_per_purchase"] == 0
        assert lossy["predictive_clv"] == 0 and lossy["frequency"] == 2
        assert row("C000")["uncosted_lines"] == 1

        # historical CLV = the fact's cumulative margin
        mart_total, fact_total = con.execute("""
            select (select sum(historical_clv) from marts.mart_customer_lifetime_value where as_of_date = '2024-07-31'),
                   (select sum(margin_amount) from marts.fct_sales_lines where invoice_date <= '2024-07-31')""").fetchone()
        assert mart_total == fact_total

        fits = con.execute("""select run_id, as_of_date, model, params, log_likelihood, n_customers, converged,
                                     iterations, fit_seconds, horizon_months, annual_discount_rate
                              from marts.clv_model_fits order by run_id, as_of_date, model""").fetchall()
        assert len(fits) == 2 * 2 * len(as_of)                   # runs × models × month ends, appended
        assert {f[0] for f in fits} == {result.run_id, second.run_id}
        last = [f for f in fits if f[0] == result.run_id and str(f[1]) == "2024-07-31"]
        assert [f[2] for f in last] == ["bgnbd", "gamma_gamma"]
        assert set(last[0][3]) == {"r", "alpha", "a", "b"} and set(last[1][3]) == {"p", "q", "gamma"}
        assert all(f[6] and f[4] < 0 and f[5] > 0 and f[7] > 0 and f[8] >= 0 for f in last)
        assert last[0][9] == rule("r7_clv.horizon_months") and last[0][10] == rule("r7_clv.annual_discount_rate")


def test_asset_is_in_definitions():
    from pipelines.definitions import defs

    spec = {s.key: s for s in defs.resolve_all_asset_specs()}[dg.AssetKey(["marts", "mart_customer_lifetime_value"])]
    assert spec.group_name == "marts"
    assert {dg.AssetKey(["marts", "fct_sales_lines"]), dg.AssetKey(["marts", "dim_customer"])} <= {d.asset_key for d in spec.deps}


def test_asset_on_an_empty_fact(dwh_home):
    """No sales yet: no month end to compute; the run succeeds and leaves both tables empty."""
    path = dwh_home / "warehouse" / "empty.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.fct_sales_lines (customer_code varchar, invoice_date date,
                       net_amount decimal(18, 2), margin_amount decimal(18, 2))""")
        con.execute("""create table marts.dim_customer as select 'C1' as customer_code,
                       date '2024-01-01' as valid_from, false as is_unknown_member, false as is_inferred,
                       cast(null as date) as first_seen_date""")
    result = dg.materialize([mart_customer_lifetime_value], resources={"warehouse": WarehouseResource(path=str(path)),
                                                                      "settings": build_resources()["settings"]})
    assert result.success
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from marts.mart_customer_lifetime_value").fetchone()[0] == 0
        assert con.execute("select count(*) from marts.clv_model_fits").fetchone()[0] == 0
        types = dict(con.execute("""select column_name, data_type from information_schema.columns
                                    where table_name = 'mart_customer_lifetime_value'""").fetchall())
    assert types["as_of_date"] == "DATE" and types["predictive_clv"] == "DECIMAL(18,2)" and types["p_alive"] == "DOUBLE"
