"""Great Expectations runtime: file-based suites, validated on DuckDB, inside the pipeline process.

Suites are files, ``expectations/<suite_name>.json``, in GX 1.x ExpectationSuite JSON form
(``name``, ``expectations`` of ``{"type", "kwargs", "meta"}``). Each expectation may say
``"meta": {"severity": "warn"}``; the default is ``"error"``. A failed ERROR expectation blocks
(``ValidationOutcome.success_blocking`` is False); a failed WARN expectation is only reported.
``$PARAMETER`` references in kwargs (e.g. the partition window) are filled from ``parameters=``.

SQL expectations (cross-table checks)
    GX 1.x has no cross-table expectation; ``unexpected_rows_expectation`` (GX's
    ``UnexpectedRowsExpectation``) is the way: a SELECT over ``{batch}`` (the validated rows)
    and any other table, failing when it returns rows. In a suite file::

        {"type": "unexpected_rows_expectation",
         "kwargs": {"unexpected_rows_query": [
             "SELECT customer_code, _source_file, _source_line FROM {batch}",
             "WHERE customer_code NOT IN (SELECT customer_code FROM raw.master_customers)"]},
         "meta": {"severity": "error", "column": "customer_code"}}

    * The query may be one string or a list of lines (joined with newlines), and must read
      ``{batch}``. ``{name}`` placeholders are filled from the validation parameters as SQL
      literals (a date becomes ``DATE '2024-01-05'``) before GX sees the query; they count as
      suite parameters. Literal braces are doubled (``'[0-9]{{4}}'``), as GX formats the query.
    * GX fills ``{batch}`` with ``(<batch query>) AS subselect``, or only ``(<batch query>)``
      when the query contains a JOIN — then alias it yourself: ``FROM {batch} AS b JOIN ...``.
    * The failure's ``unexpected_count`` is the number of rows the query returned and its
      samples are the first 10 of them (fetched after the run; GX's SUMMARY has only the count).
      ``meta.column`` names the column for reports.
    * They run on the SQL engine only: with ``engine="pandas"`` / ``validate_dataframe`` they
      are skipped (``ValidationOutcome.skipped``). Tables they read besides ``{batch}`` are found
      with DuckDB's parser (or listed in ``meta.requires``); ``on_missing_table`` says whether an
      expectation reading a missing table is skipped (default, for ad hoc use on a copy) or run
      and failed (the pipeline's checks).
    * ``check_suite`` parses each query with DuckDB (placeholders filled with sample values), so
      a syntax error is found in review rather than in a run.

Run model
    * ``great_expectations`` is imported lazily, once per process, on the first validation
      (4-7 s); importing this module stays cheap because Dagster loads definitions often.
    * One ephemeral data context per process (``gx.get_context(mode="ephemeral")``): nothing
      is written to disk except the Data Docs site a caller asks for (no ``gx/`` folder).
      Its in-memory validation-results store is what ``build_data_docs`` renders.
    * Each validation adds a datasource, runs, then closes GX's SQLAlchemy engines and deletes
      the datasource, so the DuckDB file is free again for a read-write connection afterwards.
    * DuckDB allows one read-write process per file. Validate in the pipeline process: either
      after the writer connection is closed (``duckdb_path=``, opened read-only through
      SQLAlchemy ``duckdb+gx_autocommit:///<path>``), or while it is open by handing it over
      (``connection=``, GX then queries through cursors of that connection).

GX patch (GX issue #11579)
    Through SQLAlchemy on DuckDB, GX 1.24 fails every expectation with an ``IndexError`` in
    ``SqlAlchemyExecutionEngine.resolve_metric_bundle`` unless DuckDB is one of the dialects that
    keep one persisted connection (``_PERSISTED_CONNECTION_DIALECTS`` in
    ``great_expectations.execution_engine.sqlalchemy_execution_engine``).
    ``GXSqlDialect`` has no DUCKDB member, so ``_patch_gx_for_duckdb`` appends a ``str`` that
    also has ``.value`` (the two ways GX reads the tuple: ``name.startswith(d.value)`` and
    ``dialect_name in tuple``). It is applied once, right after the lazy import, verifies
    itself, and raises ``GXPatchError`` if a GX upgrade changed the patch point;
    ``tests/test_gx_runtime.py`` fails too in that case.

GX and DuckDB transactions
    ``duckdb_engine`` opens a DuckDB transaction (``BEGIN``) whenever SQLAlchemy autobegins. With
    GX's one persisted connection (above) two things then go wrong once a query raises (a SQL
    expectation reading a missing table, a conversion error): DuckDB's transaction is aborted,
    so every later query of the validation fails ("Current transaction is aborted"); and GX's
    column reflection, which opens a second SQLAlchemy connection on the same DuckDB connection,
    fails with "cannot start a transaction within a transaction" — how many expectations that
    takes down depends on GX's metric order, i.e. on the hash seed. Validation only reads, so
    GX connects through ``duckdb+gx_autocommit://``: ``duckdb_engine``'s dialect with begin,
    commit and rollback as no-ops (registered in SQLAlchemy's dialect registry, used only by
    this module), and every statement autocommits. A failing expectation then fails alone.
    This also removes the cause of GX #11579 here (without a persisted connection, the pool's
    rollback when a connection is returned invalidated results GX had not fetched yet): the
    #11579 patch above is kept, but no longer strictly needed.

SQL or pandas: measured, then chosen
    Example suite (24 expectations) on a DuckDB table of 1,000,000 generated sales lines
    (1,000 per day), 2 CPUs, GX already imported, median of 3 runs; pandas includes
    fetching the batch out of DuckDB (1 M rows: 2.5 s, 670 MB as a DataFrame):

        =========================  ==============  ==============  ==========
        batch                      SQL (default)   SQL+temp table  pandas
        =========================  ==============  ==============  ==========
        one day (1,000 rows)       0.31 s          0.37 s          0.27 s
        history (1,000,000 rows)   0.67 s          0.98 s          14.9 s
        =========================  ==============  ==============  ==========

    Chosen: SQL on a query asset without a temp table (``engine="sql"``,
    ``create_temp_table=False``, the defaults). For one day all cost the same (GX's fixed
    overhead dominates); for history SQL is 20x faster and holds no rows in memory.
    ``engine="pandas"`` / ``validate_dataframe`` remain for data that only exists in memory.
    A *table* asset is not used: GX reflects its columns through SQLAlchemy's PostgreSQL
    inspector, which fails on DuckDB (``pg_catalog.pg_collation``); a table name is therefore
    turned into ``SELECT * FROM <table>`` and validated as a query asset.

Gotchas
    * ``GX_ANALYTICS_ENABLED`` is set to ``false`` (if unset) before GX is imported and the
      context is built with ``analytics_enabled=False`` and progress bars off. GX 1.24 as
      installed here sends nothing; this keeps it that way if a release brings analytics back.
    * Validating by path while another connection of this process holds the same file
      read-write fails ("different configuration"): pass ``connection=`` instead.
    * Date parameters are passed to GX as midnight datetimes (a ``date`` or ISO date string
      breaks the pandas engine: Timestamp vs date); for a TIMESTAMP column give the window
      as datetimes yourself.
    * A process that ran a SQL validation prints "nanobind: leaked N instances ...
      DuckDBPyType" to stderr at interpreter exit: DuckDB 2.0's binding leak checker sees
      module-level DuckDB type objects still alive at shutdown (they survive disposing the
      engines and resetting the context). Harmless noise; the database file is closed.
    * Data Docs pages load CSS/JS from public CDNs when opened in a browser.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import functools
import itertools
import json
import math
import os
import re
import shutil
import string
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only, nothing heavy is imported at runtime
    import duckdb
    import pandas as pd

__all__ = [
    "DEFAULT_SUITES_DIR",
    "GXPatchError",
    "SuiteFileError",
    "SuiteSpec",
    "ExpectationSpec",
    "ValidationOutcome",
    "load_suite",
    "check_suite",
    "validate",
    "validate_dataframe",
    "build_data_docs",
    "reset_context",
    "gx_module",
]

SEVERITY_ERROR = "error"
SEVERITY_WARN = "warn"
SEVERITIES = (SEVERITY_ERROR, SEVERITY_WARN)
#: meta.severity -> GX's own FailureSeverity (so Data Docs and raw results carry it too)
_GX_SEVERITY = {SEVERITY_ERROR: "critical", SEVERITY_WARN: "warning"}

#: the repository's ``expectations/`` folder
DEFAULT_SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
SAMPLE_LIMIT = 10

_SUITE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_EXPECTATION_TYPE_RE = re.compile(r"^(expect_[a-z0-9_]+|unexpected_rows_expectation)$")
#: expectation types that are a SQL query (GX: SQL data sources only, see "SQL expectations")
SQL_EXPECTATION_TYPES = frozenset({"unexpected_rows_expectation"})
SQL_QUERY_KWARG = "unexpected_rows_query"
_PLACEHOLDER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MISSING_TABLE_POLICIES = ("skip", "fail")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_QUERY_RE = re.compile(r"^\s*(select|with|from|values|\()", re.IGNORECASE)
_EXPECTATION_KEYS = {"type", "kwargs", "meta", "notes", "description", "id"}
_SUITE_KEYS = {"name", "expectations", "meta", "notes", "id", "suite_parameters"}
_SITE_NAME = "pipelines_data_docs"
_SITE_MARKER = ".gx_runtime_site"


class GXPatchError(RuntimeError):
    """The DuckDB patch point in GX is gone or changed shape (GX upgraded?)."""


class SuiteFileError(ValueError):
    """A suite file is missing, malformed, or names an unknown expectation type."""


# --------------------------------------------------------------------------------------------
# suite files (plain JSON checks: no GX import)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    severity: str  # "error" | "warn"
    notes: Any = None
    description: str | None = None

    @property
    def is_sql(self) -> bool:
        """A SQL expectation (``unexpected_rows_expectation``): runs on the SQL engine only."""
        return self.type in SQL_EXPECTATION_TYPES

    @property
    def query(self) -> str | None:
        return self.kwargs.get(SQL_QUERY_KWARG) if self.is_sql else None

    @property
    def tables(self) -> tuple[str, ...]:
        """Tables a SQL expectation reads besides ``{batch}``: ``meta.requires`` if given, else
        every schema-qualified table its query reads (found by DuckDB's parser)."""
        if not self.is_sql:
            return ()
        if "requires" in self.meta:
            return tuple(self.meta["requires"])
        return _query_tables(self.query or "")

    @property
    def column(self) -> str | None:
        """The column(s) an expectation is about, for reports (``meta.column`` for SQL ones)."""
        if self.kwargs.get("column") is not None:
            return str(self.kwargs["column"])
        if self.kwargs.get("column_list"):
            return ",".join(map(str, self.kwargs["column_list"]))
        col = self.meta.get("column")
        return str(col) if col is not None else None


@dataclasses.dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: Path
    expectations: tuple[ExpectationSpec, ...]
    meta: dict[str, Any]
    notes: Any = None

    @property
    def parameters(self) -> frozenset[str]:
        """Names of the ``$PARAMETER`` references the suite needs at validation time."""
        found: set[str] = set()
        for exp in self.expectations:
            if exp.is_sql:
                found.update(_query_placeholders(exp.query or ""))
            else:
                _collect_parameters(exp.kwargs, found)
        return frozenset(found)


def _collect_parameters(value: Any, found: set[str]) -> None:
    if isinstance(value, Mapping):
        if "$PARAMETER" in value:
            found.add(str(value["$PARAMETER"]))
        for v in value.values():
            _collect_parameters(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_parameters(v, found)


def _query_placeholders(query: str, *, with_batch: bool = False) -> list[str]:
    """``{name}`` placeholders of a SQL expectation's query, ``{batch}`` excluded (GX fills
    that one) unless ``with_batch``. ``{{``/``}}`` are literal braces. ``ValueError`` on
    malformed braces."""
    names = []
    for _literal, field, spec, conversion in string.Formatter().parse(query):
        if field is None:
            continue
        if not _PLACEHOLDER_RE.match(field) or spec or conversion:
            raise ValueError(f"placeholder {{{field}{'!' + conversion if conversion else ''}"
                             f"{':' + spec if spec else ''}}} is not a plain {{name}}; write "
                             f"literal braces as {{{{ and }}}}")
        if field != "batch" or with_batch:
            names.append(field)
    return names


def _render_query(query: str, values: Mapping[str, str]) -> str:
    """``query`` with every ``{name}`` but ``{batch}`` replaced by ``values[name]`` (SQL text);
    literal braces stay doubled, because GX formats the result once more (``{batch}``)."""
    out = []
    for literal, field, _spec, _conv in string.Formatter().parse(query):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        out.append("{batch}" if field == "batch" else values[field])
    return "".join(out)


def _parse_sql(query: str) -> dict[str, Any]:
    """DuckDB's parse tree of a SQL expectation's query (placeholders filled with a sample
    date, ``{batch}`` with a one-row derived table); ``{"error": true, ...}`` if it does not
    parse. Needs no database."""
    import duckdb

    dummy = {name: "DATE '2000-01-03'" for name in _query_placeholders(query)}
    sql = _batch_query(_render_query(query, dummy), "SELECT 1 AS x")
    con = duckdb.connect()
    try:
        (parsed,) = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    finally:
        con.close()
    return json.loads(parsed)


@functools.lru_cache(maxsize=512)
def _query_tables(query: str) -> tuple[str, ...]:
    """``schema.table`` (or ``catalog.schema.table``) names a query reads, in order."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
                parts = [node.get("catalog_name"), node["schema_name"], node["table_name"]]
                found[".".join(_quote_ident(p) for p in parts if p)] = None
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    tree = _parse_sql(query)
    if not tree.get("error"):
        walk(tree.get("statements"))
    return tuple(found)


def _suite_path(suite_name: str, suites_dir: str | os.PathLike | None) -> Path:
    if not _SUITE_NAME_RE.match(suite_name or ""):
        raise SuiteFileError(f"invalid suite name {suite_name!r}")
    return Path(suites_dir or DEFAULT_SUITES_DIR) / f"{suite_name}.json"


def load_suite(suite_name: str, suites_dir: str | os.PathLike | None = None,
               extra_expectations: list[Mapping[str, Any]] | None = None) -> SuiteSpec:
    """Read and check ``<suites_dir>/<suite_name>.json`` (structure only; no GX import).
    ``extra_expectations`` (dicts in the file's form, e.g. derived from configuration) are
    checked the same way and appended to the file's.

    Raises ``SuiteFileError`` naming the file for: missing file, invalid JSON, a ``name`` that
    differs from the file name, a missing/empty ``expectations`` list, an expectation without a
    well-formed ``type``, non-object ``kwargs``/``meta``, unknown keys, or a ``meta.severity``
    other than ``error``/``warn``. Unknown expectation *types* are caught by ``check_suite``
    (needs GX) and by ``validate``.
    """
    path = _suite_path(suite_name, suites_dir)
    if not path.is_file():
        raise SuiteFileError(f"{path}: suite file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SuiteFileError(f"{path}: not valid JSON: {e}") from e

    def bad(msg: str) -> SuiteFileError:
        return SuiteFileError(f"{path}: {msg}")

    if not isinstance(data, dict):
        raise bad("top level must be a JSON object")
    unknown = set(data) - _SUITE_KEYS
    if unknown:
        raise bad(f"unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_SUITE_KEYS)}")
    if data.get("name") != suite_name:
        raise bad(f"'name' must be {suite_name!r} (the file name), found {data.get('name')!r}")
    if data.get("suite_parameters"):
        raise bad("'suite_parameters' is not supported; pass values with validate(parameters=...)")
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise bad("'meta' must be an object")
    raw_exps = data.get("expectations")
    if not isinstance(raw_exps, list) or not raw_exps:
        raise bad("'expectations' must be a non-empty list")

    specs = []
    items = [(f"expectations[{i}]", e) for i, e in enumerate(raw_exps)]
    items += [(f"extra_expectations[{i}]", e) for i, e in enumerate(extra_expectations or ())]
    for where, exp in items:
        if not isinstance(exp, dict):
            raise bad(f"{where} must be an object")
        unknown = set(exp) - _EXPECTATION_KEYS
        if unknown:
            hint = " (severity goes in meta.severity)" if "severity" in unknown else ""
            raise bad(f"{where}: unknown key(s) {sorted(unknown)}{hint}")
        etype = exp.get("type")
        if not isinstance(etype, str) or not _EXPECTATION_TYPE_RE.match(etype):
            raise bad(f"{where}: 'type' must be an expectation type like 'expect_...', "
                      f"found {etype!r}")
        kwargs = exp.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise bad(f"{where} ({etype}): 'kwargs' must be an object")
        emeta = exp.get("meta") or {}
        if not isinstance(emeta, dict):
            raise bad(f"{where} ({etype}): 'meta' must be an object")
        severity = str(emeta.get("severity", SEVERITY_ERROR)).strip().lower()
        if severity not in SEVERITIES:
            raise bad(f"{where} ({etype}): meta.severity must be one of {list(SEVERITIES)}, "
                      f"found {emeta.get('severity')!r}")
        if etype in SQL_EXPECTATION_TYPES:
            query = kwargs.get(SQL_QUERY_KWARG)
            if isinstance(query, list) and all(isinstance(line, str) for line in query):
                kwargs = {**kwargs, SQL_QUERY_KWARG: "\n".join(query)}  # one line per item
            _check_sql_expectation(kwargs, emeta, lambda msg: bad(f"{where} ({etype}): {msg}"))
        specs.append(ExpectationSpec(
            type=etype, kwargs=dict(kwargs), meta={**emeta, "severity": severity},
            severity=severity, notes=exp.get("notes"), description=exp.get("description"),
        ))
    return SuiteSpec(name=suite_name, path=path, expectations=tuple(specs), meta=dict(meta),
                     notes=data.get("notes"))


def _check_sql_expectation(kwargs: dict, meta: dict, bad: Any) -> None:
    query = kwargs.get(SQL_QUERY_KWARG)
    if not isinstance(query, str) or not query.strip():
        raise bad(f"'kwargs.{SQL_QUERY_KWARG}' must be a non-empty SQL string "
                  f"(or a list of lines)")
    if isinstance(query, str) and "$PARAMETER" in query:
        raise bad("write parameters in the query as {name}, not $PARAMETER")
    try:
        fields = _query_placeholders(query, with_batch=True)
    except ValueError as e:
        raise bad(f"{SQL_QUERY_KWARG}: {e}") from None
    if "batch" not in fields:
        raise bad(f"{SQL_QUERY_KWARG} must read the validated rows through {{batch}}")
    requires = meta.get("requires")
    if requires is not None and (not isinstance(requires, list)
                                 or not all(isinstance(t, str) for t in requires)):
        raise bad("meta.requires must be a list of table names")


def _build_gx_suite(spec: SuiteSpec, sql_values: Mapping[str, str] | None = None) -> Any:
    """The GX ExpectationSuite for ``spec``; ``SuiteFileError`` naming the file on any bad item.

    Each expectation is built on its own because ``gx.ExpectationSuite(expectations=[...])``
    only *logs* invalid ones and drops them. ``sql_values`` (SQL literals by parameter name)
    fill the ``{name}`` placeholders of SQL expectations; without it they stay as written.
    """
    gx = gx_module()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    built = []
    for i, exp in enumerate(spec.expectations):
        where = f"{spec.path}: expectations[{i}] ({exp.type})"
        try:
            get_expectation_impl(exp.type)
        except Exception as e:  # ExpectationNotFoundError
            raise SuiteFileError(f"{where}: unknown expectation type") from e
        kwargs = dict(exp.kwargs)
        if exp.is_sql and sql_values is not None:
            kwargs[SQL_QUERY_KWARG] = _render_query(exp.query, sql_values)
        try:
            config = ExpectationConfiguration(
                type=exp.type, kwargs=kwargs, meta=dict(exp.meta),
                notes=exp.notes, description=exp.description,
                severity=_GX_SEVERITY[exp.severity],
            )
            built.append(config.to_domain_obj())
        except Exception as e:  # pydantic validation errors, bad kwargs
            raise SuiteFileError(f"{where}: invalid kwargs: {e}") from e
    return gx.ExpectationSuite(name=spec.name, expectations=built, meta=dict(spec.meta),
                               notes=spec.notes)


def check_suite(suite_name: str, suites_dir: str | os.PathLike | None = None,
                extra_expectations: list[Mapping[str, Any]] | None = None) -> SuiteSpec:
    """``load_suite`` plus GX's own checks (known types, valid kwargs) and, for SQL
    expectations, DuckDB's parser on the query (placeholders filled with sample values, so
    syntax errors show up in review, not in a run). Imports GX and DuckDB; needs no database.
    """
    spec = load_suite(suite_name, suites_dir, extra_expectations)
    _build_gx_suite(spec)
    for i, exp in enumerate(spec.expectations):
        if not exp.is_sql:
            continue
        info = _parse_sql(exp.query)
        if info.get("error"):
            raise SuiteFileError(f"{spec.path}: expectations[{i}] ({exp.type}): "
                                 f"{SQL_QUERY_KWARG} does not parse: {info.get('error_message')}")
    return spec


# --------------------------------------------------------------------------------------------
# lazy GX import, the DuckDB patch, the per-process ephemeral context
# --------------------------------------------------------------------------------------------

_lock = threading.RLock()
_state: dict[str, Any] = {"gx": None, "context": None, "dialect": None}
_counter = itertools.count(1)


class _DialectName(str):
    """A dialect name GX can read like a ``GXSqlDialect`` member (it has ``.value``)."""

    @property
    def value(self) -> str:
        return str(self)


def _patch_gx_for_duckdb() -> None:
    """Make GX keep one persisted SQLAlchemy connection for DuckDB (GX issue #11579).

    GX consults the module-level tuple ``_PERSISTED_CONNECTION_DIALECTS`` at call time in
    ``_dialect_requires_persisted_connection`` (``connection_string.startswith(d.value)`` ->
    StaticPool engine) and in ``SqlAlchemyExecutionEngine.get_connection``
    (``self.dialect_name in _PERSISTED_CONNECTION_DIALECTS`` -> reuse ``self._connection``),
    so rebinding the tuple is enough. Idempotent; a no-op if GX already lists DuckDB.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as sae

    current = getattr(sae, "_PERSISTED_CONNECTION_DIALECTS", None)
    check = getattr(sae, "_dialect_requires_persisted_connection", None)
    if not isinstance(current, tuple) or not callable(check):
        raise GXPatchError(
            "great_expectations.execution_engine.sqlalchemy_execution_engine no longer has the "
            "tuple _PERSISTED_CONNECTION_DIALECTS and/or _dialect_requires_persisted_connection; "
            "the DuckDB workaround for GX issue #11579 in pipelines/quality/gx_runtime.py "
            "must be revisited for this GX version"
        )
    if "duckdb" not in current:
        from great_expectations.execution_engine.sqlalchemy_dialect import GXSqlDialect

        native = getattr(GXSqlDialect, "DUCKDB", None)
        sae._PERSISTED_CONNECTION_DIALECTS = current + (
            native if native is not None else _DialectName("duckdb"),
        )
    try:
        ok = ("duckdb" in sae._PERSISTED_CONNECTION_DIALECTS
              and check(connection_string="duckdb:///x.duckdb") is True
              and check(url="duckdb:///x.duckdb") is True)
    except Exception as e:
        raise GXPatchError(f"the DuckDB patch for GX issue #11579 does not take: {e!r}") from e
    if not ok:
        raise GXPatchError("the DuckDB patch for GX issue #11579 does not take effect")


#: SQLAlchemy dialect name of DuckDB without transactions (see "GX and DuckDB transactions")
_AUTOCOMMIT_DRIVER = "gx_autocommit"
_AUTOCOMMIT_SCHEME = f"duckdb+{_AUTOCOMMIT_DRIVER}"


def _autocommit_dialect() -> type:
    """``duckdb_engine``'s dialect with ``BEGIN``/``COMMIT``/``ROLLBACK`` turned into no-ops:
    every statement runs in DuckDB's own autocommit mode (created on first use)."""
    cls = _state.get("dialect")
    if cls is None:
        import duckdb_engine

        class AutocommitDuckDBDialect(duckdb_engine.Dialect):
            supports_statement_cache = False

            def do_begin(self, dbapi_connection: Any) -> None:
                pass

            def do_commit(self, dbapi_connection: Any) -> None:
                pass

            def do_rollback(self, dbapi_connection: Any) -> None:
                pass

        cls = _state["dialect"] = AutocommitDuckDBDialect
    return cls


def _register_autocommit_dialect() -> None:
    """Make ``duckdb+gx_autocommit://`` URLs resolve to ``_autocommit_dialect()``. Idempotent;
    plain ``duckdb://`` URLs elsewhere in the process keep ``duckdb_engine`` as it is."""
    from sqlalchemy.dialects import registry

    registry.impls[f"duckdb.{_AUTOCOMMIT_DRIVER}"] = _autocommit_dialect


def gx_module() -> Any:
    """``great_expectations``, imported once per process, with the DuckDB patches applied."""
    with _lock:
        if _state["gx"] is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx

            _patch_gx_for_duckdb()
            _register_autocommit_dialect()
            _state["gx"] = gx
        return _state["gx"]


def _context() -> Any:
    """The process's ephemeral GX context (created on first use)."""
    with _lock:
        if _state["context"] is None:
            gx = gx_module()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            )
            _state["context"] = gx.get_context(project_config=config, mode="ephemeral")
        return _state["context"]


def reset_context() -> None:
    """Forget the process's context and its validation results (GX stays imported)."""
    with _lock:
        _state["context"] = None


# --------------------------------------------------------------------------------------------
# outcome
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ValidationOutcome:
    suite_name: str
    #: False iff an ERROR-severity expectation failed (or could not be evaluated)
    success_blocking: bool
    #: True iff every expectation passed, WARN ones included
    success: bool
    #: number of expectations GX ran (skipped ones, see ``skipped``, are not counted)
    evaluated: int
    #: one dict per failed expectation: expectation_type, column, kwargs, severity,
    #: unexpected_count, unexpected_percent, sample_unexpected_values (<= 10),
    #: observed_value, exception
    failed: list[dict[str, Any]]
    #: wall time of this validation (GX import and context creation excluded)
    duration_s: float
    engine: str
    #: the SQL that selected the batch (None for a DataFrame)
    query: str | None
    parameters: dict[str, Any]
    #: GX's ExpectationSuiteValidationResult as JSON-serialisable dict (for recording)
    raw: dict[str, Any] = dataclasses.field(repr=False)
    #: expectations not run, one dict each (expectation_type, column, severity, reason): SQL
    #: expectations on the pandas engine, and those reading a table that does not exist when
    #: ``on_missing_table="skip"``. They are neither passed nor failed nor ``evaluated``.
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.failed if f["severity"] == SEVERITY_ERROR]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [f for f in self.failed if f["severity"] == SEVERITY_WARN]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        head = (f"{self.suite_name}: {self.evaluated} evaluated, {len(self.errors)} error(s), "
                f"{len(self.warnings)} warning(s), "
                + (f"{len(self.skipped)} skipped, " if self.skipped else "")
                + f"{self.duration_s:.2f}s [{self.engine}]")
        lines = [head]
        for f in self.failed:
            what = f["exception"] or f"unexpected={f['unexpected_count']}"
            lines.append(f"  {f['severity'].upper():5} {f['expectation_type']}"
                         f"({f['column'] or ''}): {what}")
        for f in self.skipped:
            lines.append(f"  SKIP  {f['expectation_type']}({f['column'] or ''}): {f['reason']}")
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    """Plain JSON types for samples and raw results (dates -> ISO, Decimal/numpy -> numbers)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars, pandas NA-like
    if callable(item):
        try:
            return _jsonable(item())
        except Exception:
            pass
    if value.__class__.__name__ in ("NaTType", "NAType"):
        return None
    return str(value)


def _outcome(suite_name: str, result: Any, *, engine: str, query: str | None,
             parameters: dict[str, Any], started: float,
             skipped: list[dict[str, Any]] | None = None,
             sql_samples: Mapping[str, list] | None = None) -> ValidationOutcome:
    """``sql_samples``: sample unexpected rows of failed SQL expectations, by rendered query."""
    failed: list[dict[str, Any]] = []
    blocking_ok = True
    for r in result.results:
        cfg = r.expectation_config
        severity = str((cfg.meta or {}).get("severity", SEVERITY_ERROR)).lower()
        exc = r.exception_info or {}
        raised = bool(exc.get("raised_exception")) if isinstance(exc, dict) else False
        if not raised and isinstance(exc, dict):  # GX keys per-metric exceptions by metric id
            msgs = [v.get("exception_message") for v in exc.values()
                    if isinstance(v, dict) and v.get("raised_exception")]
            raised = bool(msgs)
            exc_message = "; ".join(m for m in msgs if m) or None
        else:
            exc_message = exc.get("exception_message") if isinstance(exc, dict) else str(exc)
        if r.success and not raised:
            continue
        if severity == SEVERITY_ERROR:
            blocking_ok = False
        res = r.result or {}
        kwargs = {k: v for k, v in (cfg.kwargs or {}).items() if k != "batch_id"}
        column = kwargs.get("column")
        if column is None and kwargs.get("column_list"):
            column = ",".join(map(str, kwargs["column_list"]))
        if column is None and (cfg.meta or {}).get("column") is not None:
            column = str(cfg.meta["column"])
        unexpected = res.get("unexpected_count")
        samples = list(res.get("partial_unexpected_list") or [])
        if cfg.type in SQL_EXPECTATION_TYPES:  # observed_value = rows the query returned
            unexpected = res.get("observed_value")
            samples = list((sql_samples or {}).get(kwargs.get(SQL_QUERY_KWARG), []))
        failed.append({
            "expectation_type": cfg.type,
            "column": column,
            "kwargs": _jsonable(kwargs),
            "severity": severity,
            "unexpected_count": unexpected,
            "unexpected_percent": _jsonable(res.get("unexpected_percent")),
            "sample_unexpected_values": _jsonable(samples[:SAMPLE_LIMIT]),
            "observed_value": _jsonable(res.get("observed_value")),
            "exception": exc_message if raised else None,
        })
    raw = _jsonable(result.to_json_dict())
    return ValidationOutcome(
        suite_name=suite_name, success_blocking=blocking_ok, success=not failed,
        evaluated=len(result.results), failed=failed,
        duration_s=round(time.perf_counter() - started, 4), engine=engine, query=query,
        parameters=_jsonable(parameters), raw=raw, skipped=list(skipped or []),
    )


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, _dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, _dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _partition_sql(query_or_table: str, partition_filter: Any) -> str:
    """``SELECT`` text for the batch: a query as given, or ``SELECT * FROM <table>``; then
    wrapped with ``WHERE <partition filter>`` when one is given.

    ``partition_filter``: a SQL boolean expression (str), or a mapping column -> value
    (``=``), -> (low, high) (``BETWEEN``), or -> list/set (``IN``).
    """
    text = query_or_table.strip().rstrip(";").strip()
    if _QUERY_RE.match(text):
        base = text
    elif _IDENTIFIER_RE.match(text):
        base = "SELECT * FROM " + ".".join(_quote_ident(p) for p in text.split("."))
    else:
        raise ValueError(f"query_or_table must be a SELECT query or a [db.][schema.]table name, "
                         f"got {query_or_table!r}")
    if partition_filter is None:
        return base
    if isinstance(partition_filter, str):
        where = partition_filter.strip()
    elif isinstance(partition_filter, Mapping) and partition_filter:
        parts = []
        for col, val in partition_filter.items():
            ident = _quote_ident(str(col))
            if isinstance(val, tuple) and len(val) == 2:
                parts.append(f"{ident} BETWEEN {_sql_literal(val[0])} AND {_sql_literal(val[1])}")
            elif isinstance(val, (list, set, frozenset)):
                parts.append(f"{ident} IN ({', '.join(_sql_literal(v) for v in val)})")
            elif val is None:
                parts.append(f"{ident} IS NULL")
            else:
                parts.append(f"{ident} = {_sql_literal(val)}")
        where = " AND ".join(parts)
    else:
        raise ValueError("partition_filter must be a SQL expression or a non-empty mapping")
    # newline before ')' so a trailing '-- comment' in the query cannot swallow it
    return f"SELECT * FROM (\n{base}\n) AS _partition WHERE {where}"


def _window_from_filter(partition_filter: Any) -> dict[str, Any]:
    """Default ``partition_start``/``partition_end`` from a one-column mapping filter."""
    if not isinstance(partition_filter, Mapping) or len(partition_filter) != 1:
        return {}
    (val,) = partition_filter.values()
    if isinstance(val, tuple) and len(val) == 2:
        lo, hi = val
    elif isinstance(val, (list, set, frozenset)) and val:
        lo, hi = min(val), max(val)
    elif val is not None and not isinstance(val, (list, set, frozenset)):
        lo = hi = val
    else:
        return {}
    return {"partition_start": lo, "partition_end": hi}


def _param_value(value: Any) -> Any:
    # A date becomes midnight of that day: GX turns a date (or a 'YYYY-MM-DD' string) into
    # datetime.date, which pandas refuses to compare with the datetime64 column DuckDB hands
    # over for DATE; a datetime compares correctly on both engines (DuckDB casts DATE up).
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return _dt.datetime.combine(value, _dt.time())
    return value


def _merge_parameters(spec: SuiteSpec, parameters: Mapping[str, Any] | None,
                      partition_filter: Any) -> dict[str, Any]:
    """The parameter values as given (window defaults from a one-column mapping filter)."""
    params = {**_window_from_filter(partition_filter), **dict(parameters or {})}
    missing = sorted(spec.parameters - set(params))
    if missing:
        raise ValueError(f"{spec.path}: the suite needs parameter(s) {missing}; pass them with "
                         f"parameters={{...}} (or a one-column mapping partition_filter)")
    return params


def _resolve_parameters(spec: SuiteSpec, parameters: Mapping[str, Any] | None,
                        partition_filter: Any) -> dict[str, Any]:
    """Parameter values for GX's ``$PARAMETER`` references."""
    params = _merge_parameters(spec, parameters, partition_filter)
    return {k: _param_value(v) for k, v in params.items()}


def _sql_values(params: Mapping[str, Any]) -> dict[str, str]:
    """Parameter values as SQL literals for the ``{name}`` placeholders of SQL expectations
    (a date -> ``DATE '...'``, an aware datetime -> ``TIMESTAMPTZ '...'``)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, _dt.datetime) and v.tzinfo is not None:
            out[k] = f"TIMESTAMPTZ '{v.isoformat(sep=' ')}'"
        else:
            out[k] = _sql_literal(v)
    return out


def _batch_query(rendered_query: str, batch_sql: str) -> str:
    """A rendered SQL-expectation query with ``{batch}`` filled the way GX fills it: the batch
    as a derived table aliased ``subselect``, or just parenthesised when the query has a JOIN
    (then the query names the alias itself, ``FROM {batch} AS b JOIN ...``)."""
    gx_module()
    try:  # GX's own test, so what we run for samples is what GX ran
        from great_expectations.expectations.metrics.query_metric_provider import (
            _query_has_join_clause as has_join,
        )
    except ImportError:  # pragma: no cover - GX moved it; an approximation is enough here
        def has_join(q: str) -> bool:
            return re.search(r"\bjoin\b", q, re.IGNORECASE) is not None
    batch = f"({batch_sql})" if has_join(rendered_query) else f"({batch_sql}) AS subselect"
    return rendered_query.format(batch=batch)


class _Reader:
    """Run SQL for the runtime itself (table probes, sample rows): through a cursor of the
    handed-over connection, or a short-lived read-only connection to the file."""

    def __init__(self, connection: Any = None, duckdb_path: Any = None):
        self.connection, self.duckdb_path = connection, duckdb_path

    def rows(self, sql: str, limit: int | None = None) -> list[dict[str, Any]]:
        import duckdb

        if limit is not None:
            sql = f"SELECT * FROM (\n{sql}\n) AS _q LIMIT {int(limit)}"
        con = (self.connection.cursor() if self.connection is not None
               else duckdb.connect(str(self.duckdb_path), read_only=True))
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()

    def missing(self, tables: set[str]) -> set[str]:
        out = set()
        for name in sorted(tables):
            try:
                self.rows(f"SELECT 1 FROM {name} LIMIT 0")
            except Exception:  # catalog error: no such table or view
                out.add(name)
        return out


def _table_key(name: str) -> str:
    return name.replace('"', "").lower()


def _split_sql(spec: SuiteSpec, *, engine: str, on_missing_table: str,
               reader: _Reader | None,
               skip_tables: Mapping[str, str] | None = None) -> tuple[SuiteSpec, list[dict[str, Any]]]:
    """The spec of the expectations to run, and the skipped ones with their reason."""
    skipped, keep = [], []
    missing: set[str] = set()
    skip = {_table_key(t): why for t, why in (skip_tables or {}).items()}
    if engine == "sql" and on_missing_table == "skip" and reader is not None:
        missing = reader.missing({t for e in spec.expectations for t in e.tables})
    for exp in spec.expectations:
        reason = None
        if exp.is_sql and engine != "sql":
            reason = f"{exp.type} is SQL: it runs only with engine='sql'"
        elif exp.is_sql and missing.intersection(exp.tables):
            reason = f"reads {', '.join(sorted(missing.intersection(exp.tables)))}, which does not exist"
        elif exp.is_sql and (hit := sorted({skip[_table_key(t)] for t in exp.tables if _table_key(t) in skip})):
            reason = "; ".join(hit)
        if reason:
            skipped.append({"expectation_type": exp.type, "column": exp.column,
                            "severity": exp.severity, "reason": reason})
        else:
            keep.append(exp)
    return dataclasses.replace(spec, expectations=tuple(keep)), skipped


def _sql_samples(result: Any, batch_sql: str, reader: _Reader) -> dict[str, list]:
    """First rows returned by each failed SQL expectation's query (GX's SUMMARY result has
    only their count)."""
    out: dict[str, list] = {}
    for r in result.results:
        cfg = r.expectation_config
        if cfg.type not in SQL_EXPECTATION_TYPES or r.success:
            continue
        query = (cfg.kwargs or {}).get(SQL_QUERY_KWARG)
        if not isinstance(query, str) or query in out:
            continue
        try:
            out[query] = reader.rows(_batch_query(query, batch_sql), limit=SAMPLE_LIMIT)
        except Exception:  # the query itself failed; GX reported the exception already
            out[query] = []
    return out


def _run(spec: SuiteSpec, batch_definition: Any, *, batch_parameters: dict | None,
         parameters: dict[str, Any], run_name: str | None,
         sql_values: Mapping[str, str] | None = None) -> Any:
    """Run ``spec`` on ``batch_definition``; the result stays in the context's results store."""
    gx = gx_module()
    ctx = _context()
    from great_expectations.core.run_identifier import RunIdentifier

    suite = ctx.suites.add_or_update(_build_gx_suite(spec, sql_values))
    vd_name = f"{spec.name}__{next(_counter)}"
    vd = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=vd_name, data=batch_definition, suite=suite))
    try:
        return vd.run(
            batch_parameters=batch_parameters,
            expectation_parameters=parameters or None,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_LIMIT},
            run_id=RunIdentifier(run_name=run_name,
                                 run_time=_dt.datetime.now(_dt.timezone.utc)),
        )
    finally:
        ctx.validation_definitions.delete(vd_name)


