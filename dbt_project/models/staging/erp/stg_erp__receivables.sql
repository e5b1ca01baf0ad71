-- ERP receivables events (INVOICE raised / PAYMENT instalment): renamed and cast, nothing else.
select
    record_type,
    invoice_no,
    customer_code,
    invoice_date,
    due_date,
    cast(amount_due as {{ amount_type() }})        as amount_due,
    payment_date,
    cast(amount_paid as {{ amount_type() }})       as amount_paid,
    cast(payment_no as integer)               as payment_no,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _partition_date                           as partition_date,
    _load_id                                  as load_id
from {{ source('erp', 'receivables') }}
where {{ validated_only('receivables') }}  -- no row of a day that failed its load validation
