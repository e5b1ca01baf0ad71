-- Customer segmentation as of every month end (grain customer × month_end), R1–R3 of
-- shared/domain-rules.md with the thresholds of rules.yml: ABC class per channel type and
-- overall (R1), key customer and VIP tier (R2), nine-box cell and its strategy (R3), and the
-- movement of class and cell against the previous month end and the same month a year before.
-- Attributes are those of the dim_customer version in force on the month end, the customer's
-- name included; the branch and rep names are the current ones (dim_branch and dim_rep are type 1).
{%- if execute and (rule('r2_key_customers.trailing_months') != rule('r1_abc.trailing_months')
                    or rule('r3_nine_box.trailing_months') != rule('r1_abc.trailing_months')) %}
  {{ exceptions.raise_compiler_error("mart_customer_segments sums one trailing window: rules.yml r1_abc, r2_key_customers and r3_nine_box trailing_months must be equal") }}
{%- endif %}
{%- set tiles = rule('r3_nine_box.tiles') or 3 %}

with base as (
    select
        *,
        trailing_net_sales > 0 as is_active
    from {{ ref('int_customer_month_ends') }}
),

ranked as (
    select
        base.*,
        -- running totals over the active customers, best first (code breaks ties)
        case when is_active then coalesce(sum(case when is_active then trailing_net_sales end) over (
            partition by month_end, channel_type order by is_active desc, trailing_net_sales desc, customer_code
            rows between unbounded preceding and 1 preceding), 0) end          as channel_preceding_sales,
        sum(case when is_active then trailing_net_sales else 0 end) over (
            partition by month_end, channel_type)                              as channel_sales,
        case when is_active then coalesce(sum(case when is_active then trailing_net_sales end) over (
            partition by month_end order by is_active desc, trailing_net_sales desc, customer_code
            rows between unbounded preceding and 1 preceding), 0) end          as overall_preceding_sales,
        sum(case when is_active then trailing_net_sales else 0 end) over (
            partition by month_end)                                            as overall_sales,
        case when is_active then rank() over (
            partition by month_end, channel_type order by is_active desc, trailing_net_sales desc, customer_code) end as channel_sales_rank,
        case when is_active then rank() over (
            partition by month_end order by is_active desc, trailing_net_sales desc, customer_code) end as overall_sales_rank,
        -- VIP percentile among the active customers (0 lowest … 1 highest)
        case when is_active then percent_rank() over (
            partition by month_end, is_active order by trailing_net_sales) end as vip_percentile_raw,
        -- nine-box axes: customers with a declared turnover, within channel type
        case when declared_annual_turnover > 0
            then cast(trailing_net_sales as double precision) / cast(declared_annual_turnover as double precision)
        end                                                                    as share_of_wallet_raw
    from base
),

tiled as (
    select
        ranked.*,
        case when declared_annual_turnover > 0 then count(*) over (
            partition by month_end, channel_type, declared_annual_turnover > 0
            order by declared_annual_turnover desc) end                        as turnover_rank_at_or_above,
        case when declared_annual_turnover > 0 then count(*) over (
            partition by month_end, channel_type, declared_annual_turnover > 0
            order by share_of_wallet_raw desc) end                             as wallet_rank_at_or_above,
        case when declared_annual_turnover > 0 then count(*) over (
            partition by month_end, channel_type, declared_annual_turnover > 0) end as nine_box_group_size
    from ranked
),

classified as (
    select
        tiled.*,
        {{ segment_abc_class('channel_preceding_sales', 'channel_sales', 'is_active') }}   as abc_class,
        {{ segment_abc_class('overall_preceding_sales', 'overall_sales', 'is_active') }}   as abc_class_overall,
        {{ segment_is_key_customer('overall_preceding_sales', 'overall_sales', 'is_active') }} as is_key_customer,
        case
            when not is_active then null
            {%- for tier, minimum in (rule('r2_key_customers.vip_tiers') or {}).items() | sort(attribute='1', reverse=true) %}
            when vip_percentile_raw >= {{ minimum }} then '{{ tier }}'
            {%- endfor %}
        end                                                                    as vip_tier,
        case when nine_box_group_size is not null then
            {{ segment_tile_letter(segment_tile('turnover_rank_at_or_above', 'nine_box_group_size', tiles), tiles) }}
        end                                                                    as potential_class,
        case when nine_box_group_size is not null then
            {{ segment_tile('wallet_rank_at_or_above', 'nine_box_group_size', tiles) }}
        end                                                                    as share_of_wallet_tile
    from tiled
),

celled as (
    select
        classified.*,
        case when potential_class is not null
            then {{ dbt.concat(['potential_class', dbt.cast('share_of_wallet_tile', dbt.type_string())]) }}
        end                                                                    as nine_box_cell
    from classified
),

