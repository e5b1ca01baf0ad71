-- Distributor stock reports at the grain customer × SKU × Monday-based week. A distributor
-- normally reports once a week; if it reported twice in a week the week's opening stock is the
-- first report's, closing stock and destination the last report's, and received and sold sum.
with reports as (
    select
        stock.*,
        cast({{ dbt.date_trunc('week', 'report_date') }} as date) as week_start
    from {{ ref('stg_distributor__stock_reports') }} stock
),

weeks as (
    select
        customer_code,
        sku,
        week_start,
        min(report_date)    as first_report_date,
        max(report_date)    as last_report_date,
        cast(sum(received_qty) as numeric(18, 4)) as received_qty,
        cast(sum(sold_qty) as numeric(18, 4))     as sold_qty,
        count(*)            as report_count
    from reports
    group by customer_code, sku, week_start
)

select
    weeks.customer_code,
    weeks.sku,
    weeks.week_start,
    weeks.last_report_date                      as report_date,
    first_report.opening_qty,
    weeks.received_qty,
    weeks.sold_qty,
    last_report.closing_qty,
    last_report.destination_territory_code,
    cast(weeks.report_count as integer)         as report_count
from weeks
inner join reports first_report
    on first_report.customer_code = weeks.customer_code
    and first_report.sku = weeks.sku
    and first_report.report_date = weeks.first_report_date
inner join reports last_report
    on last_report.customer_code = weeks.customer_code
    and last_report.sku = weeks.sku
    and last_report.report_date = weeks.last_report_date
