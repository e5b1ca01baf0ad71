{#- The partition window of this run, from the vars Dagster passes (min_date, max_date).
    `partition_filter(column)` is a SQL predicate limiting an incremental model to the window;
    without vars it is `true` (process everything). -#}
{% macro partition_filter(column) -%}
  {%- if var('min_date', none) and var('max_date', none) -%}
    {{ column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{#- Pre-hook of incremental models: delete the window's rows so the insert that follows
    replaces exactly that window (idempotent; N incremental runs = one full refresh). -#}
{% macro delete_partition_window(column) -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ partition_filter(column) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
