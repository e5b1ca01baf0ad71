-- Shares per channel type sum to 100 %: the last active customer of each channel type and month
-- end reaches a cumulative share of 1, and the channel's sales are its active customers' sales.
select month_end, channel_type,
       max(channel_cumulative_share)                                   as top_share,
       sum(case when is_active then trailing_net_sales else 0 end)     as sales,
       max(channel_sales)                                              as channel_sales
from {{ ref('mart_customer_segments') }}
group by month_end, channel_type
having max(channel_sales) > 0
   and (abs(max(channel_cumulative_share) - 1) > 0.000001
        or sum(case when is_active then trailing_net_sales else 0 end) <> max(channel_sales))