def _close_sql_datasource(ctx: Any, datasource: Any) -> None:
    """Close every connection GX opened for ``datasource`` and drop it from the context.

    GX has no close step for fluent datasources: the execution engine keeps its persisted
    connection (``_connection``, because of the patch) and both the datasource and the
    execution engine own a SQLAlchemy engine. Left open, they keep DuckDB's database instance
    alive, and the next read-write ``duckdb.connect(path)`` in this process fails.
    """
    ee = getattr(datasource, "_execution_engine", None)
    if ee is not None:
        conn = getattr(ee, "_connection", None)
        if conn is not None:
            try:
                conn.close()
            finally:
                ee._connection = None
        engine = getattr(ee, "engine", None)
        if engine is not None and hasattr(engine, "dispose"):
            engine.dispose()
        backup = getattr(ee, "_engine_backup", None)
        if backup is not None and backup is not engine:
            backup.dispose()
    engine = getattr(datasource, "_engine", None)
    if engine is not None:
        engine.dispose()
    try:
        ctx.data_sources.delete(datasource.name)
    except Exception:  # already gone: nothing to leak
        pass


def validate(
    suite_name: str,
    *,
    query_or_table: str,
    duckdb_path: str | os.PathLike | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    partition_filter: str | Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    engine: str = "sql",
    create_temp_table: bool = False,
    suites_dir: str | os.PathLike | None = None,
    run_name: str | None = None,
    on_missing_table: str = "skip",
    extra_expectations: list[Mapping[str, Any]] | None = None,
    skip_tables: Mapping[str, str] | None = None,
) -> ValidationOutcome:
    """Validate one partition of a DuckDB table or query with suite ``suite_name``.

    Give exactly one of ``duckdb_path`` (opened read-only through SQLAlchemy; no other
    read-write connection to that file may be open, in any process) or ``connection`` (an open
    ``duckdb`` connection of this process, e.g. the pipeline's writer; GX then uses cursors of
    it and sees what it has committed).

    ``query_or_table``: ``"raw.sales_lines"`` or a ``SELECT ...``. ``partition_filter``: SQL
    text (``"_partition_date = DATE '2024-01-05'"``) or a mapping (``{"_partition_date":
    date(2024, 1, 5)}``, ``{"_partition_date": (start, end)}``); the batch is
    ``SELECT * FROM (<query>) WHERE <filter>``. ``parameters`` fill ``$PARAMETER`` references;
    with a one-column mapping filter, ``partition_start``/``partition_end`` default to its
    bounds. ``engine="sql"`` (default) runs the expectations as SQL in DuckDB;
    ``engine="pandas"`` fetches the batch into a DataFrame first (see the module docstring);
    SQL expectations are then skipped.

    ``on_missing_table``: what to do with a SQL expectation whose query reads a table that
    does not exist — ``"skip"`` it (listed in ``ValidationOutcome.skipped``; for ad hoc
    validation of a table copied out of the warehouse) or ``"fail"`` (GX runs it and records
    the catalog error; the pipeline's checks use this, a missing table is a broken warehouse).

    ``extra_expectations``: expectation dicts validated together with the file's, as one suite
    (the raw checks add the structural expectations derived from sources.yml). ``skip_tables``:
    table -> reason; SQL expectations reading one of those tables are skipped with that reason
    (the raw tables of sources the company does not deliver).
    """
    if (duckdb_path is None) == (connection is None):
        raise ValueError("give exactly one of duckdb_path= or connection=")
    if engine not in ("sql", "pandas"):
        raise ValueError(f"engine must be 'sql' or 'pandas', got {engine!r}")
    if on_missing_table not in MISSING_TABLE_POLICIES:
        raise ValueError(f"on_missing_table must be one of {MISSING_TABLE_POLICIES}, "
                         f"got {on_missing_table!r}")
    spec = load_suite(suite_name, suites_dir, extra_expectations)
    given = _merge_parameters(spec, parameters, partition_filter)
    params = {k: _param_value(v) for k, v in given.items()}
    sql_values = _sql_values(given)
    sql = _partition_sql(query_or_table, partition_filter)
    if duckdb_path is not None and not Path(duckdb_path).is_file():
        raise FileNotFoundError(f"DuckDB file not found: {duckdb_path}")
    reader = _Reader(connection=connection, duckdb_path=duckdb_path)

    with _lock:
        ctx = _context()  # GX import + context creation are not part of duration_s
        started = time.perf_counter()
        run_spec, skipped = _split_sql(spec, engine=engine, on_missing_table=on_missing_table,
                                       reader=reader, skip_tables=skip_tables)
        if engine == "pandas":
            df = _fetch_df(sql, duckdb_path=duckdb_path, connection=connection)
            result = _run_dataframe(run_spec, df, parameters=params, run_name=run_name)
            return _outcome(suite_name, result, engine="pandas", query=sql,
                            parameters=params, started=started, skipped=skipped)

        ds_name = f"duckdb_{spec.name}_{next(_counter)}"
        if connection is not None:
            from duckdb_engine import ConnectionWrapper

            def creator() -> Any:  # what duckdb_engine's Dialect.connect would return
                return ConnectionWrapper(connection.cursor())

            url, kwargs = f"{_AUTOCOMMIT_SCHEME}:///:memory:", {"creator": creator}
        else:
            url = f"{_AUTOCOMMIT_SCHEME}:///{Path(duckdb_path).resolve()}"
            kwargs = {"connect_args": {"read_only": True}}
        datasource = None
        try:
            datasource = _open_sql_datasource(ctx, ds_name, url, kwargs, create_temp_table,
                                              duckdb_path)
            asset = datasource.add_query_asset(name="partition", query=sql)
            batch_definition = asset.add_batch_definition_whole_table("whole")
            result = _run(run_spec, batch_definition, batch_parameters=None,
                          parameters=params, run_name=run_name, sql_values=sql_values)
        finally:
            if datasource is not None:
                _close_sql_datasource(ctx, datasource)
        samples = _sql_samples(result, sql, reader)
        return _outcome(suite_name, result, engine="sql", query=sql, parameters=params,
                        started=started, skipped=skipped, sql_samples=samples)


