-- R2: the key customers are a top set of the overall ranking, and there is one in every month
-- end where anybody bought.
select month_end,
       max(case when is_key_customer then overall_sales_rank end)                   as last_key,
       min(case when not is_key_customer and is_active then overall_sales_rank end) as first_other
from {{ ref('mart_customer_segments') }}
group by month_end
having max(case when is_key_customer then overall_sales_rank end)
       > min(case when not is_key_customer and is_active then overall_sales_rank end)
    or (sum(case when is_key_customer then 1 else 0 end) = 0
        and sum(case when is_active then 1 else 0 end) > 0)
