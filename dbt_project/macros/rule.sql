{#- Read one business rule from ../rules.yml, passed by the pipeline as the var `rules`.
    Usage: {{ rule('r5_inventory.target_days') }}. At parse time (no vars) it returns none;
    at run time a missing var or rule is a compile error naming the path. (A namespace carries
    the walk: a plain `set` inside a Jinja loop does not survive the loop.) -#}
{% macro rule(path) %}
  {%- set root = var('rules', none) -%}
  {%- if root is none -%}
    {%- if execute -%}
      {{ exceptions.raise_compiler_error("The var 'rules' is missing: run dbt through the pipeline (`python -m pipelines dbt ...`) so rules.yml is passed as --vars.") }}
    {%- endif -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set ns = namespace(node=root, found=true) -%}
  {%- for part in path.split('.') -%}
    {%- if ns.found and ns.node is mapping and part in ns.node -%}
      {%- set ns.node = ns.node[part] -%}
    {%- else -%}
      {%- set ns.found = false -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not ns.found -%}
    {%- if execute -%}
      {{ exceptions.raise_compiler_error("rules.yml has no rule '" ~ path ~ "'") }}
    {%- endif -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(ns.node) }}
{% endmacro %}
