{#- Generic test: the model has at least one row ("a published mart is never empty"), unless the
    company does not deliver a source the model cannot do without: the model's meta
    requires_sources (the one place that says it, also read by Dagster) names a source in var
    undelivered, and such a model is rightly empty (macro is_delivered). Usage on a model:
    data_tests: [not_empty]. -#}
{% test not_empty(model) %}
{%- set ns = namespace(missing=[]) %}
{%- if execute %}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == model.identifier %}
    {%- set meta = (node.config.meta if node.config.meta else node.meta) or {} %}
    {%- for source_name in meta.get('requires_sources', []) if not is_delivered(source_name) %}
      {%- set ns.missing = ns.missing + [source_name] %}
    {%- endfor %}
  {%- endfor %}
{%- endif %}
select n_rows
from (select count(*) as n_rows from {{ model }}) counted
where n_rows = 0
{%- if ns.missing %}
  and 1 = 0  -- not delivered by this company (company.yml): {{ ns.missing | join(', ') }}
{%- endif %}
{% endtest %}
