"""Great Expectations runtime: suite files validated on the warehouse's open DuckDB connection
through GX 1.x's public API. Suites are ``expectations/<suite>.json`` in GX's ExpectationSuite
form (``SuiteFileError`` names a refused file); GX's severity: a failed ``critical`` (default)
blocks, ``warning`` reports. SQL expectations are ``unexpected_rows_expectation`` over ``{batch}``
(a query or a list of lines; other ``{name}``s filled as SQL literals; skipped when reading a
table of ``skip_tables``). Samples: ``SUMMARY`` (10 values), and a failed SQL expectation's first
rows from ``COMPLETE``. GX is imported lazily (4-7 s), one ephemeral in-memory context per process.

The one DuckDB patch (GX #11579): duckdb_engine opens a transaction whenever SQLAlchemy autobegins
and the pool rolls it back under GX, which then fails every expectation (``IndexError`` in
``resolve_metric_bundle``; one raising query aborts the rest). GX gets cursors of the caller's
connection without transactions (``_autocommit_wrapper``, via SQLAlchemy's public ``creator``);
``tests/test_gx_runtime.py`` shows plain connections still fail.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import functools
import html
import itertools
import json
import math
import os
import re
import string
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: the repository's ``expectations/`` folder
DEFAULT_SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
SAMPLE_LIMIT = 10
SQL_TYPE = "unexpected_rows_expectation"
SQL_QUERY = "unexpected_rows_query"
CRITICAL = "critical"  # GX's FailureSeverity that blocks; "warning" only reports
_SITE_NAME = "pipelines_data_docs"

_lock = threading.RLock()
_counter = itertools.count(1)


class SuiteFileError(ValueError):
    """A suite file is missing, is not JSON, or GX refuses one of its expectations."""


@functools.cache
def gx_module() -> Any:
    """``great_expectations``, imported once per process (analytics off)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


@functools.cache
def _context() -> Any:
    """The process's ephemeral GX context (in-memory stores, no progress bars); callers hold ``_lock``."""
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                               analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    return gx_module().get_context(project_config=config, mode="ephemeral")


