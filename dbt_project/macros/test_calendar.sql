{#- Generic test on a calendar's date column: it runs without gaps from calendar_first_day()
    (1 January of the year of var first_day) to calendar_last_day() (31 December of next
    year), one row per day. -#}
{% test spans_calendar_range(model, column_name) %}
{%- set first_day = calendar_first_day() %}
{%- set last_day = calendar_last_day(calendar_today()) %}
{%- set n_days = (modules.datetime.date.fromisoformat(last_day) - modules.datetime.date.fromisoformat(first_day)).days + 1 %}
select min_day, max_day, n_rows, n_days
from (
    select
        min({{ column_name }})              as min_day,
        max({{ column_name }})              as max_day,
        count(*)                            as n_rows,
        count(distinct {{ column_name }})   as n_days
    from {{ model }}
) calendar_range
where min_day is null
   or min_day <> cast('{{ first_day }}' as date)
   or max_day <> cast('{{ last_day }}' as date)
   or n_rows <> {{ n_days }}
   or n_days <> {{ n_days }}
{% endtest %}

{#- Generic test on a calendar's year column: every year has its Chinese New Year in the
    `new_years` relation (the chinese_new_year seed), so no year silently lacks its CNY period. -#}
{% test every_year_has_a_new_year(model, column_name, new_years, year_column='year') %}
select distinct calendar.{{ column_name }} as year_without_new_year
from {{ model }} calendar
where not exists (
    select 1 from {{ new_years }} cny
    where cny.{{ year_column }} = calendar.{{ column_name }}
)
{% endtest %}
