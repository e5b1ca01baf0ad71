-- Organisation master (region → branch → territory), one row per territory and extract date:
-- renamed and cast, nothing else.
select
    territory_code,
    territory_name,
    branch_code,
    branch_name,
    region_code,
    region_name,
    extract_date,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _load_id                                  as load_id
from {{ source('master', 'master_branches') }}
where {{ validated_only('master_branches') }}  -- no row of a day that failed its load validation
