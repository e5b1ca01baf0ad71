-- Calendar, one row per day from 1 January of the year of var first_day (the first day of the
-- company's data) to 31 December of the year after the current one (macros/calendar.sql), so
-- a company with data from 1996 gets its calendar from configuration alone. Fiscal quarter =
-- calendar quarter. Working days are Monday–Friday except the company's public holidays: the
-- rows of the seed public_holidays of the calendar its business time zone follows (seed
-- holiday_calendars: CN for the mainland China zones, none elsewhere). The same CSV files tell
-- the raw-load volume checks which days are holidays (pipelines/business_calendar.py), so a
-- day is a holiday in the checks exactly when it is one here. is_cny_period (the var
-- cny_period_days (7) days starting on the seed chinese_new_year's new_year_date; the seed
-- covers 1990–2060 and the data test every_year_has_a_new_year flags a calendar year it lacks)
-- stays a seasonal flag; in the CN calendar those days are Spring Festival holidays.
{%- set first_day = calendar_first_day() %}
{%- set last_day = calendar_last_day(calendar_today()) %}

with days as (
    {{ date_spine(first_day, last_day) }}
),

cny as (
    select
        new_year_date,
        cast({{ dbt.dateadd('day', var('cny_period_days') - 1, 'new_year_date') }} as date) as period_end
    from {{ ref('chinese_new_year') }}
),

holidays as (
    select holidays.holiday_date, holidays.holiday_name, holidays.holiday_name_zh
    from {{ ref('public_holidays') }} as holidays
    inner join {{ ref('holiday_calendars') }} as calendars
        on calendars.calendar = holidays.calendar
    where calendars.timezone = '{{ var("business_timezone") }}'
),

calendar as (
    select
        days.date_day,
        cast(extract(year from days.date_day) as integer)       as year_number,
        cast(extract(quarter from days.date_day) as integer)    as quarter_number,
        cast(extract(month from days.date_day) as integer)      as month_number,
        cast(extract(day from days.date_day) as integer)        as day_of_month,
        cast(extract(isodow from days.date_day) as integer)     as day_of_week,
        cast(extract(isoyear from days.date_day) as integer)    as iso_year,
        cast(extract(week from days.date_day) as integer)       as iso_week_number,
        cast({{ dbt.date_trunc('week', 'days.date_day') }} as date)    as week_start,
        cast({{ dbt.date_trunc('month', 'days.date_day') }} as date)   as month_start,
        cast({{ dbt.date_trunc('quarter', 'days.date_day') }} as date) as quarter_start,
        cny.new_year_date is not null                           as is_cny_period,
        holidays.holiday_date is not null                       as is_holiday,
        holidays.holiday_name,
        holidays.holiday_name_zh
    from days
    left join cny
        on days.date_day between cny.new_year_date and cny.period_end
    left join holidays
        on holidays.holiday_date = days.date_day
)

select
    cast(year_number * 10000 + month_number * 100 + day_of_month as integer) as date_key,
    date_day,
    year_number,
    quarter_number,
    cast({{ dbt.concat([dbt.cast('year_number', dbt.type_string()), "'Q'", dbt.cast('quarter_number', dbt.type_string())]) }}
        as {{ dbt.type_string() }})                                             as quarter_label,
    year_number                                                                 as fiscal_year,
    quarter_number                                                              as fiscal_quarter,
    quarter_start,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date) as quarter_end,
    month_number,
    cast(case month_number
        when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
        when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
        when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
    end as {{ dbt.type_string() }})                                             as month_name,
    month_start,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as month_end,
    iso_year,
    iso_week_number,
    week_start,
    cast({{ dbt.dateadd('day', 6, 'week_start') }} as date)                     as week_end,
    day_of_month,
    day_of_week,
    cast(case day_of_week
        when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
        when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
    end as {{ dbt.type_string() }})                                             as day_name,
    day_of_week >= 6                                                            as is_weekend,
    is_cny_period,
    is_holiday,
    cast(holiday_name as {{ dbt.type_string() }})                               as holiday_name,
    cast(holiday_name_zh as {{ dbt.type_string() }})                            as holiday_name_zh,
    day_of_week <= 5 and not is_holiday                                         as is_working_day,
    date_day = cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as is_month_end,
    date_day = cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as date) as is_quarter_end
from calendar
