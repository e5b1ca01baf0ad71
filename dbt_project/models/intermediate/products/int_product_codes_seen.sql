-- SKUs seen in the staging facts (invoice lines, stock reports), one row per SKU: the first
-- and last date it was seen and the product name the distributors wrote on their latest stock
-- report of it. dim_product builds an inferred member for a SKU its master lacks, and extends a
-- SKU's first version back to its first fact. Sources the company does not deliver are
-- skipped (var undelivered).
with seen as (
    {{ codes_seen([
        {'relation': ref('stg_erp__sales_lines'), 'code': 'sku', 'date': 'invoice_date',
         'delivered': is_delivered('sales_lines')},
        {'relation': ref('stg_distributor__stock_reports'), 'code': 'sku', 'date': 'report_date',
         'delivered': is_delivered('stock')},
    ]) }}
),

reported_names as (
    select
        sku,
        product_name,
        row_number() over (partition by sku order by report_date desc, product_name) as recency
    from {{ ref('stg_distributor__stock_reports') }}
    where sku is not null and product_name is not null
)

select
    seen.code                       as sku,
    seen.first_seen_date,
    seen.last_seen_date,
    reported_names.product_name     as reported_product_name
from seen
left join reported_names
    on reported_names.sku = seen.code
    and reported_names.recency = 1
