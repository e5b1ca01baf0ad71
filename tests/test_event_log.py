"""The batched Dagster event log (pipelines/event_log.py) on the repo's dagster.yaml: a range run
stores its asset events in batches, and the instance reads back exactly what Dagster's own
SQLite storage would hold (one planned and one materialization event per partition, with
metadata, tags and partition status)."""

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.cli import prepare_instance
from pipelines.event_log import BatchedSqliteEventLogStorage, enable_event_batches

PARTS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


@dg.asset(partitions_def=PARTS, backfill_policy=dg.BackfillPolicy.single_run())
def ranged(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions_in_run": len(context.partition_keys)})


def test_range_run_events_are_stored_in_batches_and_read_back(dwh_home, monkeypatch):
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    enable_event_batches()
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "25")  # several batches, the last one partial
    prepare_instance()  # the repo's dagster.yaml in the test's Dagster home
    keys = PARTS.get_partition_keys()  # 60 days
    job = dg.define_asset_job("ranged_job", [ranged]).resolve(
        asset_graph=dg.Definitions(assets=[ranged]).resolve_asset_graph())
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, BatchedSqliteEventLogStorage)
        batches, singles = [], []
        real_batch, real_single = storage.store_event_batch, storage.store_event
        monkeypatch.setattr(storage, "store_event_batch", lambda evs: (batches.append(len(evs)), real_batch(evs)))
        monkeypatch.setattr(storage, "store_event", lambda ev: (singles.append(ev.dagster_event_type), real_single(ev)))

        result = job.execute_in_process(instance=instance, tags={ASSET_PARTITION_RANGE_START_TAG: keys[0],
                                                                 ASSET_PARTITION_RANGE_END_TAG: keys[-1]})
        assert result.success
        # 60 planned + 60 materialization events, in batches of at most 25
        assert sum(batches) == 2 * len(keys) and max(batches) == 25
        assert dg.DagsterEventType.ASSET_MATERIALIZATION not in singles

        records = instance.fetch_materializations(dg.AssetKey("ranged"), limit=1000).records
        assert sorted(r.partition_key for r in records) == keys
        assert {r.asset_materialization.metadata["partitions_in_run"].value for r in records} == {len(keys)}
        assert instance.get_materialized_partitions(dg.AssetKey("ranged")) == set(keys)
        planned = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
                                               limit=1000).records
        assert len(planned) == len(keys)
        # the cross-run index answers asset queries (the UI's and the sensors' view); the asset's
        # summary row points at the run and at its last event, as one-by-one storage leaves it
        latest = instance.get_latest_materialization_event(dg.AssetKey("ranged"))
        assert latest is not None and latest.run_id == result.run_id
        entry = instance.get_asset_records([dg.AssetKey("ranged")])[0].asset_entry
        assert entry.last_run_id == result.run_id
        assert entry.last_materialization_record.event_log_entry.dagster_event.partition == keys[-1]
        assert entry.last_materialization_record.storage_id == max(r.storage_id for r in records)
