-- Product dimension, SCD type 2 on standard_cost and list_price (one row per SKU and cost/price
-- version; descriptive attributes type 1), plus
--  * inferred members: a SKU seen in the facts (int_product_codes_seen, from staging) that the
--    product master lacks gets one row valid for all time, flagged is_inferred, named as on its
--    latest stock report (else by its SKU), without cost or price; it disappears once the
--    master has the SKU;
--  * the unknown member (product_key '-1', sku 'UNKNOWN').
-- Late-arriving master rows: a SKU's first version starts on its earliest fact when that is
-- before its first extract. The first version and the inferred member share their key (macro
-- member_version_key). As of date d: valid_from <= d < valid_to.
with versions as (
    select
        versions.*,
        min(versions.valid_from) over (partition by versions.sku) as first_extract_date
    from {{ ref('int_products_versioned') }} versions
),

seen as (
    select * from {{ ref('int_product_codes_seen') }}
),

mastered as (
    select
        versions.*,
        case
            when seen.first_seen_date < versions.first_extract_date then seen.first_seen_date
            else versions.first_extract_date
        end as code_first_seen_date
    from versions
    left join seen
        on seen.sku = versions.sku
)

select
    {{ member_version_key('sku', 'version_number', 'valid_from') }} as product_key,
    sku,
    version_number,
    case when version_number = 1 then code_first_seen_date else valid_from end as valid_from,
    valid_to,
    is_current,
    false                                    as is_unknown_member,
    false                                    as is_inferred,
    product_name,
    category,
    brand,
    unit,
    launch_date,
    product_status,
    standard_cost,
    list_price,
    code_first_seen_date                     as first_seen_date,
    last_seen_date
from mastered

union all

select
    {{ member_version_key('seen.sku', '1', far_past_date()) }},
    seen.sku,
    1,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    false,
    true,
    coalesce(seen.reported_product_name, seen.sku),
    null, null, null, null, null,
    null, null,
    seen.first_seen_date,
    null
from seen
where not exists (
    select 1 from versions where versions.sku = seen.sku
)

union all

select
    {{ unknown_member_key() }},
    {{ unknown_member_code() }},
    0,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    true,
    false,
    cast('Unknown product' as {{ dbt.type_string() }}),
    null, null, null, null, null,
    null, null,
    null,
    null
