"""Dagster event log on SQLite that writes a batch of asset events in one transaction per
database (configured in ``dagster.yaml``; same files as Dagster's default SQLite storage).

A run over a partition range records one "materialization planned" and one "materialization"
event per asset and partition: a full load of three years of daily partitions is about 20,000
events. Dagster's SQLite storage opens, commits and closes the run database and the index
database for every event (~16 ms each on this project's machine, ~5 minutes of a full run).
Dagster groups those events into batches when ``DAGSTER_EVENT_BATCH_SIZE`` is set; its SQLite
storage still stores a batch one event at a time, so this subclass stores a batch of asset
events with one connection and one commit per database. Any other batch (run status, asset
check, log events) goes through Dagster's own one-by-one path.
"""

import os
from collections.abc import Sequence

from dagster import DagsterInvariantViolationError, EventLogEntry, Field, StringSource
# Private, because a storage class is what dagster.yaml plugs in and Dagster exports none of its
# own: the public alternatives, Dagster's SqliteEventLogStorage as is (one transaction per event,
# ~5 minutes of a full scale-M run) and PostgreSQL storage (dagster-postgres: a server to run;
# docs/scaling.md, for instances that outgrow SQLite), were ruled out for the embedded default.
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

# Events per batch (Dagster reads this variable each time it buffers an event). A range run of
# 1,096 partitions stores its events in 3 transactions per database.
EVENT_BATCH_SIZE = "500"


def enable_event_batches() -> None:
    """Let Dagster buffer a range run's asset events into batches (unless the operator chose a
    size, or 0 to turn batching off)."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with a one-transaction ``store_event_batch`` for asset events."""

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, description="folder of the per-run databases "
                                                            "(Dagster's default: <Dagster home>/history/runs)")}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        run_ids = {e.run_id for e in events}
        fast = len(run_ids) == 1 and all(
            e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS
            and e.dagster_event_type not in ASSET_CHECK_EVENTS
            and e.dagster_event_type not in EVENT_TYPE_TO_PIPELINE_RUN_STATUS for e in events)
        if len(events) < 2 or not fast:
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]  # serialized once, for both databases
        with self.run_connection(events[0].run_id) as conn:  # one transaction, one executemany
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # Mirror into the cross-run index database, as store_event does, in one transaction: the
        # rows in one insert (their ids returned in order), their tags in one call, and each
        # asset's summary row (asset_keys) updated with the last event of each kind only.
        # Applying those in order leaves every column exactly as the one-by-one updates would.
        with self.index_transaction() as conn:
            result = conn.execute(SqlEventLogStorageTable.insert().returning(
                SqlEventLogStorageTable.c.id, sort_by_parameter_order=True), rows)
            event_ids = [row[0] for row in result]
            if len(event_ids) != len(events):
                raise DagsterInvariantViolationError("event batch: the index returned fewer ids than rows")
            self._store_asset_event_tags(conn, events, event_ids)
            last: dict[tuple, int] = {}
            for i, event in enumerate(events):
                last[(event.dagster_event.asset_key, event.dagster_event_type)] = i
            for i in sorted(last.values()):
                self._store_asset_event(conn, events[i], event_ids[i])
