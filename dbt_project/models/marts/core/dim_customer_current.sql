-- The current version of every customer (dim_customer where is_current): one row per customer
-- code, so a table carrying customer_code joins to it without fan-out.
select
    customer_key,
    customer_code,
    is_unknown_member,
    is_inferred,
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
    first_seen_date,
    last_seen_date
from {{ ref('dim_customer') }}
where is_current
