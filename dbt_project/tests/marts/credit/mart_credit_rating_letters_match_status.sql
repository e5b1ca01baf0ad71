-- A RATED row has every indicator letter; an INCOMPLETE row lacks at least one (an indicator
-- whose source the company does not deliver is not available).
{%- set letters = ['k1', 'k2', 'k3', 'k4', 'o1', 'o2', 'o3', 'o4', 'o5'] %}
{%- set any_missing %}({% for i in letters %}{{ i }}_letter is null{{ ' or ' if not loop.last }}{% endfor %}){% endset %}
select customer_code, rating_quarter, rating_status
from {{ ref('mart_credit_rating') }}
where (rating_status = 'RATED' and {{ any_missing }})
   or (rating_status = 'INCOMPLETE' and not {{ any_missing }})
