{#- Business time: every date of the warehouse is a calendar date in China Standard Time
    (var `business_timezone`, default Asia/Shanghai). -#}

{#- A timestamp with time zone as the local wall-clock timestamp (without time zone). -#}
{% macro local_timestamp(column) -%}
  {{ return(adapter.dispatch('local_timestamp')(column)) }}
{%- endmacro %}

{% macro default__local_timestamp(column) -%}
  ({{ column }} at time zone '{{ var("business_timezone") }}')
{%- endmacro %}

{#- The local calendar date of a timestamp with time zone. -#}
{% macro local_date(column) -%}
  cast({{ local_timestamp(column) }} as date)
{%- endmacro %}
