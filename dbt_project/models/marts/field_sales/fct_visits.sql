-- depends_on: {{ ref('dim_rep') }}  (its rep_code relationship test runs with this fact, in the fact's own step)
-- Visit fact (grain: one visit or other logged activity of a rep), incremental by visit date =
-- the check-in's calendar date in China Standard Time. Duration in minutes from check-in to
-- check-out. The customer is the dim_customer version in force on the visit date; an
-- activity without a customer (travel, organisation, personal) has no customer key, a visit
-- to a customer without a row on the visit date gets the unknown member '-1' (codes the
-- customer master lacks have inferred members, so this is a fallback).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_partition_window('visit_date') }}",
    tags=['partitioned_daily']
) }}

with visits as (
    select
        visits.*,
        {{ local_date('check_in_at') }}           as visit_date,
        {{ local_timestamp('check_in_at') }}      as check_in_local,
        {{ local_timestamp('check_out_at') }}     as check_out_local
    from {{ ref('stg_crm__visits') }} visits
),

windowed as (
    select * from visits
    where {{ partition_filter('visit_date') }}
)

select
    windowed.visit_id,
    windowed.visit_date,
    windowed.rep_code,
    case
        when windowed.customer_code is null then null
        else coalesce(customer.customer_key, {{ unknown_member_key() }})
    end                                                                  as customer_key,
    windowed.customer_code,
    customer.territory_code,
    windowed.activity_type,
    windowed.activity_type = 'selling' and windowed.customer_code is not null as is_customer_visit,
    windowed.check_in_at,
    windowed.check_out_at,
    windowed.check_in_local,
    windowed.check_out_local,
    cast({{ dbt.datediff('windowed.check_in_local', 'windowed.check_out_local', 'second') }} / 60.0
        as numeric(9, 2))                                                as duration_minutes,
    windowed.next_appointment_date
from windowed
left join {{ ref('dim_customer') }} customer
    on customer.customer_code = windowed.customer_code
    and windowed.visit_date >= customer.valid_from
    and windowed.visit_date < customer.valid_to