branch_names as (  -- dim_branch: one row per branch, its current name
    select branch_code, branch_name from {{ ref('dim_branch') }}
)

select
    cur.month_end,
    cur.month_start,
    cur.customer_code,
    cast(customer.customer_name as {{ dbt.type_string() }})                   as customer_name,
    cur.customer_key,
    cur.channel_type,
    cur.branch_code,
    cast(branch_names.branch_name as {{ dbt.type_string() }})                 as branch_name,
    cur.rep_code,
    cast(rep.rep_name as {{ dbt.type_string() }})                             as rep_name,
    cur.customer_status,
    cur.opened_date,
    cast(cur.declared_annual_turnover as {{ amount_type() }})                       as declared_annual_turnover,
    cast(cur.trailing_net_sales as {{ amount_type() }})                             as trailing_net_sales,
    cast(cur.trailing_invoice_lines as bigint)                                 as trailing_invoice_lines,
    cur.is_active,
    not cur.is_active                                                          as is_inactive,
    -- R1 per channel type
    cast(cur.channel_sales_rank as integer)                                    as channel_sales_rank,
    cast(cur.channel_sales as {{ amount_type() }})                                  as channel_sales,
    cast(case when cur.is_active and cur.channel_sales > 0
        then round(cast(cur.channel_preceding_sales + cur.trailing_net_sales as numeric(38, 8)) / cur.channel_sales, 6)
    end as numeric(9, 6))                                                      as channel_cumulative_share,
    cast(cur.abc_class as {{ dbt.type_string() }})                             as abc_class,
    -- R1 overall
    cast(cur.overall_sales_rank as integer)                                    as overall_sales_rank,
    cast(case when cur.is_active and cur.overall_sales > 0
        then round(cast(cur.overall_preceding_sales + cur.trailing_net_sales as numeric(38, 8)) / cur.overall_sales, 6)
    end as numeric(9, 6))                                                      as overall_cumulative_share,
    cast(cur.abc_class_overall as {{ dbt.type_string() }})                     as abc_class_overall,
    -- R2
    cur.is_key_customer,
    cast(round(cast(cur.vip_percentile_raw as numeric(18, 8)), 6) as numeric(9, 6)) as vip_percentile,
    cast(cur.vip_tier as {{ dbt.type_string() }})                              as vip_tier,
    -- R3
    cast(round(cast(cur.share_of_wallet_raw as numeric(24, 10)), 6) as numeric(18, 6)) as share_of_wallet,
    cast(cur.potential_class as {{ dbt.type_string() }})                       as potential_class,
    cast(cur.share_of_wallet_tile as integer)                                  as share_of_wallet_tile,
    cast(cur.nine_box_cell as {{ dbt.type_string() }})                         as nine_box_cell,
    cast({{ segment_nine_box_strategy('cur.nine_box_cell') }} as {{ dbt.type_string() }}) as nine_box_strategy,
    -- movement
{%- for prefix, alias in [('prev_month', 'prev_month'), ('prev_year', 'prev_year')] %}
    cast({{ alias }}.abc_class as {{ dbt.type_string() }})                     as {{ prefix }}_abc_class,
    case when {{ alias }}.customer_code is not null
        then cur.abc_class <> {{ alias }}.abc_class end                        as abc_class_changed_vs_{{ prefix }},
    cast({{ alias }}.abc_class_overall as {{ dbt.type_string() }})             as {{ prefix }}_abc_class_overall,
    case when {{ alias }}.customer_code is not null
        then cur.abc_class_overall <> {{ alias }}.abc_class_overall end        as abc_class_overall_changed_vs_{{ prefix }},
    cast({{ alias }}.nine_box_cell as {{ dbt.type_string() }})                 as {{ prefix }}_nine_box_cell,
    case when {{ alias }}.customer_code is not null
        then coalesce(cur.nine_box_cell <> {{ alias }}.nine_box_cell,
                      (cur.nine_box_cell is null) <> ({{ alias }}.nine_box_cell is null)) end as nine_box_cell_changed_vs_{{ prefix }}{{ ',' if not loop.last }}
{%- endfor %}
from celled cur
left join {{ ref('dim_customer') }} customer
    on customer.customer_key = cur.customer_key
left join branch_names
    on branch_names.branch_code = cur.branch_code
left join {{ ref('dim_rep') }} rep
    on rep.rep_code = cur.rep_code
left join celled prev_month
    on prev_month.customer_code = cur.customer_code
    and prev_month.month_start = cast({{ dbt.dateadd('month', -1, 'cur.month_start') }} as date)
left join celled prev_year
    on prev_year.customer_code = cur.customer_code
    and prev_year.month_start = cast({{ dbt.dateadd('month', -12, 'cur.month_start') }} as date)
