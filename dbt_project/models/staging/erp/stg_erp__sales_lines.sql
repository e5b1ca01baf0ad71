-- ERP invoice lines: renamed and cast, nothing else.
select
    invoice_no,
    cast(line_no as integer)                  as line_no,
    invoice_date,
    line_type,
    customer_code,
    sku,
    cast(qty as integer)                      as qty,
    cast(unit_price as numeric(18, 4))        as unit_price,
    cast(discount_rate as numeric(9, 4))      as discount_rate,
    cast(net_amount as {{ amount_type() }})        as net_amount,
    payment_terms,
    branch_code,
    rep_code,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _partition_date                           as partition_date,
    _load_id                                  as load_id
from {{ source('erp', 'sales_lines') }}
where {{ validated_only('sales_lines') }}  -- no row of a day that failed its load validation
