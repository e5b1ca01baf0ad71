-- Distributor inventory days per customer, SKU and week (grain customer_code × sku ×
-- week_start), R5 of shared/domain-rules.md with rules.yml r5_inventory: average daily
-- sell-out over the trailing window (the report's week and the weeks before it, window_days
-- days in all; a week without a report counts no sell-out; the divisor is always the window's
-- days), days of inventory = closing ÷ average daily sell-out, its band, the stagnant flag and
-- the suggested order quantity, which deducts the goods invoiced to the customer (SKU, net of
-- returns) after the report date up to and including the next report date (for the latest
-- report: everything invoiced since). The suggested order is kept exact (4 decimals, R5); its
-- whole units to order, rounded up, are beside it (suggested_order_units: a presentation of the
-- same quantity, never less than it). Names beside the codes: the customer's and the product's as
-- of the report date (the dim_customer and dim_product versions in force).
{%- set window_days = rule('r5_inventory.sellout_window_days') or 28 %}
{%- set stagnant_days = rule('r5_inventory.stagnant_no_sellout_days') or 28 %}
{%- set low = rule('r5_inventory.low_days_below') %}
{%- set high = rule('r5_inventory.high_days_above') %}
{%- set target_days = rule('r5_inventory.target_days') %}

with stock as (
    select
        customer_code,
        sku,
        week_start,
        week_end,
        report_date,
        sell_out_qty,
        closing_qty,
        lead(report_date) over (partition by customer_code, sku order by week_start) as next_report_date,
        -- day number of the week, for the trailing windows (RANGE frames over an integer)
        {{ dbt.datediff("cast('1970-01-01' as date)", 'week_start', 'day') }} as week_day_number
    from {{ ref('fct_stock_weekly') }}
),

-- the weeks starting within the window's days up to and including this one (a report's own
-- week is always in it): window frames over the day number, one sorted pass per customer × SKU
trailing_sell_out as (
    select
        customer_code,
        sku,
        week_start,
        sum(sell_out_qty) over (
            partition by customer_code, sku order by week_day_number
            range between {{ window_days - 1 }} preceding and current row
        )                                                              as window_sell_out_qty,
        count(*) over (
            partition by customer_code, sku order by week_day_number
            range between {{ window_days - 1 }} preceding and current row
        )                                                              as window_reports,
        sum(sell_out_qty) over (
            partition by customer_code, sku order by week_day_number
            range between {{ stagnant_days - 1 }} preceding and current row
        )                                                              as stagnant_window_sell_out_qty
    from stock
),

-- each invoice line belongs to the latest report dated strictly before it, i.e. to the report
-- whose (report_date, next_report_date] holds its invoice date: one ordered pass over the lines
-- and reports of each customer × SKU (a line dated on a report date sorts before that report),
-- instead of joining every report to every line of its customer × SKU
invoice_events as (
    select
        lines.customer_code,
        lines.sku,
        lines.invoice_date                                             as event_date,
        0                                                              as event_order,
        cast(null as date)                                             as week_start,
        lines.qty
    from {{ ref('fct_sales_lines') }} lines
    where exists (
        select 1 from stock
        where stock.customer_code = lines.customer_code and stock.sku = lines.sku
    )
    union all
    select customer_code, sku, report_date, 1, week_start, null
    from stock
),

invoice_owners as (
    select
        customer_code,
        sku,
        qty,
        event_order,
        -- week_start grows with report_date within a customer × SKU: the running max is the
        -- week of the latest report at or before this event
        max(week_start) over (
            partition by customer_code, sku order by event_date, event_order
            rows between unbounded preceding and current row
        )                                                              as week_start
    from invoice_events
),

invoiced as (
    select customer_code, sku, week_start, sum(qty) as invoiced_qty
    from invoice_owners
    where event_order = 0 and week_start is not null
    group by 1, 2, 3
),

