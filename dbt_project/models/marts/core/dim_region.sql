-- Organisation dimension at the region grain, type 1: one row per region code of the organisation
-- master, named as in its territory row last seen (ties: the first territory code), with its
-- number of branches and territories.
with ranked as (
    select
        territories.*,
        row_number() over (
            partition by region_code order by last_seen_date desc nulls last, territory_code
        )                                                                   as recency,
        count(distinct branch_code) over (partition by region_code)         as branches,
        count(*) over (partition by region_code)                            as territories
    from {{ ref('dim_territory') }} territories
    where region_code is not null
)

select
    region_code,
    region_name,
    cast(branches as integer)       as branch_count,
    cast(territories as integer)    as territory_count
from ranked
where recency = 1
