{{ config(meta={'dagster': {'ref': {'name': 'mart_customer_segments'}}}) }}
-- Every customer of the customer file on the latest month end (the dim_customer version in
-- force then, unknown member aside) has a row in the mart.
with last_month_end as (
    select max(month_end) as month_end from {{ ref('mart_customer_segments') }}
),
mart as (
    select count(*) as customers
    from {{ ref('mart_customer_segments') }} as s
    join last_month_end as l on s.month_end = l.month_end
),
dim as (
    select count(*) as customers
    from {{ ref('dim_customer') }} as d
    join last_month_end as l on d.valid_from <= l.month_end and d.valid_to > l.month_end
    where not d.is_unknown_member
)
select mart.customers as mart_customers, dim.customers as dim_customers
from mart cross join dim
where mart.customers <> dim.customers
