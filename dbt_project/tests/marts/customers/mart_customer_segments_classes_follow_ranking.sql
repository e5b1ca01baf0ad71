-- R1: classes follow the ranking: nobody ranked above a customer (same month end and channel
-- type) has a lower class. (The first 20 offending pairs are enough to show.)
select a.month_end, a.channel_type, a.customer_code, a.abc_class,
       b.customer_code as above, b.abc_class as above_class
from {{ ref('mart_customer_segments') }} as a
join {{ ref('mart_customer_segments') }} as b
  on a.month_end = b.month_end
 and a.channel_type is not distinct from b.channel_type
 and b.channel_sales_rank < a.channel_sales_rank
 and b.abc_class > a.abc_class
limit 20
