-- Organisation dimension at the territory grain (region → branch → territory), type 1: each
-- territory as in the latest extract it appears in.
with ranked as (
    select
        branches.*,
        row_number() over (partition by territory_code order by extract_date desc) as recency
    from {{ ref('stg_master__branches') }} branches
)

select
    territory_code,
    territory_name,
    branch_code,
    branch_name,
    region_code,
    region_name,
    extract_date as last_seen_date
from ranked
where recency = 1
