-- Rating quarters (R6): every calendar quarter from the first quarter with an invoice to the
-- last quarter whose last day the sales data has reached (a quarter is rated once it is over).
-- A company that delivers no sales lines is bounded by its receivables' invoices and payments.
-- rating_date is the quarter's last day: the "as of" date of every indicator.
with bounds as (
    {%- if is_delivered('sales_lines') %}
    select min(invoice_date) as first_invoice_date, max(invoice_date) as last_invoice_date
    from {{ ref('fct_sales_lines') }}
    {%- else %}
    select
        min(invoice_date) as first_invoice_date,
        max(case when last_payment_date > invoice_date then last_payment_date else invoice_date end) as last_invoice_date
    from {{ ref('fct_receivables') }}
    {%- endif %}
)

select
    d.quarter_label                  as rating_quarter,
    d.quarter_start,
    d.date_day                       as rating_date
from {{ ref('dim_date') }} d
cross join bounds
where d.is_quarter_end
  and d.date_day >= bounds.first_invoice_date
  and d.date_day <= bounds.last_invoice_date
