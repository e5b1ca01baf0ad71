{{ config(severity='warn') }}
-- With 20 or more customers a month end normally shows all three ABC classes (a warning).
select month_end, count(distinct abc_class) as classes
from {{ ref('mart_customer_segments') }}
group by month_end
having count(distinct abc_class) < 3 and count(*) >= 20
