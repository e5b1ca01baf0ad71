"""Distributor data warehouse: Dagster pipelines, ingest, quality, publish, reports."""