def _open_sql_datasource(ctx: Any, name: str, url: str, kwargs: dict, create_temp_table: bool,
                         duckdb_path: Any) -> Any:
    try:
        return ctx.data_sources.add_sql(name=name, connection_string=url, kwargs=kwargs,
                                        create_temp_table=create_temp_table)
    except Exception as e:
        # add_sql tests the connection; leave nothing half-open behind
        try:
            ds = ctx.data_sources.get(name)
        except Exception:
            ds = None
        if ds is not None:
            _close_sql_datasource(ctx, ds)
        if duckdb_path is not None and "different configuration" in str(e):
            raise RuntimeError(
                f"{duckdb_path} is open read-write by another connection in this process; "
                "close it first or pass it as validate(connection=...)") from e
        raise


def _fetch_df(sql: str, *, duckdb_path: Any, connection: Any) -> pd.DataFrame:
    import duckdb

    if connection is not None:
        cur = connection.cursor()
        try:
            return cur.execute(sql).fetch_df()
        finally:
            cur.close()
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        return con.execute(sql).fetch_df()
    finally:
        con.close()


def _run_dataframe(spec: SuiteSpec, df: pd.DataFrame, *, parameters: dict[str, Any],
                   run_name: str | None) -> Any:
    ctx = _context()
    ds_name = f"pandas_{spec.name}_{next(_counter)}"
    datasource = ctx.data_sources.add_pandas(name=ds_name)
    try:
        asset = datasource.add_dataframe_asset(name="dataframe")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        return _run(spec, batch_definition, batch_parameters={"dataframe": df},
                    parameters=parameters, run_name=run_name)
    finally:
        try:
            ctx.data_sources.delete(ds_name)
        except Exception:
            pass


