-- Distributor stock fact at the grain customer × SKU × week (Monday-based): opening, received,
-- sell-out and closing quantities, the territory the sell-out went to, the customer's own
-- territory in force on the report date, and whether the goods left the own territory
-- (goods-flow incidents, R6 O4).
with weekly as (
    select * from {{ ref('int_stock_reports_weekly') }}
)

select
    weekly.week_start,
    cast({{ dbt.dateadd('day', 6, 'weekly.week_start') }} as date)       as week_end,
    weekly.report_date,
    coalesce(customer.customer_key, {{ unknown_member_key() }})         as customer_key,
    weekly.customer_code,
    coalesce(product.product_key, {{ unknown_member_key() }})           as product_key,
    weekly.sku,
    weekly.opening_qty,
    weekly.received_qty,
    weekly.sold_qty                                                     as sell_out_qty,
    weekly.closing_qty,
    weekly.destination_territory_code,
    customer.territory_code                                             as own_territory_code,
    coalesce(
        weekly.destination_territory_code is not null
        and customer.territory_code is not null
        and weekly.destination_territory_code <> customer.territory_code,
        false
    )                                                                   as is_cross_territory,
    weekly.report_count
from weekly
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = weekly.customer_code
    and weekly.report_date >= customer.valid_from
    and weekly.report_date < customer.valid_to
left join {{ ref('dim_product') }} product
    on product.sku = weekly.sku
    and weekly.report_date >= product.valid_from
    and weekly.report_date < product.valid_to
