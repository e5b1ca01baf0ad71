-- Product master, one row per SKU and extract date: renamed and cast, nothing else.
select
    sku,
    product_name,
    category,
    brand,
    unit,
    cast(list_price as numeric(18, 4))        as list_price,
    cast(standard_cost as numeric(18, 4))     as standard_cost,
    launch_date,
    status                                    as product_status,
    extract_date,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _load_id                                  as load_id
from {{ source('master', 'master_products') }}
where {{ validated_only('master_products') }}  -- no row of a day that failed its load validation
