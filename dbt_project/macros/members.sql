{#- Conventions of the star schema shared by dimensions and facts. -#}

{#- valid_to of a current SCD2 version (exclusive bound "never"). -#}
{% macro far_future_date() -%}
  cast('9999-12-31' as date)
{%- endmacro %}

{#- valid_from of the unknown and inferred members: earlier than any fact. -#}
{% macro far_past_date() -%}
  cast('1900-01-01' as date)
{%- endmacro %}

{#- Surrogate key of the unknown member of dim_customer and dim_product. Facts whose natural
    code has no dimension row as of the fact date get this key and keep the natural code, so
    they can be re-keyed later. Since codes missing from a master get inferred members and a
    first version reaches back to its code's earliest fact (macros/inferred_members.sql), this
    is a fallback (e.g. facts of a source declared undelivered). -#}
{% macro unknown_member_key() -%}
  cast('-1' as {{ dbt.type_string() }})
{%- endmacro %}

{#- Natural code shown on the unknown member row. -#}
{% macro unknown_member_code() -%}
  cast('UNKNOWN' as {{ dbt.type_string() }})
{%- endmacro %}

{#- Surrogate key of one SCD2 version: md5 of the natural key and the version start, so it is
    stable across rebuilds of the dimension (incremental facts keep pointing at it). -#}
{% macro version_key(natural_key, valid_from) -%}
  {{ dbt.hash(dbt.concat([natural_key, "'|'", dbt.cast(valid_from, dbt.type_string())])) }}
{%- endmacro %}
