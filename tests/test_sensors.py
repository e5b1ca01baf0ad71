"""The landing-zone sensor's cursor, the freshness checks and the run-failure webhook alert,
evaluated against a real Dagster instance and real landing files."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from datetime import date, timedelta

import dagster as dg
import pytest

from pipelines.ingest.sensors import landing_zone_sensor, plan_runs, run_failure_alert

SALES_HEADER = ("invoice_no,line_no,invoice_date,line_type,customer_code,sku,qty,unit_price,"
                "discount_rate,net_amount,payment_terms,branch_code,rep_code\n")


def put(landing, rel, text="x\n"):
    p = landing / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def requests_of(result) -> list[dg.RunRequest]:
    return [r for r in (result or []) if isinstance(r, dg.RunRequest)]


def _resources() -> dict:
    from pipelines.resources import build_resources

    return {"settings": build_resources()["settings"]}  # this test's DWH_HOME


def test_sensor_requests_new_and_changed_partitions_once(dwh_home):
    landing = dwh_home / "landing"
    for d in ("20240102", "20240103", "20240105"):
        put(landing, f"sales/2024/01/sales_{d}.csv", SALES_HEADER)
    put(landing, "master/2024/01/02/customers.csv")
    put(landing, "stock/2024/01/01/stock_C00001.csv")
    put(landing, "overrides/credit_rating_overrides.csv")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=_resources())
        first = requests_of(landing_zone_sensor(ctx))
        ranges = sorted((r.job_name, r.tags.get("dagster/asset_partition_range_start"),
                         r.tags.get("dagster/asset_partition_range_end")) for r in first)
        assert ranges == [("daily_pipeline", "2024-01-02", "2024-01-03"), ("daily_pipeline", "2024-01-05", "2024-01-05"),
                          ("reference_data", None, None), ("weekly_stock", "2024-01-01", "2024-01-01")]
        cursor = ctx.cursor
        # nothing changed: nothing requested
        ctx2 = dg.build_sensor_context(instance=instance, cursor=cursor, resources=_resources())
        assert requests_of(landing_zone_sensor(ctx2)) == []
        # one file rewritten, one new day: exactly those partitions
        time.sleep(0.01)
        put(landing, "sales/2024/01/sales_20240103.csv", SALES_HEADER + "I1,1,2024-01-03,SALE,C1,P1,1,1,0,1,COD,B,R\n")
        put(landing, "visits/2024/01/visits_20240104.jsonl", "{}\n")
        ctx3 = dg.build_sensor_context(instance=instance, cursor=ctx2.cursor, resources=_resources())
        third = requests_of(landing_zone_sensor(ctx3))
        assert [(r.job_name, r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                for r in third] == [("daily_pipeline", "2024-01-03", "2024-01-04")]


def test_open_partitions_wait_for_a_later_tick():
    today = date.today()
    current = {f"sales_lines|{today.isoformat()}": "a", f"sales_lines|{(today - timedelta(days=3)).isoformat()}": "b"}
    runs = plan_runs({}, current, last_day=today - timedelta(days=1))
    assert runs == [{"job_name": "daily_pipeline", "start": (today - timedelta(days=3)).isoformat(),
                     "end": (today - timedelta(days=3)).isoformat()}]


def test_freshness_checks_fail_for_stale_sources_and_pass_for_fresh(dwh_home):
    from pipelines.definitions import defs

    landing = dwh_home / "landing"
    yesterday = date.today() - timedelta(days=1)
    put(landing, f"sales/{yesterday:%Y}/{yesterday:%m}/sales_{yesterday:%Y%m%d}.csv", SALES_HEADER)
    put(landing, "visits/2020/01/visits_20200101.jsonl", "{}\n")
    with dg.instance_for_test() as instance:
        from pipelines.resources import build_resources

        # this test's DWH_HOME (the definitions were loaded once, for another test's)
        result = defs.resolve_job_def("freshness_checks").execute_in_process(
            instance=instance, resources={"settings": build_resources()["settings"]})
        assert result.success
        evals = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
        assert evals["raw/sales_lines"].passed
        assert not evals["raw/visits"].passed
        assert evals["raw/visits"].severity == dg.AssetCheckSeverity.WARN
        assert not evals["raw/receivables"].passed  # never delivered


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


def _failed_run_context(instance):
    @dg.op
    def boom():
        raise RuntimeError("landing file sales_20240102.csv is broken")

    @dg.job
    def failing_job():
        boom()

    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(sensor_name="run_failure_alert", dagster_event=failure,
                                             dagster_instance=instance, dagster_run=run).for_run_failure()


def test_failure_alert_posts_to_the_webhook(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("DWH_ALERT_WEBHOOK_URL", url)
    with dg.instance_for_test() as instance:
        run_failure_alert(_failed_run_context(instance))
    assert len(received) == 1
    assert received[0]["job"] == "failing_job"
    assert "failed" in received[0]["text"]


def test_failure_alert_is_off_without_webhook(webhook, monkeypatch):
    _, received = webhook
    monkeypatch.delenv("DWH_ALERT_WEBHOOK_URL", raising=False)
    with dg.instance_for_test() as instance:
        run_failure_alert(_failed_run_context(instance))
    assert received == []
