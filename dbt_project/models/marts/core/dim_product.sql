-- Product dimension, SCD type 2 on standard_cost and list_price (one row per SKU and cost/price
-- version; descriptive attributes type 1) plus the unknown member (product_key '-1',
-- sku 'UNKNOWN') for late-arriving SKUs. As of date d: valid_from <= d < valid_to.
select
    {{ version_key('sku', 'valid_from') }}  as product_key,
    sku,
    version_number,
    valid_from,
    valid_to,
    is_current,
    false                                    as is_unknown_member,
    product_name,
    category,
    brand,
    unit,
    launch_date,
    product_status,
    standard_cost,
    list_price,
    last_seen_date
from {{ ref('int_products_versioned') }}

union all

select
    {{ unknown_member_key() }},
    {{ unknown_member_code() }},
    0,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    true,
    cast('Unknown product' as {{ dbt.type_string() }}),
    null, null, null, null, null,
    null, null,
    null
