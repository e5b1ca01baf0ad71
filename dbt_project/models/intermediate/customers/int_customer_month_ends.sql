-- Every customer of dim_customer as of every month end (grain customer × month_end): the
-- customer file's customers and the inferred members (codes seen in the facts that the file
-- lacks, e.g. a company without a customer master), with its attributes as of that day
-- (dim_customer SCD2: valid_from <= month_end < valid_to)
-- and its net sales over the trailing months of R1 (rules.yml r1_abc.trailing_months; the
-- month itself and the months before it). The month ends run from the month of the first
-- invoice to the month of the last one. Input of the customer segmentation (R1–R3).
with bounds as (
    select
        cast({{ dbt.date_trunc('month', 'min(invoice_date)') }} as date) as first_month,
        max(invoice_date)                                                 as last_invoice_date
    from {{ ref('fct_sales_lines') }}
),

month_ends as (
    select dates.month_start, dates.month_end
    from {{ ref('dim_date') }} dates
    cross join bounds
    where dates.is_month_end
      and dates.month_start >= bounds.first_month
      and dates.month_start <= bounds.last_invoice_date
),

customers as (
    select
        month_ends.month_start,
        month_ends.month_end,
        customer.customer_code,
        customer.customer_key,
        customer.channel_type,
        customer.branch_code,
        customer.rep_code,
        customer.customer_status,
        customer.opened_date,
        customer.declared_annual_turnover
    from month_ends
    inner join {{ ref('dim_customer') }} customer
        on month_ends.month_end >= customer.valid_from
        and month_ends.month_end < customer.valid_to
        and not customer.is_unknown_member
),

trailing_sales as (
    select
        customers.customer_code,
        customers.month_end,
        sum(sales.net_sales)      as net_sales,
        sum(sales.invoice_lines)  as invoice_lines
    from customers
    inner join {{ ref('int_customer_monthly_sales') }} sales
        on sales.customer_code = customers.customer_code
        and sales.month_start <= customers.month_start
        and sales.month_start > cast({{ dbt.dateadd('month', -1 * (rule('r1_abc.trailing_months') or 0), 'customers.month_start') }} as date)
    group by 1, 2
)

select
    customers.*,
    cast(coalesce(trailing_sales.net_sales, 0) as {{ amount_type() }})   as trailing_net_sales,
    cast(coalesce(trailing_sales.invoice_lines, 0) as bigint)       as trailing_invoice_lines
from customers
left join trailing_sales
    on trailing_sales.customer_code = customers.customer_code
    and trailing_sales.month_end = customers.month_end
