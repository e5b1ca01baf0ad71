-- Quarterly credit rating (R6), customer × quarter: every indicator's value, letter and reason,
-- the computed grade, the sales director's override (accepted rows of the overrides file),
-- the final grade, the credit score, the change against the previous quarter's final grade,
-- and the recommended credit limit and action (rules.yml grade_actions).
-- rating_status (int_credit_grades): NEW, INCOMPLETE (an indicator is not available because the
-- company does not deliver its source: no computed grade or score; not_available says what is
-- missing) or RATED. An override still sets the final grade of a NEW or INCOMPLETE row.
-- Incremental by quarter: a run of the quarterly dbt asset (pipelines/transform/assets.py,
-- dbt_credit_models) passes its partition window as the vars min_date/max_date (first day of its
-- first quarter, last day of its last); the pre-hook deletes the window's quarters and the run
-- appends them again, so re-running a quarter replaces exactly its rows, and N runs over
-- quarters equal one full build (without the vars, or with --full-refresh, every quarter is
-- computed). Point in time: each quarter reads only data dated on or before its last day
-- (int_credit_indicators), so a backfilled old quarter equals the rating computed then. The
-- previous quarter is computed along (not written) for the change against it.
-- Names beside the codes, point in time like every attribute of the rating: the customer's is the
-- dim_customer version in force on the rating date (int_credit_indicators); the rep's and the
-- branch's are those of the latest rep-master and organisation-master extract dated on or before
-- the rating date (dim_rep and dim_branch are type 1, so they cannot say what a name was then); a
-- code those masters did not hold by then is named by its code, as their inferred members are.
-- on_schema_change='append_new_columns': a warehouse rated before a column was added gains it,
-- empty on the quarters rated before (re-rating a quarter fills it: python -m pipelines
-- credit-rating --quarters ...); a column removed or retyped still fails the run (contract).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_partition_window('rating_date') }}"
) }}
{%- set actions = rule('r6_credit.grade_actions') or {} %}
{%- set scale = var('amount_scale', 2) | int %}

with grades as (
    select * from {{ ref('int_credit_grades') }}
),

-- The accepted rows of the overrides file; rejected rows are in raw.quarantine and fail the
-- blocking check overrides_accepted of raw/credit_rating_overrides (pipelines/credit/assets.py),
-- which keeps the run from building this mart.
overrides as (
    select customer_code, rating_quarter, override_grade, override_reason, approver, approved_date
    from {{ ref('stg_credit__rating_overrides') }}
),

rated as (
    select
        grades.*,
        overrides.override_grade,
        overrides.override_reason,
        overrides.approver                                          as override_approver,
        overrides.approved_date                                     as override_approved_date,
        coalesce(overrides.override_grade, grades.computed_grade)   as final_grade
    from grades
    left join overrides
        on overrides.customer_code = grades.customer_code
        and overrides.rating_quarter = grades.rating_quarter
),

with_previous as (
    select
        rated.*,
        lag(rating_quarter) over (partition by customer_code order by rating_date) as previous_quarter_rated,
        lag(final_grade) over (partition by customer_code order by rating_date)    as previous_final_grade_any,
        lag(rating_date) over (partition by customer_code order by rating_date)    as previous_rating_date
    from rated
),

-- the run's quarters only (the quarter before the window was computed for the change against it)
in_window as (
    select *
    from (
        select with_previous.*, quarter_start as quarter_start_of_rating
        from with_previous
        inner join {{ ref('int_credit_rating_quarters') }} q using (rating_quarter)
    ) x
    where {{ partition_filter('rating_date') }}
),

-- the rep's name in the latest rep-master extract dated on or before the rating date
rep_names as (
    select rating_date, rep_code, rep_name
    from (
        select
            needed.rating_date,
            needed.rep_code,
            reps.rep_name,
            row_number() over (
                partition by needed.rating_date, needed.rep_code order by reps.extract_date desc
            ) as recency
        from (select distinct rating_date, rep_code from in_window where rep_code is not null) needed
        inner join {{ ref('stg_master__reps') }} reps
            on reps.rep_code = needed.rep_code
            and reps.extract_date <= needed.rating_date
    ) ranked
    where recency = 1
),