measured as (
    select
        stock.*,
        trailing_sell_out.window_sell_out_qty,
        trailing_sell_out.window_reports,
        trailing_sell_out.stagnant_window_sell_out_qty,
        cast(trailing_sell_out.window_sell_out_qty as numeric(18, 4)) / {{ window_days }} as avg_daily_sell_out_raw,
        coalesce(invoiced.invoiced_qty, 0)                             as invoiced_since_report_qty
    from stock
    inner join trailing_sell_out
        on trailing_sell_out.customer_code = stock.customer_code
        and trailing_sell_out.sku = stock.sku
        and trailing_sell_out.week_start = stock.week_start
    left join invoiced
        on invoiced.customer_code = stock.customer_code
        and invoiced.sku = stock.sku
        and invoiced.week_start = stock.week_start
),

days as (
    select
        cast(week_start as date)                                          as week_start,
        cast(week_end as date)                                            as week_end,
        cast(report_date as date)                                         as report_date,
        cast(customer_code as {{ dbt.type_string() }})                    as customer_code,
        cast(sku as {{ dbt.type_string() }})                              as sku,
        cast(sell_out_qty as numeric(18, 4))                              as sell_out_qty,
        cast(closing_qty as numeric(18, 4))                               as closing_qty,
        cast(window_sell_out_qty as numeric(18, 4))                       as window_sell_out_qty,
        cast(window_reports as integer)                                   as window_reports,
        cast(round(avg_daily_sell_out_raw, 4) as numeric(18, 4))          as avg_daily_sell_out,
        -- closing × window days ÷ window sell-out (= closing ÷ average daily sell-out); the quotient
        -- is fixed to 10 decimals before rounding, so DuckDB (double) and PostgreSQL (numeric) agree
        cast(case when window_sell_out_qty > 0
            then round(cast(closing_qty * {{ window_days }} / window_sell_out_qty as numeric(28, 10)), 2)
        end as numeric(18, 2))                                            as days_of_inventory,
        -- band compared exactly: closing × window days against the limit × window sell-out
        cast(case
            when window_sell_out_qty > 0 and closing_qty * {{ window_days }} < {{ low }} * window_sell_out_qty then 'low'
            when window_sell_out_qty > 0 and closing_qty * {{ window_days }} > {{ high }} * window_sell_out_qty then 'high'
            when window_sell_out_qty > 0 then 'normal'
            when closing_qty > 0 then 'high'
        end as {{ dbt.type_string() }})                                   as inventory_band,
        coalesce(stagnant_window_sell_out_qty <= 0 and closing_qty > 0, false) as is_stagnant,
        cast(invoiced_since_report_qty as numeric(18, 4))                 as invoiced_since_report_qty,
        cast(round(case
            when {{ target_days }} * avg_daily_sell_out_raw - closing_qty - invoiced_since_report_qty > 0
            then {{ target_days }} * avg_daily_sell_out_raw - closing_qty - invoiced_since_report_qty
            else 0
        end, 4) as numeric(18, 4))                                        as suggested_order_qty
    from measured
)

select
    days.week_start,
    days.week_end,
    days.report_date,
    days.customer_code,
    cast(customer.customer_name as {{ dbt.type_string() }})          as customer_name,
    days.sku,
    cast(product.product_name as {{ dbt.type_string() }})            as product_name,
    days.sell_out_qty,
    days.closing_qty,
    days.window_sell_out_qty,
    days.window_reports,
    days.avg_daily_sell_out,
    days.days_of_inventory,
    days.inventory_band,
    days.is_stagnant,
    days.invoiced_since_report_qty,
    days.suggested_order_qty,
    -- whole units, rounded up (the exact quantity above stays the R5 figure)
    cast(ceil(days.suggested_order_qty) as integer)                  as suggested_order_units
from days
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = days.customer_code
    and days.report_date >= customer.valid_from
    and days.report_date < customer.valid_to
    and not customer.is_unknown_member
left join {{ ref('dim_product') }} product
    on product.sku = days.sku
    and days.report_date >= product.valid_from
    and days.report_date < product.valid_to
    and not product.is_unknown_member
