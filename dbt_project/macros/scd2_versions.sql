{#- Slowly changing dimension type 2 from periodic full snapshots (the master extracts).

    `relation` holds one row per `key` and `snapshot_date`. A new version starts at the first
    snapshot of a key and at every snapshot whose `tracked` attributes differ from the key's
    previous snapshot (`is distinct from`, so a null ↔ value change counts); consecutive
    snapshots with identical tracked attributes collapse into one version. A key missing from
    some snapshots (a quarantined row, a late extract) keeps its version: absence is no
    information, only a changed attribute set opens a new version. `type1` attributes are
    overwritten: every version shows the value of the key's latest snapshot.

    Output, one row per key and version:
      key, version_number (1, 2, …), valid_from (first snapshot of the version),
      valid_to (exclusive: the next version's valid_from, or far_future_date() for the
      current version), is_current, last_seen_date (last snapshot showing this version),
      the tracked attributes, the type1 attributes.
    As of a date d, the version in force is the one with valid_from <= d < valid_to; before a
    key's first snapshot there is none (a late-arriving member).
-#}
{% macro scd2_versions(relation, key, tracked, type1=[], snapshot_date='extract_date') -%}
  {{ return(adapter.dispatch('scd2_versions')(relation, key, tracked, type1, snapshot_date)) }}
{%- endmacro %}

{% macro default__scd2_versions(relation, key, tracked, type1, snapshot_date) -%}
with snapshots as (
    select
        {{ key }},
        {{ snapshot_date }} as snapshot_date,
        {{ tracked | join(',\n        ') }}
    from {{ relation }}
),

flagged as (
    select
        snapshots.*,
        case
            when lag(snapshot_date) over (partition by {{ key }} order by snapshot_date) is null then 1
            {%- for column in tracked %}
            when lag({{ column }}) over (partition by {{ key }} order by snapshot_date) is distinct from {{ column }} then 1
            {%- endfor %}
            else 0
        end as starts_version
    from snapshots
),

numbered as (
    select
        flagged.*,
        sum(starts_version) over (
            partition by {{ key }} order by snapshot_date
            rows between unbounded preceding and current row
        ) as version_number
    from flagged
),

versions as (
    select
        {{ key }},
        version_number,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_seen_date,
        {{ tracked | join(',\n        ') }}
    from numbered
    group by {{ key }}, version_number, {{ tracked | join(', ') }}
),

bounded as (
    select
        versions.*,
        lead(valid_from) over (partition by {{ key }} order by version_number) as next_valid_from
    from versions
)
{%- if type1 %},

latest_snapshot as (
    select {{ key }}, {{ type1 | join(', ') }}
    from (
        select
            {{ key }},
            {{ type1 | join(',\n            ') }},
            row_number() over (partition by {{ key }} order by {{ snapshot_date }} desc) as recency
        from {{ relation }}
    ) ranked
    where recency = 1
)
{%- endif %}

select
    bounded.{{ key }},
    cast(bounded.version_number as integer)                        as version_number,
    bounded.valid_from,
    coalesce(bounded.next_valid_from, {{ far_future_date() }})      as valid_to,
    bounded.next_valid_from is null                                 as is_current,
    bounded.last_seen_date,
    {%- for column in tracked %}
    bounded.{{ column }}{{ ',' if type1 or not loop.last }}
    {%- endfor %}
    {%- for column in type1 %}
    latest_snapshot.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from bounded
{%- if type1 %}
left join latest_snapshot
    on latest_snapshot.{{ key }} = bounded.{{ key }}
{%- endif %}
{%- endmacro %}
