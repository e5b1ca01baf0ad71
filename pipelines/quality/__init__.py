"""Data quality: Great Expectations suites and runtime, validated on DuckDB."""
