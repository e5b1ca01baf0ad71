-- Net sales per branch and calendar month (grain branch × month). BI-facing. The branch name
-- is the organisation master's current one (dim_branch is type 1; an inferred branch is named
-- by its code): one name per branch, from the territory row last seen in the master.
with monthly as (
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
),

branch_names as (  -- dim_branch: one row per branch, its current name
    select branch_code, branch_name from {{ ref('dim_branch') }}
)

select
    monthly.month_start,
    monthly.branch_code,
    cast(branch_names.branch_name as {{ dbt.type_string() }})     as branch_name,
    monthly.net_sales,
    monthly.returns_amount,
    monthly.cost_amount,
    monthly.margin_amount,
    monthly.invoice_lines,
    monthly.buying_customers
from monthly
left join branch_names
    on branch_names.branch_code = monthly.branch_code
