{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'mart_sales_monthly'}}}) }}
-- Every branch shown to BI exists in the organisation master (a warning). Not checked when the
-- company does not deliver the organisation master (company.yml; its branches are inferred).
select distinct m.branch_code
from {{ ref('mart_sales_monthly') }} as m
where m.branch_code is not null
{%- if is_delivered('branches') %}
  and not exists (select 1 from {{ ref('stg_master__branches') }} as b where b.branch_code = m.branch_code)
{%- else %}
  and 1 = 0
{%- endif %}
