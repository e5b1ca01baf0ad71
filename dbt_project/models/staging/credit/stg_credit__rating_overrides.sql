-- Credit-rating overrides of the sales director: renamed and cast, nothing else.
select
    customer_code,
    quarter                                   as rating_quarter,
    cast(grade as integer)                    as override_grade,
    reason                                    as override_reason,
    approver,
    approved_date,
    _source_file                              as source_file,
    _source_line                              as source_line,
    _load_id                                  as load_id
from {{ source('credit', 'credit_rating_overrides') }}
where {{ validated_only('credit_rating_overrides') }}  -- no row of a day that failed its load validation
