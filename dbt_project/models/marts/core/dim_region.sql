-- Organisation dimension at the region grain, type 1: one row per region code of the organisation
-- master, named as in its territory row last seen (ties: the first territory code), with its
-- number of branches and territories.
with latest as (
    select
        region_code,
        region_name,
        row_number() over (
            partition by region_code order by last_seen_date desc nulls last, territory_code
        ) as recency
    from {{ ref('dim_territory') }}
    where region_code is not null
),

counts as (
    select
        region_code,
        count(distinct branch_code)     as branches,
        count(*)                        as territories
    from {{ ref('dim_territory') }}
    where region_code is not null
    group by region_code
)

select
    latest.region_code,
    latest.region_name,
    cast(counts.branches as integer)        as branch_count,
    cast(counts.territories as integer)     as territory_count
from latest
join counts on counts.region_code = latest.region_code
where latest.recency = 1
