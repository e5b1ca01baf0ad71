-- Sales-rep dimension, type 1: each rep's attributes from the latest extract it appears in
-- (the phone stays in staging), plus inferred members: a rep code on invoice lines, visits or
-- the customer master that the rep master lacks gets a row flagged is_inferred, named by its
-- code, with the branch most frequent on its invoice lines; it disappears once the rep master
-- has the code.
with ranked as (
    select
        reps.*,
        row_number() over (partition by rep_code order by extract_date desc) as recency,
        min(extract_date) over (partition by rep_code)                        as first_extract_date
    from {{ ref('stg_master__reps') }} reps
),

seen as (
    {{ codes_seen([
        {'relation': ref('stg_erp__sales_lines'), 'code': 'rep_code', 'date': 'invoice_date',
         'delivered': is_delivered('sales_lines')},
        {'relation': ref('stg_crm__visits'), 'code': 'rep_code', 'date': local_date('check_in_at'),
         'delivered': is_delivered('visits')},
        {'relation': ref('stg_master__customers'), 'code': 'rep_code', 'date': 'extract_date',
         'delivered': is_delivered('customers')},
    ]) }}
),

invoiced_branches as (
    {{ most_frequent(ref('stg_erp__sales_lines'), 'rep_code', 'branch_code', 'invoice_date') }}
)

select
    ranked.rep_code,
    ranked.rep_name,
    ranked.branch_code,
    ranked.hire_date,
    ranked.rep_status,
    false                                       as is_inferred,
    case
        when seen.first_seen_date < ranked.first_extract_date then seen.first_seen_date
        else ranked.first_extract_date
    end                                         as first_seen_date,
    ranked.extract_date                         as last_seen_date
from ranked
left join seen
    on seen.code = ranked.rep_code
where ranked.recency = 1

union all

select
    seen.code,
    seen.code,
    invoiced_branches.branch_code,
    null,
    null,
    true,
    seen.first_seen_date,
    null
from seen
left join invoiced_branches
    on invoiced_branches.rep_code = seen.code
where not exists (
    select 1 from ranked where ranked.rep_code = seen.code
)
