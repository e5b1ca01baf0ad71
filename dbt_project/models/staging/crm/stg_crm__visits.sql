-- CRM visit log, one row per visit or logged activity: renamed and cast, nothing else.
select
    visit_id,
    rep_code,
    customer_code,
    check_in                                  as check_in_at,
    check_out                                 as check_out_at,
    activity_type,
    notes,
    next_appointment                          as next_appointment_date,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _partition_date                           as partition_date,
    _load_id                                  as load_id
from {{ source('crm', 'visits') }}
where {{ validated_only('visits') }}  -- no row of a day that failed its load validation
