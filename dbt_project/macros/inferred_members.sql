{#- Inferred (late-arriving) members of the dimensions.

    A company may not deliver some master data (no branches file, no customer master at all),
    and a master row may arrive after the first facts that use its code. The dimensions then
    build a row for every code seen in the staging facts (and in other masters' references)
    that its own master lacks, flagged is_inferred, valid for all time, with the attributes the
    facts carry; when the master row arrives, the code is in the master and the inferred row
    is gone on the next build. Dimensions read staging for this, never the facts (facts read
    the dimensions).

    `codes_seen(parts)`: SQL of one row per code seen in `parts`, with the first and last date
    it was seen: columns code, first_seen_date, last_seen_date. Each part is a dict
      relation   the relation (a ref) holding the code,
      code       the code column,
      date       SQL of the date the code was seen on (a column or an expression),
      delivered  optional, false to skip a source the company does not deliver
                 (is_delivered('stock')); the ref stays in the graph either way.
    Null codes are not codes. With no delivered part the result is empty (typed columns).
-#}
{% macro codes_seen(parts) -%}
  {%- set delivered = [] -%}
  {%- for part in parts -%}
    {%- if part.get('delivered', true) -%}{%- do delivered.append(part) -%}{%- endif -%}
  {%- endfor -%}
select
    code,
    min(seen_date) as first_seen_date,
    max(seen_date) as last_seen_date
from (
  {%- if delivered %}
    {%- for part in delivered %}
    select
        cast({{ part.code }} as {{ dbt.type_string() }}) as code,
        cast({{ part.date }} as date)                    as seen_date
    from {{ part.relation }}
    where {{ part.code }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
  {%- else %}
    select cast(null as {{ dbt.type_string() }}) as code, cast(null as date) as seen_date
    where 1 = 0
  {%- endif %}
) seen
group by code
{%- endmacro %}

{#- SQL of the most frequent value of `value` per `key` in `relation` (rows where both are
    set): columns key, value. Ties go to the value seen last (`order_date`), then the smallest
    value, so the choice is deterministic on every adapter. -#}
{% macro most_frequent(relation, key, value, order_date) -%}
select {{ key }}, {{ value }}
from (
    select
        {{ key }},
        {{ value }},
        row_number() over (
            partition by {{ key }}
            order by count(*) desc, max({{ order_date }}) desc, {{ value }}
        ) as preference
    from {{ relation }}
    where {{ key }} is not null and {{ value }} is not null
    group by {{ key }}, {{ value }}
) ranked
where preference = 1
{%- endmacro %}

{#- Surrogate key of a type-2 dimension version. The first version of a code and the code's
    inferred member share one key, md5 of the code and far_past_date(): the first version's
    valid_from may move back to an earlier fact (late-arriving facts) and an inferred member is
    replaced by the first version when its master row arrives, and in both cases the facts
    already loaded (incremental facts are not rebuilt) keep pointing at the right row. Later
    versions are keyed by their valid_from, as version_key() does. -#}
{% macro member_version_key(natural_key, version_number, valid_from) -%}
  {{ version_key(natural_key, "case when " ~ version_number ~ " = 1 then " ~ far_past_date() ~ " else " ~ valid_from ~ " end") }}
{%- endmacro %}
