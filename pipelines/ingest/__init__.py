"""Ingest: landing-zone files into the raw layer of the warehouse (config in sources.yml)."""
