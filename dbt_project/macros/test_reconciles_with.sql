{#- Generic test: an aggregate of the model equals the same (or another) aggregate of a second
    model, e.g. a mart's lines against its fact's: fails when the two differ by more than
    `tolerance` (a SQL expression over the model's rows, 0 by default) or when only one of them is
    NULL (a sum over no rows: write coalesce(sum(x), 0) against a count(*), so that an empty mart
    of a source the company does not deliver matches its empty fact). Usage on a model:
      data_tests: [{reconciles_with: {arguments: {compare_model: fct_sales_lines,
                    expression: 'sum(invoice_lines)', compare_expression: 'count(*)'}}}]
    The second model is named, not ref'd, on purpose: a test with two parents is an asset check in
    Dagster only if both parents are in the same dbt asset set (dagster-dbt selects tests
    eagerly, and the daily-partitioned facts are a set of their own), while the model under test
    is built after the model it reconciles with anyway (it reads it). The relation is looked up
    in the graph when the test runs, so it is the target's (DuckDB or PostgreSQL). -#}
{% test reconciles_with(model, compare_model, expression, compare_expression=none, compare_where=none, tolerance='0') %}
{%- set ns = namespace(relation=none) %}
{%- if execute %}
  {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot') and node.name == compare_model %}
    {%- set ns.relation = node.relation_name %}
  {%- endfor %}
  {%- if ns.relation is none %}
    {{ exceptions.raise_compiler_error("reconciles_with: no model named " ~ compare_model) }}
  {%- endif %}
{%- endif %}
select tested.value as model_value, compared.value as compared_value
from (select {{ expression }} as value, {{ tolerance }} as tolerance from {{ model }}) as tested
cross join (
    select {{ compare_expression or expression }} as value
    from {{ ns.relation }}
    {%- if compare_where %}
    where {{ compare_where }}
    {%- endif %}
) as compared
where tested.value is distinct from compared.value
  and (tested.value is null or compared.value is null or abs(tested.value - compared.value) > tested.tolerance)
{% endtest %}
