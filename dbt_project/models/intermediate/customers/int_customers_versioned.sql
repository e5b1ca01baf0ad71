-- Customer file as SCD type 2: the full extracts collapsed into versions, one per run of
-- consecutive extracts with the same basic and credit attributes (see macros/scd2_versions.sql).
-- The sensitive columns are not selected, so a change of e.g. phone alone opens no version.
{{ scd2_versions(
    ref('stg_master__customers'),
    key='customer_code',
    tracked=[
        'customer_name', 'channel_type', 'branch_code', 'territory_code', 'rep_code', 'address',
        'owner_name', 'founded_date', 'opened_date', 'customer_status',
        'business_nature', 'business_licence_expiry', 'drug_licence_expiry',
        'declared_annual_turnover', 'payment_terms', 'credit_limit',
    ],
    snapshot_date='extract_date'
) }}
