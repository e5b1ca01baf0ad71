-- Distributor stock reports, one row per distributor × SKU × report date: renamed and cast.
select
    customer_code,
    sku,
    product_name,
    cast(opening_qty as numeric(18, 4))       as opening_qty,
    cast(received_qty as numeric(18, 4))      as received_qty,
    cast(sold_qty as numeric(18, 4))          as sold_qty,
    cast(closing_qty as numeric(18, 4))       as closing_qty,
    report_date,
    destination_territory                     as destination_territory_code,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _partition_date                           as partition_date,
    _load_id                                  as load_id
from {{ source('distributor', 'stock_reports') }}
where {{ validated_only('stock_reports') }}  -- no row of a day that failed its load validation
