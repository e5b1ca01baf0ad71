{#- Receivables as of one or more dates, from fct_receivables and fct_receivable_payments.

    `as_of_dates` is SQL for a relation with a column `as_of_date` (a subquery in
    parentheses, or a ref). Returns one row per as_of_date × invoice raised on or before it:
      as_of_date, invoice_no, customer_key, customer_code, invoice_date, due_date, amount_due,
      amount_paid (instalments received on or before as_of_date), open_amount
      (amount_due − amount_paid), is_overdue (open and as_of_date past due_date) and
      days_overdue (days from due_date to as_of_date while open, else 0). Amounts are of the
      company's amount type (macro amount_type: numeric(18, var amount_scale)).

    Examples:
      {{ receivables_as_of("(select cast('2024-06-30' as date) as as_of_date)") }}
      {{ receivables_as_of("(select date_day as as_of_date from " ~ ref('dim_date') ~ " where is_month_end)") }}
-#}
{% macro receivables_as_of(as_of_dates) -%}
select
    d.as_of_date,
    r.invoice_no,
    r.customer_key,
    r.customer_code,
    r.invoice_date,
    r.due_date,
    r.amount_due,
    cast(coalesce(sum(p.amount_paid), 0) as {{ amount_type() }})           as amount_paid,
    cast(r.amount_due - coalesce(sum(p.amount_paid), 0) as {{ amount_type() }}) as open_amount,
    (r.amount_due - coalesce(sum(p.amount_paid), 0) > 0 and d.as_of_date > r.due_date) as is_overdue,
    cast(case
        when r.amount_due - coalesce(sum(p.amount_paid), 0) > 0 and d.as_of_date > r.due_date
            then {{ dbt.datediff('r.due_date', 'd.as_of_date', 'day') }}
        else 0
    end as integer)                                                         as days_overdue
from {{ as_of_dates }} d
inner join {{ ref('fct_receivables') }} r
    on r.invoice_date <= d.as_of_date
left join {{ ref('fct_receivable_payments') }} p
    on p.invoice_no = r.invoice_no
    and p.payment_date <= d.as_of_date
group by
    d.as_of_date, r.invoice_no, r.customer_key, r.customer_code, r.invoice_date, r.due_date, r.amount_due
{%- endmacro %}
