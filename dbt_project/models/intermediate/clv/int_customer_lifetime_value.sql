-- The customer-lifetime-value mart (rule R7), written by the Dagster Python asset
-- marts/mart_customer_lifetime_value (dbt source python_marts), as a dbt model for the semantic
-- layer: a MetricFlow semantic model must reference a dbt model, not a source. A view of the
-- columns the metrics use. When the Python mart does not exist yet (a warehouse built by dbt
-- alone, before the CLV asset ever ran), the view is empty with the same columns; the pipeline
-- rebuilds it after the CLV asset (it is downstream of it).
{%- set clv = source('python_marts', 'mart_customer_lifetime_value') %}
{%- set exists = execute and adapter.get_relation(database=clv.database, schema=clv.schema,
                                                  identifier=clv.identifier) is not none %}
{%- if exists %}
select
    as_of_date,
    customer_code,
    purchase_days,
    historical_net_amount,
    historical_clv,
    p_alive,
    expected_purchases,
    predictive_clv
from {{ clv }}
{%- else %}
select
    cast(null as date)                                        as as_of_date,
    cast(null as {{ dbt.type_string() }})                     as customer_code,
    cast(null as integer)                                     as purchase_days,
    cast(null as {{ amount_type() }})                         as historical_net_amount,
    cast(null as {{ amount_type() }})                         as historical_clv,
    cast(null as {{ dbt.type_float() }})                      as p_alive,
    cast(null as {{ dbt.type_float() }})                      as expected_purchases,
    cast(null as {{ amount_type() }})                         as predictive_clv
where 1 = 0
{%- endif %}