def _expectation_dicts(suite_name: str, suites_dir: Any = None,
                       extra: list[Mapping[str, Any]] | None = None) -> tuple[Path, dict, list[dict]]:
    """The suite file's JSON, and its expectations (then ``extra``) as GX configuration dicts."""
    path = Path(suites_dir or DEFAULT_SUITES_DIR) / f"{suite_name}.json"
    if not path.is_file():
        raise SuiteFileError(f"{path}: suite file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SuiteFileError(f"{path}: not valid JSON: {e}") from e
    if not isinstance(data, dict) or data.get("name") != suite_name:
        raise SuiteFileError(f"{path}: a JSON object whose 'name' is {suite_name!r} (the file name)")
    exps = [dict(e) for e in [*(data.get("expectations") or []), *(extra or [])]]
    for exp in exps:  # a query written as lines
        if isinstance(query := (exp.get("kwargs") or {}).get(SQL_QUERY), list):
            exp["kwargs"] = {**exp["kwargs"], SQL_QUERY: "\n".join(query)}
    return path, data, exps


def _build(path: Path, data: dict, exps: list[dict], sql_values: Mapping[str, str] | None = None) -> Any:
    """The GX ExpectationSuite of ``exps``, each built on its own with GX's classes (an
    ExpectationSuite built from dicts only logs and drops an invalid one)."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    built = []
    for i, exp in enumerate(exps):
        if sql_values is not None and exp.get("type") == SQL_TYPE:
            exp = {**exp, "kwargs": {**exp["kwargs"], SQL_QUERY: _render(exp["kwargs"][SQL_QUERY], sql_values)}}
        try:
            built.append(ExpectationConfiguration(**exp).to_domain_obj())
        except Exception as e:  # unknown type, bad kwargs or severity, unknown key
            raise SuiteFileError(f"{path}: expectations[{i}] ({exp.get('type')}): {e}") from e
    return gx_module().ExpectationSuite(name=data["name"], expectations=built, meta=data.get("meta"),
                                        notes=data.get("notes"))


def load_suite(suite_name: str, suites_dir: Any = None, extra_expectations: list[Mapping[str, Any]] | None = None) -> Any:
    """``<suites_dir>/<suite_name>.json`` (plus ``extra_expectations``, dicts in the same form)
    as a GX ``ExpectationSuite``; ``SuiteFileError`` naming the file if GX refuses it."""
    return _build(*_expectation_dicts(suite_name, suites_dir, extra_expectations))


def suite_meta(suite_name: str, suites_dir: Any = None) -> dict[str, Any]:
    """The suite file's ``meta`` (no GX import)."""
    return dict(_expectation_dicts(suite_name, suites_dir)[1].get("meta") or {})


def placeholders(query: str) -> list[str]:
    """``{name}`` placeholders of a SQL expectation's query, ``{batch}`` excluded."""
    return [f for _lit, f, _spec, _conv in string.Formatter().parse(query) if f and f != "batch"]


def _render(query: str, values: Mapping[str, str]) -> str:
    """``query`` with every ``{name}`` but ``{batch}`` replaced by ``values[name]``; literal braces
    stay doubled, since GX formats the query once more."""
    return "".join(literal.replace("{", "{{").replace("}", "}}")
                   + ("" if field is None else "{batch}" if field == "batch" else values[field])
                   for literal, field, _spec, _conv in string.Formatter().parse(query))


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, _dt.datetime):
        return f"{'TIMESTAMPTZ' if value.tzinfo else 'TIMESTAMP'} '{value.isoformat(sep=' ')}'"
    if isinstance(value, _dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _reads(query: str, table: str) -> bool:
    """Whether a SQL expectation's query names ``table`` (``schema.table``)."""
    schema, _, name = table.lower().partition(".")
    return re.search(rf'(?<![\w."]){schema}\s*\.\s*"?{name}"?(?![\w])', query.lower()) is not None


@dataclasses.dataclass
class ValidationOutcome:
    """``success_blocking``: no critical failure; ``failed``: a dict per failed expectation (type, column,
    kwargs, severity, unexpected count/percent, samples, observed value, exception); ``skipped``: with why."""
    suite_name: str
    success_blocking: bool
    success: bool
    evaluated: int
    failed: list[dict[str, Any]]
    duration_s: float
    parameters: dict[str, Any]
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    errors = property(lambda self: [f for f in self.failed if f["severity"] == CRITICAL])
    warnings = property(lambda self: [f for f in self.failed if f["severity"] != CRITICAL])

    def summary(self) -> str:
        return "\n".join([f"{self.suite_name}: {self.evaluated} evaluated, {len(self.errors)} critical, "
                          f"{len(self.warnings)} warning(s), {len(self.skipped)} skipped, {self.duration_s:.2f}s"]
                         + [f"  {f['severity'].upper():8} {f['expectation_type']}({f['column'] or ''}): "
                            f"{f['exception'] or 'unexpected=%s' % f['unexpected_count']}" for f in self.failed]
                         + [f"  SKIPPED  {f['expectation_type']}({f['column'] or ''}): {f['reason']}" for f in self.skipped])


def _jsonable(value: Any, escape: bool = False) -> Any:
    """Plain JSON types for samples (dates -> ISO, Decimal -> float, NaN -> None); ``escape``: HTML-escaped text."""
    if isinstance(value, (float, decimal.Decimal)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, escape) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, escape) for v in value]
    if isinstance(value, str):
        return html.escape(value) if escape else value
    return value if value is None or isinstance(value, (bool, int)) else str(value)


def _column(kwargs: Mapping[str, Any], meta: Mapping[str, Any] | None) -> str | None:
    if kwargs.get("column_list"):
        return ",".join(map(str, kwargs["column_list"]))
    col = kwargs["column"] if kwargs.get("column") is not None else (meta or {}).get("column")
    return str(col) if col is not None else None


