-- R6 indicators, customer × rating quarter, strictly point in time: every input is read as of
-- the quarter's last day (rating_date). Master attributes are the dim_customer version in force
-- on that day; sales, stock reports and receivables are facts dated on or before it; payments
-- after it do not count (an invoice still open and past due on the rating date is overdue by
-- the days from its due date to the rating date). Every threshold comes from rules.yml.
--
-- Missing data: an indicator whose source (or source column) the company does not deliver
-- (var undelivered, company.yml) is *not available*: value and letter null, the reason names
-- what is missing; int_credit_grades then computes no grade (rating_status INCOMPLETE). A customer
-- with no receivable due in the K4 window has no payment record yet: K4 is B.
--
-- Quarters computed: those of the run's partition window and the one before it (macro
-- credit_rating_window: the mart's change against the previous quarter), every quarter without
-- the vars. Each quarter reads only data dated on or before its own rating date, so which other
-- quarters are computed with it never changes its rows.
{%- set r = 'r6_credit.' %}
{%- set missing = {
    'k1': credit_undelivered(['customers.declared_annual_turnover']),
    'k2': credit_undelivered(['sales_lines']),
    'k3': credit_undelivered(['customers.payment_terms']),
    'k4': credit_undelivered(['receivables']),
    'o1': credit_undelivered(['customers.business_nature']),
    'o2': credit_undelivered(['customers.business_licence_expiry', 'customers.drug_licence_expiry'], all_of=true),
    'o3': credit_undelivered(['customers.founded_date']),
    'o4': credit_undelivered(['stock', 'stock.destination_territory']),
    'o5': credit_undelivered(['sales_lines', 'products.category']),
} %}
{#- na.<indicator>: the reason of an indicator that is not available ('' when it is) -#}
{%- set na = {} %}
{%- for key, names in missing.items() %}
  {%- do na.update({key: ('not available: ' ~ names | join(', ') ~ ' not delivered') if names else ''}) %}
{%- endfor %}
{#- O2 reads the licences that are delivered (both, one, or none: not available) -#}
{%- set lic = namespace(cols=[], missing=[]) %}
{%- for col in ['business_licence_expiry', 'drug_licence_expiry'] %}
  {%- if is_delivered('customers.' ~ col) %}{% set lic.cols = lic.cols + [col] %}{% else %}{% set lic.missing = lic.missing + ['customers.' ~ col] %}{% endif %}
{%- endfor %}
{%- set currency = var('currency', 'CNY') %}
{%- set scale = var('amount_scale', 2) | int %}
{%- set text = dbt.type_string() %}

with quarters as (
    select * from {{ ref('int_credit_rating_quarters') }}
    where {{ credit_rating_window('rating_date') }}
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

-- first invoice: from the sales lines, or from the receivables for a company that delivers no
-- sales lines (its invoices are still invoices)
first_invoice as (
    select customer_code, min(invoice_date) as first_invoice_date
    {%- if is_delivered('sales_lines') %}
    from {{ ref('fct_sales_lines') }}
    {%- else %}
    from {{ ref('fct_receivables') }}
    {%- endif %}
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
        {%- if na.k1 %}
        cast(null as {{ amount_type() }})                                                      as k1_value,
        {%- else %}
        cast(c.declared_annual_turnover as {{ amount_type() }})                                as k1_value,
        {%- endif %}
        {%- if na.k2 %}
        cast(null as {{ amount_type() }})                                                      as k2_value,
        {%- else %}
        cast(round(coalesce(s.net_amount, 0) / {{ rule(r ~ 'k2_monthly_sales.months') }}, {{ scale }}) as {{ amount_type() }}) as k2_value,
        {%- endif %}
        {%- if na.k3 %}
        cast(null as {{ text }})                                                               as k3_value,
        {%- else %}
        c.payment_terms                                                                        as k3_value,
        {%- endif %}
        {%- if na.k4 %}
        cast(null as numeric(9, 4))                                                            as k4_on_time_share,
        cast(null as integer)                                                                  as k4_max_days_overdue,
        cast(null as integer)                                                                  as k4_invoices_due,
        {%- else %}
        case when rep.amount_due > 0
             then cast(round(rep.amount_paid_on_time / rep.amount_due, 4) as numeric(9, 4)) end as k4_on_time_share,
        cast(coalesce(rep.max_days_overdue, 0) as integer)                                     as k4_max_days_overdue,
        cast(coalesce(rep.invoices_due, 0) as integer)                                         as k4_invoices_due,
        {%- endif %}
        {%- if na.o1 %}
        cast(null as {{ text }})                                                               as o1_value,
        {%- else %}
        c.business_nature                                                                      as o1_value,
        {%- endif %}
        {%- if na.o2 %}
        cast(null as date)                                                                     as o2_value,
        {%- elif lic.cols | length == 1 %}
        c.{{ lic.cols[0] }}                                                                    as o2_value,
        {%- else %}
        case
            when c.business_licence_expiry is null or c.drug_licence_expiry is null then null
            when c.business_licence_expiry < c.drug_licence_expiry then c.business_licence_expiry
            else c.drug_licence_expiry
        end                                                                                    as o2_value,
        {%- endif %}
        {%- if na.o3 %}
        cast(null as integer)                                                                  as o3_value,
        {%- else %}
        case when c.founded_date is not null and c.founded_date <= c.rating_date
             then cast(floor({{ dbt.datediff('c.founded_date', 'c.rating_date', 'day') }} / 365.25) as integer)
        end                                                                                    as o3_value,
        {%- endif %}
        {%- if na.o4 %}
        cast(null as integer)                                                                  as o4_value,
        {%- else %}
        cast(coalesce(g.incidents, 0) as integer)                                              as o4_value,
        {%- endif %}
        {%- if na.o5 %}
        cast(null as integer)                                                                  as o5_value
        {%- else %}
        cast(coalesce(cat.category_count, 0) as integer)                                       as o5_value
        {%- endif %}
    from customers c
    left join first_invoice f on f.customer_code = c.customer_code
    left join sales_recent s on s.rating_quarter = c.rating_quarter and s.customer_code = c.customer_code
    left join reputation rep on rep.rating_quarter = c.rating_quarter and rep.customer_code = c.customer_code
    left join goods_flow g on g.rating_quarter = c.rating_quarter and g.customer_code = c.customer_code
    left join categories cat on cat.rating_quarter = c.rating_quarter and cat.customer_code = c.customer_code
),

{#- the letter of an indicator that is not available -#}
{%- set no_letter = 'cast(null as ' ~ text ~ ')' %}

lettered as (
    select
        valued.*,
        coalesce(days_since_first_invoice, -1) < {{ rule(r ~ 'new_customer_days') }}          as is_new,
        {{ no_letter if na.k1 else credit_letter_from_min('k1_value', rule(r ~ 'k1_turnover.a_min'), rule(r ~ 'k1_turnover.b_min')) }} as k1_letter,
        {{ no_letter if na.k2 else credit_letter_from_min('k2_value', rule(r ~ 'k2_monthly_sales.a_min'), rule(r ~ 'k2_monthly_sales.b_min')) }} as k2_letter,
        {{ no_letter if na.k3 else credit_letter_from_map('k3_value', rule(r ~ 'k3_payment_terms')) }} as k3_letter,
        {%- if na.k4 %}
        {{ no_letter }}                                                                        as k4_letter,
        {%- else %}
        case
            -- no receivable fell due in the window: no payment record yet
            when k4_on_time_share is null then 'B'
            when k4_on_time_share >= {{ rule(r ~ 'k4_payment_reputation.a_min_on_time_share') }}
             and k4_max_days_overdue <= {{ rule(r ~ 'k4_payment_reputation.a_max_days_overdue') }} then 'A'
            when k4_on_time_share >= {{ rule(r ~ 'k4_payment_reputation.b_min_on_time_share') }}
             and k4_max_days_overdue <= {{ rule(r ~ 'k4_payment_reputation.b_max_days_overdue') }} then 'B'
            else 'C'
        end                                                                                    as k4_letter,
        {%- endif %}
        {{ no_letter if na.o1 else credit_letter_from_map('o1_value', rule(r ~ 'o1_business_nature')) }} as o1_letter,
        {%- if na.o2 %}
        {{ no_letter }}                                                                        as o2_letter,
        {%- else %}
        case
            when o2_value is null or o2_value < rating_date then 'C'
            when o2_value > {{ dbt.dateadd('day', rule(r ~ 'o2_licence_days'), 'rating_date') }} then 'A'
            else 'B'
        end                                                                                    as o2_letter,
        {%- endif %}
        {{ no_letter if na.o3 else credit_letter_from_min('o3_value', rule(r ~ 'o3_years_in_business.a_min'), rule(r ~ 'o3_years_in_business.b_min')) }} as o3_letter,
        {%- if na.o4 %}
        {{ no_letter }}                                                                        as o4_letter,
        {%- else %}
        case
            when o4_value <= {{ rule(r ~ 'o4_goods_flow.a_max_incidents') }} then 'A'
            when o4_value <= {{ rule(r ~ 'o4_goods_flow.b_max_incidents') }} then 'B'
            else 'C'
        end                                                                                    as o4_letter,
        {%- endif %}
        {{ no_letter if na.o5 else credit_letter_from_min('o5_value', rule(r ~ 'o5_product_breadth.a_min_categories'), rule(r ~ 'o5_product_breadth.b_min_categories')) }} as o5_letter
    from valued
)

select
    lettered.*,
    {%- if na.k1 %}
    '{{ na.k1 | replace("'", "''") }}'                                                                      as k1_reason,
    {%- else %}
    'declared annual turnover ' || coalesce(cast(k1_value as {{ text }}), 'missing') || ' {{ currency }}; A from '
        || '{{ rule(r ~ "k1_turnover.a_min") }}, B from {{ rule(r ~ "k1_turnover.b_min") }}'            as k1_reason,
    {%- endif %}
    {%- if na.k2 %}
    '{{ na.k2 | replace("'", "''") }}'                                                                      as k2_reason,
    {%- else %}
    'mean monthly net purchases over {{ rule(r ~ "k2_monthly_sales.months") }} months ' || cast(k2_value as {{ text }})
        || ' {{ currency }}; A from {{ rule(r ~ "k2_monthly_sales.a_min") }}, B from {{ rule(r ~ "k2_monthly_sales.b_min") }}' as k2_reason,
    {%- endif %}
    {%- if na.k3 %}
    '{{ na.k3 | replace("'", "''") }}'                                                                      as k3_reason,
    {%- else %}
    'payment terms ' || coalesce(k3_value, 'missing')                                          as k3_reason,
    {%- endif %}
    {%- if na.k4 %}
    '{{ na.k4 | replace("'", "''") }}'                                                                      as k4_reason,
    {%- else %}
    case when k4_invoices_due = 0
         then 'no payment record yet: no receivable due in the last {{ rule(r ~ "k4_payment_reputation.months") }} months'
         when k4_on_time_share is null
         then 'no payment record yet: the ' || cast(k4_invoices_due as {{ text }})
              || ' invoices due in the last {{ rule(r ~ "k4_payment_reputation.months") }} months have no amount due'
         else 'on-time share of amount ' || cast(cast(round(k4_on_time_share * 100, 1) as numeric(6, 1)) as {{ text }})
              || ' %, max days overdue ' || cast(k4_max_days_overdue as {{ text }})
              || ' over ' || cast(k4_invoices_due as {{ text }}) || ' invoices due in the last {{ rule(r ~ "k4_payment_reputation.months") }} months'
    end                                                                                        as k4_reason,
    {%- endif %}
    {%- if na.o1 %}
    '{{ na.o1 | replace("'", "''") }}'                                                                      as o1_reason,
    {%- else %}
    'business nature ' || coalesce(o1_value, 'missing')                                        as o1_reason,
    {%- endif %}
    {%- if na.o2 %}
    '{{ na.o2 | replace("'", "''") }}'                                                                      as o2_reason,
    {%- else %}
    case when o2_value is null then 'licence expiry missing'
         else 'first licence expiry ' || cast(o2_value as {{ text }})
              || case when o2_value < rating_date then ' (expired)'
                      when o2_letter = 'B' then ' (within {{ rule(r ~ "o2_licence_days") }} days)'
                      else ' (valid beyond {{ rule(r ~ "o2_licence_days") }} days)' end
    end
    {%- if lic.missing %} || '; {{ lic.missing | join(", ") }} not delivered'{% endif %}        as o2_reason,
    {%- endif %}
    {%- if na.o3 %}
    '{{ na.o3 | replace("'", "''") }}'                                                                      as o3_reason,
    {%- else %}
    case when o3_value is null then 'founded date missing'
         else cast(o3_value as {{ text }}) || ' years in business' end                         as o3_reason,
    {%- endif %}
    {%- if na.o4 %}
    '{{ na.o4 | replace("'", "''") }}'                                                                      as o4_reason,
    {%- else %}
    cast(o4_value as {{ text }}) || ' cross-territory sell-out incidents in the last {{ rule(r ~ "o4_goods_flow.months") }} months' as o4_reason,
    {%- endif %}
    {%- if na.o5 %}
    '{{ na.o5 | replace("'", "''") }}'                                                                      as o5_reason,
    {%- else %}
    cast(o5_value as {{ text }}) || ' product categories bought in the last {{ rule(r ~ "o5_product_breadth.months") }} months' as o5_reason,
    {%- endif %}
    {%- set ns = namespace(items=[]) %}
    {%- for key in ['k1', 'k2', 'k3', 'k4', 'o1', 'o2', 'o3', 'o4', 'o5'] %}
      {%- if missing[key] %}{% set ns.items = ns.items + [key | upper ~ ' ' ~ missing[key] | join(', ')] %}{% endif %}
    {%- endfor %}
    {%- if ns.items %}
    '{{ ns.items | join("; ") | replace("'", "''") }}'                                          as not_available
    {%- else %}
    cast(null as {{ text }})                                                                   as not_available
    {%- endif %}
from lettered
