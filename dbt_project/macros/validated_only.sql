{#- Validated data only: a predicate that leaves out the rows of raw partitions whose latest
    validation failed a critical (blocking) Great Expectations expectation — the view
    quality.partition_status the raw-load checks keep (pipelines/quality/checks.py). Every
    staging model applies it, so a failed day never reaches a model, however many later days
    are built, until it is delivered again and passes. Where that view does not exist (before
    any validation; a warehouse on another engine fed a copy of the raw layer) nothing is left
    out. -#}
{% macro validated_only(raw_table) -%}
  {%- set status = adapter.get_relation(database=target.database, schema='quality', identifier='partition_status') if execute else none -%}
  {%- if status is not none -%}
    _partition_date not in (
        select partition_date from {{ status }} where asset = 'raw/{{ raw_table }}' and not valid)
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}
