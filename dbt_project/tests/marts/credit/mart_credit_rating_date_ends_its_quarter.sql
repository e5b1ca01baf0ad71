-- The rating date is the last day of the rating quarter, and rating_quarter names it (YYYYQn).
select customer_code, rating_quarter, rating_date
from {{ ref('mart_credit_rating') }}
where rating_date <> {{ dbt.last_day('rating_date', 'month') }}
   or extract(month from rating_date) not in (3, 6, 9, 12)
   or rating_quarter <> {{ dbt.concat([
        dbt.cast(dbt.cast('extract(year from rating_date)', dbt.type_int()), dbt.type_string()),
        "'Q'",
        dbt.cast(dbt.cast('extract(quarter from rating_date)', dbt.type_int()), dbt.type_string())]) }}
