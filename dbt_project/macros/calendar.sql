{#- The range of dim_date, from the company settings (no dbt edit to onboard a company):
    from 1 January of the year of var first_day (the first day of the data) to 31 December of
    the year after the current one, so every fact date, due date and next appointment of the
    data falls inside it. Each bound is its own macro so that unit tests can override it
    (overrides: macros: calendar_today: '2024-06-30'). -#}

{#- First day of dim_date: 1 January of the year of var first_day (ISO date string). -#}
{% macro calendar_first_day() -%}
  {%- set first = modules.datetime.date.fromisoformat(var('first_day') | string) -%}
  {{ return(modules.datetime.date(first.year, 1, 1).isoformat()) }}
{%- endmacro %}

{#- Today's date when dbt compiles (ISO date string): the last day of dim_date follows it. -#}
{% macro calendar_today() -%}
  {{ return(modules.datetime.date.today().isoformat()) }}
{%- endmacro %}

{#- Last day of dim_date: 31 December of the year after `today` (ISO date string). -#}
{% macro calendar_last_day(today) -%}
  {%- set day = modules.datetime.date.fromisoformat(today | string) -%}
  {{ return(modules.datetime.date(day.year + 1, 12, 31).isoformat()) }}
{%- endmacro %}
