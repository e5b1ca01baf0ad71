-- Shares over all customers sum to 100 % per month end (when anybody bought).
select month_end, max(overall_cumulative_share) as top_share
from {{ ref('mart_customer_segments') }}
group by month_end
having sum(case when is_active then trailing_net_sales else 0 end) > 0
   and abs(max(overall_cumulative_share) - 1) > 0.000001
