{#- The partition window of this run, from the vars Dagster passes (min_date, max_date).
    `partition_filter(column)` is a SQL predicate limiting a daily-incremental model to the
    window; without vars, or on an explicit --full-refresh, it is `true` (everything).
    The filter also applies when the table is first created, so a first run over a window
    holds exactly that window and N runs over consecutive windows equal one full build. -#}
{% macro partition_filter(column) -%}
  {%- if var('min_date', none) and var('max_date', none) and not flags.FULL_REFRESH -%}
    {{ column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{#- Pre-hook of incremental models: delete the window's rows so the insert that follows
    replaces exactly that window (idempotent: re-running a window gives the same table). -#}
{% macro delete_partition_window(column) -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ partition_filter(column) }}
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