def validate_dataframe(
    suite_name: str,
    df: pd.DataFrame,
    *,
    parameters: Mapping[str, Any] | None = None,
    suites_dir: str | os.PathLike | None = None,
    run_name: str | None = None,
) -> ValidationOutcome:
    """Validate an in-memory pandas DataFrame with suite ``suite_name`` (pandas engine; SQL
    expectations are skipped)."""
    spec = load_suite(suite_name, suites_dir)
    params = _resolve_parameters(spec, parameters, None)
    with _lock:
        _context()
        started = time.perf_counter()
        run_spec, skipped = _split_sql(spec, engine="pandas", on_missing_table="skip",
                                       reader=None)
        result = _run_dataframe(run_spec, df, parameters=params, run_name=run_name)
        return _outcome(suite_name, result, engine="pandas", query=None, parameters=params,
                        started=started, skipped=skipped)


# --------------------------------------------------------------------------------------------
# Data Docs
# --------------------------------------------------------------------------------------------


def build_data_docs(site_dir: str | os.PathLike) -> Path:
    """(Re)build a GX Data Docs site in ``site_dir`` from this process's validation results.

    ``site_dir`` must be absent, empty, or a site this function built before (it carries a
    marker file); such a site is wiped first, so it shows exactly the current run. Returns
    the path of ``index.html``.
    """
    site = Path(site_dir).resolve()
    marker = site / _SITE_MARKER
    if site.exists():
        if not site.is_dir():
            raise NotADirectoryError(f"{site} is not a directory")
        if any(site.iterdir()):
            if not marker.is_file():
                raise ValueError(f"refusing to build Data Docs in {site}: it is not empty and "
                                 f"was not built by build_data_docs (no {_SITE_MARKER})")
            shutil.rmtree(site)
    site.mkdir(parents=True, exist_ok=True)
    marker.write_text("Built by pipelines.quality.gx_runtime.build_data_docs; "
                      "the whole folder is replaced on every build.\n", encoding="utf-8")
    site_config = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(site)},
    }
    with _lock:
        ctx = _context()
        if _SITE_NAME in ctx.list_data_docs_sites():
            ctx.update_data_docs_site(_SITE_NAME, site_config)
        else:
            ctx.add_data_docs_site(_SITE_NAME, site_config)
        ctx.build_data_docs(site_names=[_SITE_NAME])
    index = site / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GX did not write {index}")
    return index
