-- Product master as SCD type 2 on standard_cost and list_price (a new version whenever either
-- changes between extracts); the descriptive attributes are type 1 (latest extract's value).
{{ scd2_versions(
    ref('stg_master__products'),
    key='sku',
    tracked=['standard_cost', 'list_price'],
    type1=['product_name', 'category', 'brand', 'unit', 'launch_date', 'product_status'],
    snapshot_date='extract_date'
) }}