def _exceptions(r: Any) -> list[str]:
    """The messages of what raised while GX evaluated a result (per metric, or the whole)."""
    info = r.exception_info or {}
    found = [info] + [v for v in info.values() if isinstance(v, dict)]
    return list(dict.fromkeys(str(e.get("exception_message")) for e in found if e.get("raised_exception")))


def _failure(r: Any, samples: list | None) -> dict[str, Any]:
    cfg, res, sql = r.expectation_config, r.result or {}, r.expectation_config.type == SQL_TYPE
    kwargs = {k: v for k, v in (cfg.kwargs or {}).items() if k != "batch_id"}
    return {
        "expectation_type": cfg.type, "column": _column(kwargs, cfg.meta), "kwargs": _jsonable(kwargs),
        "severity": str(getattr(cfg.severity, "value", cfg.severity) or CRITICAL),
        "unexpected_count": res.get("observed_value") if sql else res.get("unexpected_count"),
        "unexpected_percent": _jsonable(res.get("unexpected_percent")),
        "sample_unexpected_values": _jsonable(((samples if sql else res.get("partial_unexpected_list")) or [])
                                              [:SAMPLE_LIMIT]),
        "observed_value": _jsonable(res.get("observed_value")),
        "exception": "; ".join(m for m in _exceptions(r) if m) or None, "why": (cfg.meta or {}).get("why"),
    }


def _autocommit_wrapper() -> type:
    """duckdb_engine's DBAPI connection without transactions: the #11579 patch."""
    from duckdb_engine import ConnectionWrapper

    return type("_Autocommit", (ConnectionWrapper,), {m: lambda self: None for m in ("begin", "commit", "rollback")})


def _batch_sql(query_or_table: str, partition_filter: Mapping[str, tuple] | None) -> str:
    text = query_or_table.strip().rstrip(";")
    base = text if re.match(r"(?is)^\s*(select|with)\b", text) else f"SELECT * FROM {text}"
    if not partition_filter:
        return base
    where = " AND ".join(f'"{col}" BETWEEN {_sql_literal(lo)} AND {_sql_literal(hi)}'
                         for col, (lo, hi) in partition_filter.items())
    return f"SELECT * FROM (\n{base}\n) AS _partition WHERE {where}"  # newline: a trailing -- comment


