-- The current version of every customer (dim_customer where is_current): one row per customer
-- code, so a table carrying customer_code joins to it without fan-out.
select * exclude (version_number, valid_from, valid_to, is_current)
from {{ ref('dim_customer') }}
where is_current
