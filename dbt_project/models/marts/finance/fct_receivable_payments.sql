-- Payment-instalment fact (grain invoice × payment number): each instalment with its invoice's
-- terms, the running total paid and what was still open after it. With fct_receivables it
-- answers open amount and days overdue as of any date (macro receivables_as_of).
with payments as (
    select * from {{ ref('int_receivable_payments_cumulated') }}
)

select
    payments.invoice_no,
    payments.payment_no,
    payments.payment_date,
    coalesce(customer.customer_key, {{ unknown_member_key() }})  as customer_key,
    payments.customer_code,
    payments.invoice_date,
    payments.due_date,
    payments.amount_due,
    payments.amount_paid,
    cast(payments.cumulative_amount_paid as {{ amount_type() }})      as cumulative_amount_paid,
    cast(payments.amount_due - payments.cumulative_amount_paid as {{ amount_type() }}) as open_amount_after,
    cast({{ dbt.datediff('payments.due_date', 'payments.payment_date', 'day') }} as integer) as days_after_due,
    payments.payment_date <= payments.due_date                   as is_on_time,
    payments.has_invoice
from payments
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = payments.customer_code
    and payments.invoice_date >= customer.valid_from
    and payments.invoice_date < customer.valid_to
