-- R6 indicators, customer × rating quarter, strictly point in time: every input is read as of
-- the quarter's last day (rating_date). Master attributes are the dim_customer version in force
-- on that day; sales, stock reports and receivables are facts dated on or before it; payments
-- after it do not count (an invoice still open and past due on the rating date is overdue by
-- the days from its due date to the rating date). Every threshold comes from rules.yml.
{%- set r = 'r6_credit.' %}

with quarters as (
    select * from {{ ref('int_credit_rating_quarters') }}
),

-- customers with a version in force on the rating date (closed accounts are not rated)
customers as (
    select
        q.rating_quarter,
        q.rating_date,
        c.customer_code,
        c.customer_key,
        c.customer_name,
        c.branch_code,
        c.territory_code,
        c.rep_code,
        c.channel_type,
        c.business_nature,
        c.business_licence_expiry,
        c.drug_licence_expiry,
        c.founded_date,
        c.declared_annual_turnover,
        c.payment_terms,
        c.credit_limit
    from quarters q
    inner join {{ ref('dim_customer') }} c
        on c.valid_from <= q.rating_date
        and q.rating_date < c.valid_to
        and not c.is_unknown_member
        and coalesce(c.customer_status, 'ACTIVE') <> 'CLOSED'
),

first_invoice as (
    select customer_code, min(invoice_date) as first_invoice_date
    from {{ ref('fct_sales_lines') }}
    group by customer_code
),

-- K2: mean monthly net purchases over the last N months (net of returns)
sales_recent as (
    select q.rating_quarter, s.customer_code, sum(s.net_amount) as net_amount
    from quarters q
    inner join {{ ref('fct_sales_lines') }} s
        on s.invoice_date <= q.rating_date
        and s.invoice_date > {{ dbt.dateadd('month', -1 * (rule(r ~ 'k2_monthly_sales.months') or 0), 'q.rating_date') }}
    group by q.rating_quarter, s.customer_code
),

-- O5: distinct product categories bought (sale lines) over the trailing N months
categories as (
    select q.rating_quarter, s.customer_code, count(distinct p.category) as category_count
    from quarters q
    inner join {{ ref('fct_sales_lines') }} s
        on s.invoice_date <= q.rating_date
        and s.invoice_date > {{ dbt.dateadd('month', -1 * (rule(r ~ 'o5_product_breadth.months') or 0), 'q.rating_date') }}
        and not s.is_return
    inner join {{ ref('dim_product') }} p
        on p.product_key = s.product_key
    where p.category is not null
    group by q.rating_quarter, s.customer_code
),

-- K4: receivables due in the trailing N months, as of the rating date
receivables as (
    select
        q.rating_quarter,
        r.customer_code,
        r.invoice_no,
        r.amount_due,
        r.due_date,
        r.settled_date,
        r.days_overdue_at_settlement,
        q.rating_date
    from quarters q
    inner join {{ ref('fct_receivables') }} r
        on r.due_date <= q.rating_date
        and r.due_date > {{ dbt.dateadd('month', -1 * (rule(r ~ 'k4_payment_reputation.months') or 0), 'q.rating_date') }}
        and r.invoice_date <= q.rating_date
),

paid_as_of as (
    select
        rec.rating_quarter,
        rec.invoice_no,
        sum(case when p.payment_date <= rec.due_date then p.amount_paid else 0 end) as amount_paid_on_time,
        sum(p.amount_paid)                                                        as amount_paid
    from receivables rec
    inner join {{ ref('fct_receivable_payments') }} p
        on p.invoice_no = rec.invoice_no
        and p.payment_date <= rec.rating_date
    group by rec.rating_quarter, rec.invoice_no
),

