-- Receivables fact at the invoice grain: what was invoiced, when it was due, and how it was
-- paid (instalments aggregated). settled_date is the payment date on which the instalments
-- reached the amount due, so "open / overdue as of date d" is answerable: an invoice is open
-- on d if invoice_date <= d and (settled_date is null or settled_date > d), and overdue by
-- d − due_date days if also d > due_date. The open amount as of d needs the instalments:
-- see macro receivables_as_of and fct_receivable_payments.
with invoices as (
    select invoice_no, customer_code, invoice_date, due_date, amount_due
    from {{ ref('stg_erp__receivables') }}
    where record_type = 'INVOICE'
),

payments as (
    select * from {{ ref('int_receivable_payments_cumulated') }}
),

paid as (
    select
        invoice_no,
        count(*)                                                         as payment_count,
        sum(amount_paid)                                                 as amount_paid,
        sum(case when payment_date <= due_date then amount_paid else 0 end) as amount_paid_on_time,
        min(payment_date)                                                as first_payment_date,
        max(payment_date)                                                as last_payment_date,
        min(case when cumulative_amount_paid >= amount_due then payment_date end) as settled_date
    from payments
    group by invoice_no
)

select
    invoices.invoice_no,
    coalesce(customer.customer_key, {{ unknown_member_key() }})            as customer_key,
    invoices.customer_code,
    invoices.invoice_date,
    invoices.due_date,
    cast({{ dbt.datediff('invoices.invoice_date', 'invoices.due_date', 'day') }} as integer) as credit_days,
    invoices.amount_due,
    cast(coalesce(paid.payment_count, 0) as integer)                      as payment_count,
    cast(coalesce(paid.amount_paid, 0) as {{ amount_type() }})                 as amount_paid,
    cast(coalesce(paid.amount_paid_on_time, 0) as {{ amount_type() }})         as amount_paid_on_time,
    cast(invoices.amount_due - coalesce(paid.amount_paid, 0) as {{ amount_type() }}) as open_amount,
    paid.first_payment_date,
    paid.last_payment_date,
    paid.settled_date,
    paid.settled_date is not null                                         as is_settled,
    cast(case
        when paid.settled_date is null then null
        when paid.settled_date > invoices.due_date
            then {{ dbt.datediff('invoices.due_date', 'paid.settled_date', 'day') }}
        else 0
    end as integer)                                                       as days_overdue_at_settlement
from invoices
left join paid
    on paid.invoice_no = invoices.invoice_no
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = invoices.customer_code
    and invoices.invoice_date >= customer.valid_from
    and invoices.invoice_date < customer.valid_to
