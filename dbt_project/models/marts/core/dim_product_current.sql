-- The current version of every product (dim_product where is_current): one row per SKU, so a
-- table carrying sku joins to it without fan-out.
select
    product_key,
    sku,
    is_unknown_member,
    is_inferred,
    product_name,
    category,
    brand,
    unit,
    launch_date,
    product_status,
    standard_cost,
    list_price,
    first_seen_date,
    last_seen_date
from {{ ref('dim_product') }}
where is_current
