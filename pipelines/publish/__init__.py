"""Publish: copy validated BI-facing marts into the serving database, swapped in atomically."""
