-- Organisation dimension at the branch grain (分支机构), type 1: one row per branch code, the one
-- a table carrying branch_code joins to without fan-out. Name and region are those of the branch's
-- territory row last seen in the organisation master (dim_territory; ties: the first territory
-- code); an inferred branch (seen on invoice lines or in the customer or rep master only) is named
-- by its code, region unknown.
with ranked as (
    select
        territories.*,
        row_number() over (
            partition by branch_code order by last_seen_date desc nulls last, territory_code
        )                                                                                   as recency,
        count(*) filter (where not is_inferred) over (partition by branch_code)             as territories,
        min(first_seen_date) over (partition by branch_code)                                as first_seen,
        max(last_seen_date) over (partition by branch_code)                                 as last_seen
    from {{ ref('dim_territory') }} territories
)

select
    branch_code,
    branch_name,
    region_code,
    region_name,
    cast(territories as integer)    as territory_count,
    is_inferred,
    first_seen                      as first_seen_date,
    last_seen                       as last_seen_date
from ranked
where recency = 1
