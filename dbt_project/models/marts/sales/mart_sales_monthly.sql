-- Net sales per branch and month: the first BI-facing mart of the walking skeleton.
select
    cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)  as month_start,
    branch_code,
    cast(sum(net_amount) as numeric(18, 2))                       as net_sales,
    cast(sum(case when is_return then -net_amount else 0 end) as numeric(18, 2)) as returns_amount,
    cast(count(*) as bigint)                                      as invoice_lines,
    cast(count(distinct customer_code) as bigint)                 as buying_customers
from {{ ref('fct_sales_lines') }}
group by 1, 2
