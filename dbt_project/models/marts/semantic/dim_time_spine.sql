-- MetricFlow time spine of the semantic layer (dbt `time_spine:` config in dim_time_spine.yml):
-- one row per calendar day of dim_date, so it spans the company's data and the year after the
-- current one without a dbt edit. MetricFlow joins metrics to it for time-based queries.
select
    cast(date_day as date)  as date_day
from {{ ref('dim_date') }}
