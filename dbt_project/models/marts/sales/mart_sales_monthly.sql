-- Net sales per branch and calendar month (grain branch × month). BI-facing.
select
    cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)  as month_start,
    branch_code,
    cast(sum(net_amount) as {{ amount_type() }})                       as net_sales,
    cast(sum(case when is_return then -net_amount else 0 end) as {{ amount_type() }}) as returns_amount,
    cast(sum(cost_amount) as {{ amount_type() }})                      as cost_amount,
    cast(sum(margin_amount) as {{ amount_type() }})                    as margin_amount,
    cast(count(*) as bigint)                                      as invoice_lines,
    cast(count(distinct customer_code) as bigint)                 as buying_customers
from {{ ref('fct_sales_lines') }}
group by 1, 2
