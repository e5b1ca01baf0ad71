-- R5 bands are ordered ranges of days: every low row has fewer days than every normal row,
-- and every normal row fewer than every high row.
select max(case when inventory_band = 'low' then days_of_inventory end)    as max_low,
       min(case when inventory_band = 'normal' then days_of_inventory end) as min_normal,
       max(case when inventory_band = 'normal' then days_of_inventory end) as max_normal,
       min(case when inventory_band = 'high' then days_of_inventory end)   as min_high
from {{ ref('mart_inventory_days') }}
having max(case when inventory_band = 'low' then days_of_inventory end)
       > min(case when inventory_band = 'normal' then days_of_inventory end)
    or max(case when inventory_band = 'normal' then days_of_inventory end)
       > min(case when inventory_band = 'high' then days_of_inventory end)
    or max(case when inventory_band = 'low' then days_of_inventory end)
       > min(case when inventory_band = 'high' then days_of_inventory end)
