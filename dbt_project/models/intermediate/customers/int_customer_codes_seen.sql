-- Customer codes seen in the staging facts (invoice lines, receivables events, stock reports,
-- visits), one row per code: the first and last date it was seen, and the branch and rep most
-- frequent on its invoice lines (ties: the one invoiced last). dim_customer builds an inferred
-- member for a code its master lacks, and extends a customer's first version back to its
-- first fact. Sources the company does not deliver are skipped (var undelivered).
with seen as (
    {{ codes_seen([
        {'relation': ref('stg_erp__sales_lines'), 'code': 'customer_code', 'date': 'invoice_date',
         'delivered': is_delivered('sales_lines')},
        {'relation': ref('stg_erp__receivables'), 'code': 'customer_code', 'date': 'invoice_date',
         'delivered': is_delivered('receivables')},
        {'relation': ref('stg_distributor__stock_reports'), 'code': 'customer_code', 'date': 'report_date',
         'delivered': is_delivered('stock')},
        {'relation': ref('stg_crm__visits'), 'code': 'customer_code', 'date': local_date('check_in_at'),
         'delivered': is_delivered('visits')},
    ]) }}
),

branches as (
    {{ most_frequent(ref('stg_erp__sales_lines'), 'customer_code', 'branch_code', 'invoice_date') }}
),

reps as (
    {{ most_frequent(ref('stg_erp__sales_lines'), 'customer_code', 'rep_code', 'invoice_date') }}
)

select
    seen.code               as customer_code,
    seen.first_seen_date,
    seen.last_seen_date,
    branches.branch_code,
    reps.rep_code
from seen
left join branches
    on branches.customer_code = seen.code
left join reps
    on reps.customer_code = seen.code
