-- Inventory turnover per customer and year (grain customer_code × year_number; the year of
-- the report week's Monday), R5 of shared/domain-rules.md: the yearly KPI for customer
-- evaluation. Turnover ratio = the year's sell-out ÷ average stock (the mean over the
-- customer's reported weeks of its closing stock summed over SKUs); turnover days = the
-- weekly days of inventory of mart_inventory_days weighted by each row's weekly sell-out
-- (rows without sell-out carry no weight). A year covering only part of the calendar (first
-- or last year of history) is not annualised: weeks_reported says how much it holds.
with weekly as (
    select
        customer_code,
        cast(extract(year from week_start) as integer)  as year_number,
        week_start,
        max(customer_name)                              as customer_name,
        sum(closing_qty)                                as closing_qty,
        sum(sell_out_qty)                               as sell_out_qty,
        sum(case when days_of_inventory is not null and sell_out_qty > 0
                 then days_of_inventory * sell_out_qty else 0 end) as weighted_days,
        sum(case when days_of_inventory is not null and sell_out_qty > 0
                 then sell_out_qty else 0 end)          as weighting_sell_out
    from {{ ref('mart_inventory_days') }}
    group by 1, 2, 3
),

yearly as (
    select
        customer_code,
        year_number,
        count(*)                    as weeks_reported,
        min(week_start)             as first_week_start,
        max(week_start)             as last_week_start,
        sum(sell_out_qty)           as sell_out_qty,
        avg(closing_qty)            as average_stock_qty,
        sum(weighted_days)          as weighted_days,
        sum(weighting_sell_out)     as weighting_sell_out
    from weekly
    group by 1, 2
)

select
    cast(yearly.customer_code as {{ dbt.type_string() }})            as customer_code,
    cast(latest.customer_name as {{ dbt.type_string() }})            as customer_name,
    cast(yearly.year_number as integer)                              as year_number,
    cast(weeks_reported as integer)                                  as weeks_reported,
    cast(first_week_start as date)                                   as first_week_start,
    cast(last_week_start as date)                                    as last_week_start,
    cast(yearly.sell_out_qty as numeric(18, 4))                      as sell_out_qty,
    cast(round(yearly.average_stock_qty, 4) as numeric(18, 4))       as average_stock_qty,
    cast(case when yearly.weighting_sell_out > 0
        then round(yearly.weighted_days / yearly.weighting_sell_out, 2) end as numeric(18, 2)) as turnover_days,
    cast(case when yearly.average_stock_qty > 0
        then round(yearly.sell_out_qty / yearly.average_stock_qty, 4) end as numeric(18, 4))  as turnover_ratio
from yearly
left join weekly latest
    on latest.customer_code = yearly.customer_code
    and latest.week_start = yearly.last_week_start
