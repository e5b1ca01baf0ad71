{#- Read one business rule from ../rules.yml, passed by the pipeline as the var `rules`.
    Usage: {{ rule('r5_inventory.target_days') }}. At parse time (no vars) it returns none;
    at run time a missing rule is a compile error naming the path. -#}
{% macro rule(path) %}
  {%- set node = var('rules', none) -%}
  {%- if node is none -%}
    {%- if execute -%}
      {{ exceptions.raise_compiler_error("The var 'rules' is missing: run dbt through the pipeline (`python -m pipelines dbt ...`) so rules.yml is passed as --vars.") }}
    {%- endif -%}
    {{ return(none) }}
  {%- endif -%}
  {%- for part in path.split('.') -%}
    {%- if node is mapping and part in node -%}
      {%- set node = node[part] -%}
    {%- elif execute -%}
      {{ exceptions.raise_compiler_error("rules.yml has no rule '" ~ path ~ "'") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(node) }}
{% endmacro %}
