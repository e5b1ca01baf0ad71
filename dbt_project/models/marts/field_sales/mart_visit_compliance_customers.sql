-- Visit compliance per rep, customer and month (grain rep_code × customer_code × month_start),
-- R4 of shared/domain-rules.md: the customer's visits by the rep in the month against the
-- monthly band of its ABC class (rules.yml r4_visits.monthly_visit_band). The rows are the
-- customers assigned to the rep on the month end (dim_customer) and every other customer the
-- rep visited. The class is the one in force during the month: per channel type (R1) as of the
-- previous month end, or as of the month's own end for a customer not classified then (its
-- first month, or the first month of history). Customers without a class on either date
-- (unknown to the customer file) have no band. Names beside the codes: the customer's as of the
-- month end (the dim_customer version in force), the rep's current one (dim_rep is type 1).
{%- set bands = rule('r4_visits.monthly_visit_band') or {} %}

with visit_counts as (
    select
        rep_code,
        customer_code,
        cast({{ dbt.date_trunc('month', 'visit_date') }} as date)   as month_start,
        count(*)                                                      as visits
    from {{ ref('fct_visits') }}
    where is_customer_visit
    group by 1, 2, 3
),

months as (
    select distinct month_start from visit_counts
),

assigned as (
    select segments.rep_code, segments.customer_code, segments.month_start
    from {{ ref('mart_customer_segments') }} segments
    inner join months on months.month_start = segments.month_start
    where segments.rep_code is not null
),

pairs as (
    select rep_code, customer_code, month_start from visit_counts
    union
    select rep_code, customer_code, month_start from assigned
),

classified as (
    select
        pairs.rep_code,
        pairs.customer_code,
        pairs.month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'pairs.month_start')) }} as date) as month_end,
        assigned.customer_code is not null                             as is_assigned_customer,
        coalesce(visit_counts.visits, 0)                               as visits,
        coalesce(previous.abc_class, current_month.abc_class)          as abc_class,
        case
            when previous.abc_class is not null then previous.month_end
            when current_month.abc_class is not null then current_month.month_end
        end                                                            as abc_class_as_of
    from pairs
    left join visit_counts
        on visit_counts.rep_code = pairs.rep_code
        and visit_counts.customer_code = pairs.customer_code
        and visit_counts.month_start = pairs.month_start
    left join assigned
        on assigned.rep_code = pairs.rep_code
        and assigned.customer_code = pairs.customer_code
        and assigned.month_start = pairs.month_start
    left join {{ ref('mart_customer_segments') }} previous
        on previous.customer_code = pairs.customer_code
        and previous.month_start = cast({{ dbt.dateadd('month', -1, 'pairs.month_start') }} as date)
    left join {{ ref('mart_customer_segments') }} current_month
        on current_month.customer_code = pairs.customer_code
        and current_month.month_start = pairs.month_start
),

banded as (
    select
        classified.*,
        case abc_class
        {%- for cls, band in bands.items() %}
            when '{{ cls }}' then {{ band[0] }}
        {%- endfor %}
        end as band_min_visits,
        case abc_class
        {%- for cls, band in bands.items() %}
            when '{{ cls }}' then {{ band[1] }}
        {%- endfor %}
        end as band_max_visits
    from classified
)

select
    cast(banded.month_start as date)                                as month_start,
    cast(banded.month_end as date)                                  as month_end,
    cast(banded.rep_code as {{ dbt.type_string() }})                as rep_code,
    cast(rep.rep_name as {{ dbt.type_string() }})                   as rep_name,
    cast(banded.customer_code as {{ dbt.type_string() }})           as customer_code,
    cast(customer.customer_name as {{ dbt.type_string() }})         as customer_name,
    is_assigned_customer,
    cast(abc_class as {{ dbt.type_string() }})                      as abc_class,
    cast(abc_class_as_of as date)                                   as abc_class_as_of,
    cast(visits as integer)                                         as visits,
    cast(band_min_visits as integer)                                as band_min_visits,
    cast(band_max_visits as integer)                                as band_max_visits,
    cast(case
        when band_min_visits is null then null
        when visits < band_min_visits then 'under'
        when visits > band_max_visits then 'over'
        else 'within'
    end as {{ dbt.type_string() }})                                 as band_status
from banded
left join {{ ref('dim_rep') }} rep
    on rep.rep_code = banded.rep_code
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = banded.customer_code
    and banded.month_end >= customer.valid_from
    and banded.month_end < customer.valid_to
    and not customer.is_unknown_member
