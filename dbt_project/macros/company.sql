{#- Company settings handed to dbt as vars (from company.yml; see dbt_project.yml). -#}

{#- The SQL type of money amounts: the company's amount precision (var amount_scale), so
    amounts keep the source's decimals instead of being rounded line by line. -#}
{% macro amount_type() -%}
  numeric(18, {{ var('amount_scale', 2) | int }})
{%- endmacro %}

{#- Whether the company delivers a source ('stock') or a column of a source
    ('customers.declared_annual_turnover'): false when company.yml says the source is not
    delivered, or no layout of it fills the column (var undelivered). -#}
{% macro is_delivered(name) -%}
  {%- set missing = var('undelivered', []) -%}
  {%- if name in missing -%}
    {{ return(false) }}
  {%- elif '.' in name and name.split('.')[0] in missing -%}
    {{ return(false) }}
  {%- else -%}
    {{ return(true) }}
  {%- endif -%}
{%- endmacro %}

{#- The canonical values of an enumeration (var enums), for accepted-value tests and CASEs. -#}
{% macro enum_values(name) -%}
  {%- set enums = var('enums', {}) -%}
  {%- if name not in enums -%}
    {{ exceptions.raise_compiler_error("enumeration '" ~ name ~ "' is not in the var enums (sources.yml enums, passed by the pipeline)") }}
  {%- endif -%}
  {{ return(enums[name]) }}
{%- endmacro %}
