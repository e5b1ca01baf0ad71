{#- Generic test: the column holds only canonical values of a source enumeration (var enums:
    pipelines/ingest/sources.yml `enums` plus the company's additions in company.yml), so a
    company that adds a channel type or a payment term needs no dbt edit. Nulls pass (use
    not_null for them). Usage: data_tests: [{accepted_enum: {arguments: {enum: channel_type}}}]. -#}
{% test accepted_enum(model, column_name, enum) %}
{%- set values = enum_values(enum) if execute else [] %}
select {{ column_name }} as value_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
{%- if values %}
  and cast({{ column_name }} as {{ dbt.type_string() }}) not in (
    {%- for v in values %}'{{ v | string | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
  )
{%- endif %}
group by {{ column_name }}
{% endtest %}