reputation as (
    select
        rec.rating_quarter,
        rec.customer_code,
        count(*)                                              as invoices_due,
        sum(rec.amount_due)                                   as amount_due,
        sum(coalesce(pa.amount_paid_on_time, 0))              as amount_paid_on_time,
        max(case
            -- settled on or before the rating date: days late at settlement
            when rec.settled_date is not null and rec.settled_date <= rec.rating_date
                then rec.days_overdue_at_settlement
            -- still open on the rating date: days from due date to rating date
            when rec.amount_due - coalesce(pa.amount_paid, 0) > 0 and rec.rating_date > rec.due_date
                then {{ dbt.datediff('rec.due_date', 'rec.rating_date', 'day') }}
            else 0
        end)                                                  as max_days_overdue
    from receivables rec
    left join paid_as_of pa
        on pa.rating_quarter = rec.rating_quarter
        and pa.invoice_no = rec.invoice_no
    group by rec.rating_quarter, rec.customer_code
),

-- O4: cross-territory sell-out incidents (customer × SKU × week) over the trailing N months
goods_flow as (
    select q.rating_quarter, w.customer_code, count(*) as incidents
    from quarters q
    inner join {{ ref('fct_stock_weekly') }} w
        on w.report_date <= q.rating_date
        and w.report_date > {{ dbt.dateadd('month', -1 * (rule(r ~ 'o4_goods_flow.months') or 0), 'q.rating_date') }}
        and w.is_cross_territory
    group by q.rating_quarter, w.customer_code
),

valued as (
    select
        c.*,
        f.first_invoice_date,
        case when f.first_invoice_date is null or f.first_invoice_date > c.rating_date then null
             else {{ dbt.datediff('f.first_invoice_date', 'c.rating_date', 'day') }} end         as days_since_first_invoice,
        cast(c.declared_annual_turnover as numeric(18, 2))                                     as k1_value,
        cast(round(coalesce(s.net_amount, 0) / {{ rule(r ~ 'k2_monthly_sales.months') }}, 2) as numeric(18, 2)) as k2_value,
        c.payment_terms                                                                        as k3_value,
        case when rep.amount_due > 0
             then cast(round(rep.amount_paid_on_time / rep.amount_due, 4) as numeric(9, 4)) end as k4_on_time_share,
        cast(coalesce(rep.max_days_overdue, 0) as integer)                                     as k4_max_days_overdue,
        cast(coalesce(rep.invoices_due, 0) as integer)                                         as k4_invoices_due,
        c.business_nature                                                                      as o1_value,
        case
            when c.business_licence_expiry is null or c.drug_licence_expiry is null then null
            when c.business_licence_expiry < c.drug_licence_expiry then c.business_licence_expiry
            else c.drug_licence_expiry
        end                                                                                    as o2_value,
        case when c.founded_date is not null and c.founded_date <= c.rating_date
             then cast(floor({{ dbt.datediff('c.founded_date', 'c.rating_date', 'day') }} / 365.25) as integer)
        end                                                                                    as o3_value,
        cast(coalesce(g.incidents, 0) as integer)                                              as o4_value,
        cast(coalesce(cat.category_count, 0) as integer)                                       as o5_value
    from customers c
    left join first_invoice f on f.customer_code = c.customer_code
    left join sales_recent s on s.rating_quarter = c.rating_quarter and s.customer_code = c.customer_code
    left join reputation rep on rep.rating_quarter = c.rating_quarter and rep.customer_code = c.customer_code
    left join goods_flow g on g.rating_quarter = c.rating_quarter and g.customer_code = c.customer_code
    left join categories cat on cat.rating_quarter = c.rating_quarter and cat.customer_code = c.customer_code
),