def validate(suite_name: str, *, connection: Any, query_or_table: str, partition_filter: Mapping[str, tuple] | None = None,
             parameters: Mapping[str, Any] | None = None, suites_dir: Any = None, run_name: str | None = None,
             extra_expectations: list[Mapping[str, Any]] | None = None,
             skip_tables: Mapping[str, str] | None = None) -> ValidationOutcome:
    """Validate ``query_or_table`` (a table or a ``SELECT``) within ``partition_filter`` (``{column: (start,
    end)}``) with the suite file plus ``extra_expectations``, through cursors of the open ``connection``."""
    path, data, exps = _expectation_dicts(suite_name, suites_dir, extra_expectations)
    given = {k: v for lo, hi in (partition_filter or {}).values()
             for k, v in (("partition_start", lo), ("partition_end", hi))} | dict(parameters or {})
    keep, skipped = [], []
    for exp in exps:
        query = (exp.get("kwargs") or {}).get(SQL_QUERY) if exp.get("type") == SQL_TYPE else None
        why = [reason for table, reason in (skip_tables or {}).items() if query and _reads(query, table)]
        if why:
            skipped.append({"expectation_type": exp["type"], "column": _column(exp.get("kwargs") or {}, exp.get("meta")),
                            "severity": exp.get("severity", CRITICAL), "reason": "; ".join(why)})
        else:
            keep.append(exp)
    needed = {p for e in keep if e.get("type") == SQL_TYPE for p in placeholders(e["kwargs"][SQL_QUERY])}
    needed |= {m for e in keep for m in re.findall(r'"\$PARAMETER":\s*"(\w+)"', json.dumps(e.get("kwargs")))}
    if missing := sorted(needed - set(given)):
        raise ValueError(f"{path}: the suite needs parameter(s) {missing}; pass them with parameters=")
    sql_values = {k: _sql_literal(v) for k, v in given.items()}
    # a date parameter is compared with DATE columns as midnight of that day
    params = {k: _dt.datetime.combine(v, _dt.time()) if type(v) is _dt.date else v for k, v in given.items()}

    gx = gx_module()
    from great_expectations.core.run_identifier import RunIdentifier

    with _lock:
        ctx = _context()
        started = time.perf_counter()
        suite = ctx.suites.add_or_update(_build(path, data, keep, sql_values))
        n, wrapper = next(_counter), _autocommit_wrapper()
        datasource = ctx.data_sources.add_sql(
            name=f"duckdb_{suite_name}_{n}", connection_string="duckdb:///:memory:",
            kwargs={"creator": lambda: wrapper(connection.cursor())}, create_temp_table=False)
        try:
            batch_definition = (datasource.add_query_asset(name="partition", query=_batch_sql(query_or_table, partition_filter))
                                .add_batch_definition_whole_table("whole"))
            vd = ctx.validation_definitions.add(
                gx.ValidationDefinition(name=f"{suite_name}__{n}", data=batch_definition, suite=suite))
            try:
                result = vd.run(expectation_parameters=params or None,
                                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_LIMIT},
                                run_id=RunIdentifier(run_name=run_name, run_time=_dt.datetime.now(_dt.timezone.utc)))
            finally:
                ctx.validation_definitions.delete(vd.name)
            failed, batch = [], None
            for r in (r for r in result.results if not r.success):
                samples = None
                if r.expectation_config.type == SQL_TYPE and not _exceptions(r):
                    batch = batch or batch_definition.get_batch()
                    complete = batch.validate(r.expectation_config.to_domain_obj(), result_format="COMPLETE")
                    samples = ((complete.result or {}).get("details") or {}).get("unexpected_rows") or []
                failed.append(_failure(r, samples))
        finally:
            for engine in (datasource.get_engine(), datasource.get_execution_engine().engine):
                engine.dispose()  # closes the cursors GX opened on the caller's connection
            ctx.data_sources.delete(datasource.name)
        from great_expectations.expectations.metadata_types import FailureSeverity

        return ValidationOutcome(suite_name, result.get_max_severity_failure() != FailureSeverity.CRITICAL, not failed,
                                 len(result.results), failed, round(time.perf_counter() - started, 4), _jsonable(params),
                                 skipped)


def build_data_docs(site_dir: str | os.PathLike) -> Path:
    """(Re)build the Data Docs of this process's validations at ``site_dir`` (``data_docs.publish_site``:
    offline, swapped in atomically); returns ``index.html``. GX 1.24 puts failure samples into its
    pages as raw HTML, so the stored results' values (source data) are HTML-escaped first, once."""
    from pipelines.quality import data_docs

    with _lock:
        ctx, store = _context(), _context().validation_results_store
        for key in store.list_keys():
            if not (result := store.get(key)).meta.get("samples_escaped"):
                for r in result.results:
                    r.result = _jsonable(r.result or {}, escape=True)
                result.meta["samples_escaped"] = True
                store.set(key, result)

        def render(folder: Path) -> None:
            config = {"class_name": "SiteBuilder", "show_how_to_buttons": False,
                      "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                      "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)}}
            if _SITE_NAME in ctx.list_data_docs_sites():
                ctx.update_data_docs_site(_SITE_NAME, config)
            else:
                ctx.add_data_docs_site(_SITE_NAME, config)
            ctx.build_data_docs(site_names=[_SITE_NAME])

        return data_docs.publish_site(site_dir, render)
