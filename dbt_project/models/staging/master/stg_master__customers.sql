-- Customer file, one row per customer and extract date: renamed and cast, nothing else.
-- The sensitive columns (phone, legal_representative, tax_id, bank_name, bank_account) end
-- here: no intermediate or mart model selects them.
select
    customer_code,
    customer_name,
    channel_type,
    branch_code,
    territory_code,
    rep_code,
    address,
    phone,
    owner_name,
    legal_representative,
    founded_date,
    tax_id,
    bank_name,
    bank_account,
    business_nature,
    business_licence_expiry,
    drug_licence_expiry,
    cast(declared_annual_turnover as {{ amount_type() }}) as declared_annual_turnover,
    payment_terms,
    cast(credit_limit as {{ amount_type() }})             as credit_limit,
    opened_date,
    status                                            as customer_status,
    extract_date,
    _source_file                                      as source_file,
    _source_line                                      as source_line,
    _load_id                                          as load_id
from {{ source('master', 'master_customers') }}
where {{ validated_only('master_customers') }}  -- no row of a day that failed its load validation
