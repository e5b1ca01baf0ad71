-- Sales-rep dimension, type 1: each rep's attributes from the latest extract it appears in
-- (the phone stays in staging).
with ranked as (
    select
        reps.*,
        row_number() over (partition by rep_code order by extract_date desc) as recency,
        min(extract_date) over (partition by rep_code)                        as first_seen_date
    from {{ ref('stg_master__reps') }} reps
)

select
    rep_code,
    rep_name,
    branch_code,
    hire_date,
    rep_status,
    first_seen_date,
    extract_date as last_seen_date
from ranked
where recency = 1
