-- depends_on: {{ ref('dim_rep') }}  (its rep_code relationship test runs with this fact, in the fact's own step)
-- Invoice-line fact (sales and returns), incremental by invoice date: each run replaces exactly
-- the partition window Dagster passes (vars min_date/max_date), so N incremental runs over
-- consecutive windows equal one full build. Customer and product are the dimension versions in
-- force on the invoice date (a code its master lacks has an inferred member, and a first
-- version reaches back to the code's earliest fact); a line still without a row on its date
-- gets the unknown member '-1' and keeps its natural code. Cost is the product version's
-- standard cost × qty in the company's amount type (amount_type(): amount_scale decimals, no
-- line-level rounding beyond it); margin = net amount − cost (negative quantities make returns
-- reduce both).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_partition_window('invoice_date') }}",
    tags=['partitioned_daily']
) }}

with lines as (
    select *
    from {{ ref('stg_erp__sales_lines') }}
    where {{ partition_filter('invoice_date') }}
),

costed as (
    select
        lines.*,
        customer.customer_key,
        customer.territory_code,
        product.product_key,
        product.standard_cost,
        cast(lines.qty * product.standard_cost as {{ amount_type() }}) as cost_amount
    from lines
    left join {{ ref('dim_customer') }} customer
        on customer.customer_code = lines.customer_code
        and lines.invoice_date >= customer.valid_from
        and lines.invoice_date < customer.valid_to
    left join {{ ref('dim_product') }} product
        on product.sku = lines.sku
        and lines.invoice_date >= product.valid_from
        and lines.invoice_date < product.valid_to
)

select
    invoice_no,
    line_no,
    invoice_date,
    line_type,
    line_type = 'RETURN'                                         as is_return,
    coalesce(customer_key, {{ unknown_member_key() }})           as customer_key,
    customer_code,
    coalesce(product_key, {{ unknown_member_key() }})            as product_key,
    sku,
    rep_code,
    branch_code,
    territory_code,
    payment_terms,
    qty,
    unit_price,
    discount_rate,
    net_amount,
    standard_cost                                                as unit_standard_cost,
    cost_amount,
    cast(net_amount - cost_amount as {{ amount_type() }})       as margin_amount
from costed
