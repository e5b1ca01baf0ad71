-- The current version of every product (dim_product where is_current): one row per SKU, so a
-- table carrying sku joins to it without fan-out.
select * exclude (version_number, valid_from, valid_to, is_current)
from {{ ref('dim_product') }}
where is_current
