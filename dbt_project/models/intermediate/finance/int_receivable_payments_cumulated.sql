-- Payment instalments with their invoice's terms and the running total paid on the invoice.
with invoices as (
    select invoice_no, customer_code, invoice_date, due_date, amount_due
    from {{ ref('stg_erp__receivables') }}
    where record_type = 'INVOICE'
),

payments as (
    select invoice_no, payment_no, payment_date, amount_paid, customer_code, invoice_date
    from {{ ref('stg_erp__receivables') }}
    where record_type = 'PAYMENT'
)

select
    payments.invoice_no,
    payments.payment_no,
    payments.payment_date,
    payments.amount_paid,
    coalesce(invoices.customer_code, payments.customer_code)   as customer_code,
    coalesce(invoices.invoice_date, payments.invoice_date)     as invoice_date,
    invoices.due_date,
    invoices.amount_due,
    invoices.invoice_no is not null                             as has_invoice,
    sum(payments.amount_paid) over (
        partition by payments.invoice_no
        order by payments.payment_date, payments.payment_no
        rows between unbounded preceding and current row
    )                                                           as cumulative_amount_paid
from payments
left join invoices
    on invoices.invoice_no = payments.invoice_no
