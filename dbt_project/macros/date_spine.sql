{#- One row per day from start_date to end_date inclusive (ISO date strings), column
    `date_day`. Portable: numbers from cross-joined digits, dates from dbt.dateadd. -#}
{% macro date_spine(start_date, end_date) -%}
  {%- set start = modules.datetime.date.fromisoformat(start_date | string) -%}
  {%- set end = modules.datetime.date.fromisoformat(end_date | string) -%}
  {%- set n_days = (end - start).days + 1 -%}
  {%- if n_days < 1 -%}
    {{ exceptions.raise_compiler_error("date_spine: end_date " ~ end ~ " is before start_date " ~ start) }}
  {%- endif -%}
  {%- set n_digits = (n_days - 1) | string | length -%}
with digits as (
    {%- for d in range(10) %}
    select {{ d }} as digit{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

numbers as (
    select
        {%- for p in range(n_digits) %}
        d{{ p }}.digit * {{ 10 ** p }}{% if not loop.last %} +{% endif %}
        {%- endfor %} as day_offset
    from digits d0
    {%- for p in range(1, n_digits) %}
    cross join digits d{{ p }}
    {%- endfor %}
)

select cast({{ dbt.dateadd('day', 'day_offset', "cast('" ~ start ~ "' as date)") }} as date) as date_day
from numbers
where day_offset < {{ n_days }}
{%- endmacro %}
