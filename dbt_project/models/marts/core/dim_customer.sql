-- Customer dimension, SCD type 2 (one row per customer version), plus
--  * inferred members: a customer code seen in the facts (int_customer_codes_seen, from
--    staging) that the customer master lacks gets one row valid for all time, flagged
--    is_inferred, named by its code, channel OTHER, with the branch and rep most frequent on
--    its invoice lines; it disappears once the master has the code;
--  * the unknown member (customer_key '-1', customer_code 'UNKNOWN').
-- Late-arriving master rows: a customer's first version starts on its earliest fact when that
-- is before its first extract, so those facts join the real customer instead of '-1'. The
-- first version and the inferred member share their key (macro member_version_key), so facts
-- already loaded keep their key when the master row arrives or the first version moves back.
-- As of date d: valid_from <= d < valid_to. Sensitive columns are never selected.
with versions as (
    select
        versions.*,
        min(versions.valid_from) over (partition by versions.customer_code) as first_extract_date
    from {{ ref('int_customers_versioned') }} versions
),

seen as (
    select * from {{ ref('int_customer_codes_seen') }}
),

mastered as (
    select
        versions.*,
        case
            when seen.first_seen_date < versions.first_extract_date then seen.first_seen_date
            else versions.first_extract_date
        end as code_first_seen_date
    from versions
    left join seen
        on seen.customer_code = versions.customer_code
)

select
    {{ member_version_key('customer_code', 'version_number', 'valid_from') }} as customer_key,
    customer_code,
    version_number,
    case when version_number = 1 then code_first_seen_date else valid_from end as valid_from,
    valid_to,
    is_current,
    false                                               as is_unknown_member,
    false                                               as is_inferred,
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
    code_first_seen_date                                as first_seen_date,
    last_seen_date
from mastered

union all

select
    {{ member_version_key('seen.customer_code', '1', far_past_date()) }},
    seen.customer_code,
    1,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    false,
    true,
    seen.customer_code,
    cast('OTHER' as {{ dbt.type_string() }}),
    seen.branch_code,
    null,
    seen.rep_code,
    null, null, null, null, null,
    null, null, null, null, null,
    null,
    seen.first_seen_date,
    null
from seen
where not exists (
    select 1 from versions where versions.customer_code = seen.customer_code
)

union all

select
    {{ unknown_member_key() }},
    {{ unknown_member_code() }},
    0,
    {{ far_past_date() }},
    {{ far_future_date() }},
    true,
    true,
    false,
    cast('Unknown customer' as {{ dbt.type_string() }}),
    null, null, null, null, null, null,
    null, null, null, null, null, null,
    null, null, null,
    null,
    null
