"""dbt transformations (staging → intermediate → marts) as Dagster assets."""
