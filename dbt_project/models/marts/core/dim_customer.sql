-- Customer dimension, SCD type 2 (one row per customer version) plus the unknown member
-- (customer_key '-1', customer_code 'UNKNOWN') that facts use for late-arriving customers.
-- As of date d: valid_from <= d < valid_to. Sensitive columns are never selected.
select
    {{ version_key('customer_code', 'valid_from') }}  as customer_key,
    customer_code,
    version_number,
    valid_from,
    valid_to,
    is_current,
    false                                               as is_unknown_member,
    customer_name,
    channel_type,
    branch_code,
    territory_code,
    rep_code,
    address,
    owner_name,
    founded_date,
    opened_date,
    customer_status,
    business_nature,
    business_licence_expiry,
    drug_licence_expiry,
    declared_annual_turnover,
    payment_terms,
    credit_limit,
    last_seen_date
from {{ ref('int_customers_versioned') }}

union all

select
    {{ unknown_member_key() }},
    {{ unknown_member_code() }},
    0,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    true,
    cast('Unknown customer' as {{ dbt.type_string() }}),
    null, null, null, null, null, null,
    null, null, null, null, null, null,
    null, null, null,
    null