-- the branch's name in the latest organisation-master extract dated on or before the rating date
branch_names as (
    select rating_date, branch_code, branch_name
    from (
        select
            needed.rating_date,
            needed.branch_code,
            branches.branch_name,
            row_number() over (
                partition by needed.rating_date, needed.branch_code
                order by branches.extract_date desc, branches.territory_code
            ) as recency
        from (select distinct rating_date, branch_code from in_window where branch_code is not null) needed
        inner join {{ ref('stg_master__branches') }} branches
            on branches.branch_code = needed.branch_code
            and branches.extract_date <= needed.rating_date
    ) ranked
    where recency = 1
),

named as (
    select
        in_window.*,
        case when rep_names.rep_code is null then in_window.rep_code
             else rep_names.rep_name end                            as rep_name,
        case when branch_names.branch_code is null then in_window.branch_code
             else branch_names.branch_name end                      as branch_name
    from in_window
    left join rep_names
        on rep_names.rating_date = in_window.rating_date
        and rep_names.rep_code = in_window.rep_code
    left join branch_names
        on branch_names.rating_date = in_window.rating_date
        and branch_names.branch_code = in_window.branch_code
)

select
    cast(rating_quarter as {{ dbt.type_string() }})               as rating_quarter,
    rating_date,
    customer_code,
    customer_key,
    customer_name,
    branch_code,
    cast(branch_name as {{ dbt.type_string() }})                  as branch_name,
    territory_code,
    rep_code,
    cast(rep_name as {{ dbt.type_string() }})                     as rep_name,
    channel_type,
    cast(rating_status as {{ dbt.type_string() }})                as rating_status,
    not_available,
    first_invoice_date,
    cast(days_since_first_invoice as integer)                     as days_since_first_invoice,
    k1_value, k1_letter, k1_reason,
    k2_value, k2_letter, k2_reason,
    k3_value, k3_letter, k3_reason,
    k4_on_time_share, k4_max_days_overdue, k4_letter, k4_reason,
    o1_value, o1_letter, o1_reason,
    o2_value, o2_letter, o2_reason,
    o3_value, o3_letter, o3_reason,
    o4_value, o4_letter, o4_reason,
    o5_value, o5_letter, o5_reason,
    cast(computed_grade as integer)                               as computed_grade,
    cast(override_grade as integer)                               as override_grade,
    override_reason,
    override_approver,
    override_approved_date,
    cast(final_grade as integer)                                  as final_grade,
    credit_score,
    -- previous quarter = the calendar quarter just before (a gap in the customer's ratings is no previous)
    cast(case when previous_rating_date = cast({{ dbt.dateadd('day', -1, 'quarter_start_of_rating') }} as date)
              then previous_final_grade_any end as integer)       as previous_final_grade,
    case
        when final_grade is null then 'new'
        when previous_rating_date <> cast({{ dbt.dateadd('day', -1, 'quarter_start_of_rating') }} as date)
          or previous_rating_date is null
          or previous_final_grade_any is null then 'new'
        when final_grade < previous_final_grade_any then 'up'
        when final_grade > previous_final_grade_any then 'down'
        else 'same'
    end                                                           as grade_change,
    cast(credit_limit as {{ amount_type() }})                     as current_credit_limit,
    {%- if is_delivered('customers.credit_limit') %}
    case
        {%- for grade, a in actions.items() %}
        when final_grade = {{ grade }} then cast(round(coalesce(credit_limit, 0) * (1 + {{ a['limit_change'] }}), {{ scale }}) as {{ amount_type() }})
        {%- endfor %}
    end                                                           as recommended_credit_limit,
    {%- else %}
    -- the company's customer master has no credit limit: nothing to scale
    cast(null as {{ amount_type() }})                             as recommended_credit_limit,
    {%- endif %}
    case
        {%- for grade, a in actions.items() %}
        when final_grade = {{ grade }} then cast({{ a['limit_change'] }} as numeric(5, 2))
        {%- endfor %}
    end                                                           as limit_change,
    case
        {%- for grade, a in actions.items() %}
        when final_grade = {{ grade }} then '{{ a["action"] | replace("'", "''") }}'
        {%- endfor %}
    end                                                           as credit_action
from named x
