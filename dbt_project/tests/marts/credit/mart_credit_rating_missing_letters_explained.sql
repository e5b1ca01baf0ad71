-- A missing letter is explained: its reason says which source is not available, and
-- not_available is set exactly when a letter is missing.
{%- set letters = ['k1', 'k2', 'k3', 'k4', 'o1', 'o2', 'o3', 'o4', 'o5'] %}
select customer_code, rating_quarter, not_available
from {{ ref('mart_credit_rating') }}
where {% for i in letters %}({{ i }}_letter is null and {{ i }}_reason not like 'not available: %')
   or {% endfor %}((not_available is null)
       <> ({% for i in letters %}{{ i }}_letter is not null{{ ' and ' if not loop.last }}{% endfor %}))