lettered as (
    select
        valued.*,
        coalesce(days_since_first_invoice, -1) < {{ rule(r ~ 'new_customer_days') }}          as is_new,
        {{ credit_letter_from_min('k1_value', rule(r ~ 'k1_turnover.a_min'), rule(r ~ 'k1_turnover.b_min')) }} as k1_letter,
        {{ credit_letter_from_min('k2_value', rule(r ~ 'k2_monthly_sales.a_min'), rule(r ~ 'k2_monthly_sales.b_min')) }} as k2_letter,
        {{ credit_letter_from_map('k3_value', rule(r ~ 'k3_payment_terms')) }}                 as k3_letter,
        case
            -- no receivable fell due in the window: nothing was paid late
            when k4_on_time_share is null then 'A'
            when k4_on_time_share >= {{ rule(r ~ 'k4_payment_reputation.a_min_on_time_share') }}
             and k4_max_days_overdue <= {{ rule(r ~ 'k4_payment_reputation.a_max_days_overdue') }} then 'A'
            when k4_on_time_share >= {{ rule(r ~ 'k4_payment_reputation.b_min_on_time_share') }}
             and k4_max_days_overdue <= {{ rule(r ~ 'k4_payment_reputation.b_max_days_overdue') }} then 'B'
            else 'C'
        end                                                                                    as k4_letter,
        {{ credit_letter_from_map('o1_value', rule(r ~ 'o1_business_nature')) }}               as o1_letter,
        case
            when o2_value is null or o2_value < rating_date then 'C'
            when o2_value > {{ dbt.dateadd('day', rule(r ~ 'o2_licence_days'), 'rating_date') }} then 'A'
            else 'B'
        end                                                                                    as o2_letter,
        {{ credit_letter_from_min('o3_value', rule(r ~ 'o3_years_in_business.a_min'), rule(r ~ 'o3_years_in_business.b_min')) }} as o3_letter,
        case
            when o4_value <= {{ rule(r ~ 'o4_goods_flow.a_max_incidents') }} then 'A'
            when o4_value <= {{ rule(r ~ 'o4_goods_flow.b_max_incidents') }} then 'B'
            else 'C'
        end                                                                                    as o4_letter,
        {{ credit_letter_from_min('o5_value', rule(r ~ 'o5_product_breadth.a_min_categories'), rule(r ~ 'o5_product_breadth.b_min_categories')) }} as o5_letter
    from valued
)

select
    lettered.*,
    'declared annual turnover ' || coalesce(cast(k1_value as {{ dbt.type_string() }}), 'missing') || ' CNY; A from '
        || '{{ rule(r ~ "k1_turnover.a_min") }}, B from {{ rule(r ~ "k1_turnover.b_min") }}'            as k1_reason,
    'mean monthly net purchases over {{ rule(r ~ "k2_monthly_sales.months") }} months ' || cast(k2_value as {{ dbt.type_string() }})
        || ' CNY; A from {{ rule(r ~ "k2_monthly_sales.a_min") }}, B from {{ rule(r ~ "k2_monthly_sales.b_min") }}' as k2_reason,
    'payment terms ' || coalesce(k3_value, 'missing')                                          as k3_reason,
    case when k4_on_time_share is null
         then 'no receivable due in the last {{ rule(r ~ "k4_payment_reputation.months") }} months'
         else 'on-time share of amount ' || cast(cast(round(k4_on_time_share * 100, 1) as numeric(6, 1)) as {{ dbt.type_string() }})
              || ' %, max days overdue ' || cast(k4_max_days_overdue as {{ dbt.type_string() }})
              || ' over ' || cast(k4_invoices_due as {{ dbt.type_string() }}) || ' invoices due in the last {{ rule(r ~ "k4_payment_reputation.months") }} months'
    end                                                                                        as k4_reason,
    'business nature ' || coalesce(o1_value, 'missing')                                        as o1_reason,
    case when o2_value is null then 'licence expiry missing'
         else 'first licence expiry ' || cast(o2_value as {{ dbt.type_string() }})
              || case when o2_value < rating_date then ' (expired)'
                      when o2_letter = 'B' then ' (within {{ rule(r ~ "o2_licence_days") }} days)'
                      else ' (valid beyond {{ rule(r ~ "o2_licence_days") }} days)' end
    end                                                                                        as o2_reason,
    case when o3_value is null then 'founded date missing'
         else cast(o3_value as {{ dbt.type_string() }}) || ' years in business' end           as o3_reason,
    cast(o4_value as {{ dbt.type_string() }}) || ' cross-territory sell-out incidents in the last {{ rule(r ~ "o4_goods_flow.months") }} months' as o4_reason,
    cast(o5_value as {{ dbt.type_string() }}) || ' product categories bought in the last {{ rule(r ~ "o5_product_breadth.months") }} months' as o5_reason
from lettered
