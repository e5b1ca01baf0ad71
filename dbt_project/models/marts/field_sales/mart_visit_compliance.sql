-- Visit compliance per rep and month (grain rep_code × month_start), R4 of
-- shared/domain-rules.md against the targets of rules.yml r4_visits: customers under / within /
-- over their band (from mart_visit_compliance_customers), shares of customer visits to A, B and
-- C customers (and to customers without a class), customer visits per working day of the month
-- (dim_date.is_working_day) and the share of logged time in selling activity. Targets are
-- checked exactly (count ≥ target × total, in decimals), not on the rounded shares. Rows: every rep
-- with a logged activity or an assigned customer in a month with visits. The rep's name is the
-- current one (dim_rep is type 1; an inferred rep is named by its code).
{%- set a_target = rule('r4_visits.target_share_visits_a') %}
{%- set b_target = rule('r4_visits.target_share_visits_b') %}
{%- set b_tolerance = rule('r4_visits.target_share_visits_b_tolerance') %}
{%- set per_day = rule('r4_visits.target_visits_per_working_day') or [none, none] %}
{%- set selling_target = rule('r4_visits.target_selling_time_share') %}

with customers as (
    select
        rep_code,
        month_start,
        count(*)                                                       as customers,
        sum(case when is_assigned_customer then 1 else 0 end)          as assigned_customers,
        sum(visits)                                                    as customer_visits,
        sum(case when abc_class = 'A' then visits else 0 end)          as visits_a,
        sum(case when abc_class = 'B' then visits else 0 end)          as visits_b,
        sum(case when abc_class = 'C' then visits else 0 end)          as visits_c,
        sum(case when abc_class is null then visits else 0 end)        as visits_unclassified,
        sum(case when band_status = 'under' then 1 else 0 end)         as customers_under_band,
        sum(case when band_status = 'within' then 1 else 0 end)        as customers_within_band,
        sum(case when band_status = 'over' then 1 else 0 end)          as customers_over_band
    from {{ ref('mart_visit_compliance_customers') }}
    group by 1, 2
),

activity as (
    select
        rep_code,
        cast({{ dbt.date_trunc('month', 'visit_date') }} as date)     as month_start,
        sum(coalesce(duration_minutes, 0))                             as logged_minutes,
        sum(case when activity_type = 'selling' then coalesce(duration_minutes, 0) else 0 end) as selling_minutes
    from {{ ref('fct_visits') }}
    where rep_code is not null
    group by 1, 2
),

months as (
    select distinct month_start from customers
),

working_days as (
    select dates.month_start, sum(case when dates.is_working_day then 1 else 0 end) as working_days
    from {{ ref('dim_date') }} dates
    inner join months on months.month_start = dates.month_start
    group by 1
),

reps as (
    select rep_code, month_start from customers
    union
    select activity.rep_code, activity.month_start
    from activity inner join months on months.month_start = activity.month_start
),

measured as (
    select
        reps.rep_code,
        reps.month_start,
        coalesce(customers.customers, 0)                   as customers,
        coalesce(customers.assigned_customers, 0)          as assigned_customers,
        coalesce(customers.customers_under_band, 0)        as customers_under_band,
        coalesce(customers.customers_within_band, 0)       as customers_within_band,
        coalesce(customers.customers_over_band, 0)         as customers_over_band,
        coalesce(customers.customer_visits, 0)             as customer_visits,
        coalesce(customers.visits_a, 0)                    as visits_a,
        coalesce(customers.visits_b, 0)                    as visits_b,
        coalesce(customers.visits_c, 0)                    as visits_c,
        coalesce(customers.visits_unclassified, 0)         as visits_unclassified,
        working_days.working_days,
        coalesce(activity.logged_minutes, 0)               as logged_minutes,
        coalesce(activity.selling_minutes, 0)              as selling_minutes
    from reps
    left join customers on customers.rep_code = reps.rep_code and customers.month_start = reps.month_start
    left join activity on activity.rep_code = reps.rep_code and activity.month_start = reps.month_start
    left join working_days on working_days.month_start = reps.month_start
),

ratios as (
    select
        measured.*,
        case when customer_visits > 0 then cast(visits_a as numeric(18, 6)) / customer_visits end as share_a,
        case when customer_visits > 0 then cast(visits_b as numeric(18, 6)) / customer_visits end as share_b,
        case when customer_visits > 0 then cast(visits_c as numeric(18, 6)) / customer_visits end as share_c,
        case when customer_visits > 0 then cast(visits_unclassified as numeric(18, 6)) / customer_visits end as share_unclassified,
        case when working_days > 0 then cast(customer_visits as numeric(18, 6)) / working_days end as per_day,
        case when logged_minutes > 0 then cast(selling_minutes as numeric(18, 6)) / logged_minutes end as selling_share
    from measured
)

select
    cast(ratios.month_start as date)                                 as month_start,
    cast(ratios.rep_code as {{ dbt.type_string() }})                 as rep_code,
    cast(rep.rep_name as {{ dbt.type_string() }})                    as rep_name,
    cast(customers as integer)                                       as customers,
    cast(assigned_customers as integer)                              as assigned_customers,
    cast(customers_under_band as integer)                            as customers_under_band,
    cast(customers_within_band as integer)                           as customers_within_band,
    cast(customers_over_band as integer)                             as customers_over_band,
    cast(customer_visits as integer)                                 as customer_visits,
    cast(visits_a as integer)                                        as visits_a,
    cast(visits_b as integer)                                        as visits_b,
    cast(visits_c as integer)                                        as visits_c,
    cast(visits_unclassified as integer)                             as visits_unclassified,
    cast(round(share_a, 6) as numeric(9, 6))                         as share_visits_a,
    cast(round(share_b, 6) as numeric(9, 6))                         as share_visits_b,
    cast(round(share_c, 6) as numeric(9, 6))                         as share_visits_c,
    cast(round(share_unclassified, 6) as numeric(9, 6))              as share_visits_unclassified,
    cast({{ a_target }} as numeric(9, 6))                            as target_share_visits_a,
    case when customer_visits > 0 then visits_a >= {{ a_target }} * customer_visits end as meets_target_share_visits_a,
    cast({{ b_target }} as numeric(9, 6))                            as target_share_visits_b,
    case when customer_visits > 0
        then visits_b >= ({{ b_target }} - {{ b_tolerance }}) * customer_visits
         and visits_b <= ({{ b_target }} + {{ b_tolerance }}) * customer_visits
    end                                                              as meets_target_share_visits_b,
    cast(working_days as integer)                                    as working_days,
    cast(round(per_day, 4) as numeric(9, 4))                         as visits_per_working_day,
    cast({{ per_day[0] }} as numeric(9, 4))                          as target_visits_per_working_day_min,
    cast({{ per_day[1] }} as numeric(9, 4))                          as target_visits_per_working_day_max,
    case when working_days > 0
        then customer_visits >= {{ per_day[0] }} * working_days and customer_visits <= {{ per_day[1] }} * working_days
    end                                                              as meets_target_visits_per_working_day,
    cast(logged_minutes as numeric(18, 2))                           as logged_minutes,
    cast(selling_minutes as numeric(18, 2))                          as selling_minutes,
    cast(round(selling_share, 6) as numeric(9, 6))                   as selling_time_share,
    cast({{ selling_target }} as numeric(9, 6))                      as target_selling_time_share,
    case when logged_minutes > 0 then selling_minutes >= {{ selling_target }} * logged_minutes end as meets_target_selling_time_share
from ratios
left join {{ ref('dim_rep') }} rep
    on rep.rep_code = ratios.rep_code
