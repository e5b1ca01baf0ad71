{#- Generic tests on a date column that must be the first (is_first_day_of_month) or the last
    (is_last_day_of_month) day of its calendar month; nulls pass. Portable: dbt's
    cross-database date_trunc and last_day. -#}
{% test is_first_day_of_month(model, column_name) %}
select {{ column_name }} as value_field
from {{ model }}
where {{ column_name }} <> cast({{ dbt.date_trunc('month', column_name) }} as date)
{% endtest %}

{% test is_last_day_of_month(model, column_name) %}
select {{ column_name }} as value_field
from {{ model }}
where {{ column_name }} <> {{ dbt.last_day(column_name, 'month') }}
{% endtest %}
