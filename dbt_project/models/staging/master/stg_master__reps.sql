-- Sales-rep master, one row per rep and extract date: renamed and cast, nothing else.
-- phone is sensitive and ends here.
select
    rep_code,
    rep_name,
    branch_code,
    phone,
    hire_date,
    status                                    as rep_status,
    extract_date,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _load_id                                  as load_id
from {{ source('master', 'master_reps') }}
where {{ validated_only('master_reps') }}  -- no row of a day that failed its load validation
