-- Receivables aging per customer at every month end (grain customer × month): open and overdue
-- amounts as of the month end, computed with macro receivables_as_of. The month still running
-- is taken as of the last event date in the data. The customer's name is the one in force on
-- the as-of date (dim_customer SCD2; an inferred member is named by its code).
with bounds as (
    select
        min(invoice_date)                                                   as first_date,
        max(case when payment_date > invoice_date then payment_date else invoice_date end) as last_date
    from {{ ref('stg_erp__receivables') }}
),

as_of_dates as (
    select
        dates.month_start,
        case when dates.date_day > bounds.last_date then bounds.last_date else dates.date_day end as as_of_date
    from {{ ref('dim_date') }} dates
    cross join bounds
    where dates.is_month_end
      and dates.date_day >= bounds.first_date
      and dates.month_start <= bounds.last_date
),

status as (
    {{ receivables_as_of('as_of_dates') }}
),

aged as (
    select
        as_of_dates.month_start,
        status.as_of_date,
        status.customer_code,
        cast(count(case when status.open_amount > 0 then 1 end) as bigint)                  as open_invoices,
        cast(sum(status.open_amount) as {{ amount_type() }})                                     as open_amount,
        cast(sum(case when status.is_overdue then status.open_amount else 0 end) as {{ amount_type() }}) as overdue_amount,
        cast(max(status.days_overdue) as integer)                                           as max_days_overdue
    from status
    inner join as_of_dates
        on as_of_dates.as_of_date = status.as_of_date
    group by as_of_dates.month_start, status.as_of_date, status.customer_code
)

select
    aged.month_start,
    aged.as_of_date,
    aged.customer_code,
    cast(customer.customer_name as {{ dbt.type_string() }})   as customer_name,
    aged.open_invoices,
    aged.open_amount,
    aged.overdue_amount,
    aged.max_days_overdue
from aged
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = aged.customer_code
    and aged.as_of_date >= customer.valid_from
    and aged.as_of_date < customer.valid_to
    and not customer.is_unknown_member
