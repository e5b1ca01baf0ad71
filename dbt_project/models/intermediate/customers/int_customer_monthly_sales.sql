-- Net sales per customer and calendar month (grain customer × month_start), from the invoice
-- lines (returns reduce them). Lines of customers unknown to the customer file on their date
-- are kept under their natural code.
select
    customer_code,
    cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)   as month_start,
    cast(sum(net_amount) as {{ amount_type() }})                        as net_sales,
    cast(count(*) as bigint)                                       as invoice_lines
from {{ ref('fct_sales_lines') }}
where customer_code is not null
group by 1, 2
