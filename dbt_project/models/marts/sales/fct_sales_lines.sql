-- Invoice-line fact, incremental by invoice date: each run replaces exactly the partition
-- window Dagster passes (vars min_date/max_date), so N incremental runs equal one full build.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_partition_window('invoice_date') }}",
    tags=['partitioned_daily']
) }}

select
    invoice_no,
    line_no,
    invoice_date,
    line_type,
    line_type = 'RETURN'                      as is_return,
    customer_code,
    sku,
    qty,
    unit_price,
    discount_rate,
    net_amount,
    payment_terms,
    branch_code,
    rep_code
from {{ ref('stg_erp__sales_lines') }}
{% if is_incremental() %}
where {{ partition_filter('invoice_date') }}
{% endif %}
