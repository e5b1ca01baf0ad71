-- Organisation dimension at the territory grain (region → branch → territory; dim_branch and
-- dim_region are the coarser grains), type 1: each
-- territory as in the latest extract it appears in, plus inferred members: a branch code on
-- invoice lines, the customer master or the rep master that the organisation master lacks (no
-- branches file, or a branch not yet in it) gets one row flagged is_inferred, at the grain of
-- a territory whose code is the branch code (the branch is its own only territory), named by
-- its code, region unknown; it disappears once the organisation master has the branch.
with ranked as (
    select
        branches.*,
        row_number() over (partition by territory_code order by extract_date desc) as recency,
        min(extract_date) over (partition by territory_code)                        as first_extract_date
    from {{ ref('stg_master__branches') }} branches
),

seen as (
    {{ codes_seen([
        {'relation': ref('stg_erp__sales_lines'), 'code': 'branch_code', 'date': 'invoice_date',
         'delivered': is_delivered('sales_lines')},
        {'relation': ref('stg_master__customers'), 'code': 'branch_code', 'date': 'extract_date',
         'delivered': is_delivered('customers')},
        {'relation': ref('stg_master__reps'), 'code': 'branch_code', 'date': 'extract_date',
         'delivered': is_delivered('reps')},
    ]) }}
)

select
    territory_code,
    territory_name,
    branch_code,
    branch_name,
    region_code,
    region_name,
    false                   as is_inferred,
    first_extract_date      as first_seen_date,
    extract_date            as last_seen_date
from ranked
where recency = 1

union all

select
    seen.code,
    null,
    seen.code,
    seen.code,
    null,
    null,
    true,
    seen.first_seen_date,
    null
from seen
where not exists (
    select 1 from ranked where ranked.branch_code = seen.code
)
