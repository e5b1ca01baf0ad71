{#- One business rule from ../rules.yml (the var `rules`) by dotted path, for the customer
    segmentation, visit-compliance and inventory marts. Same contract as `rule()` in
    macros/rule.sql, whose lookup currently returns the whole rules mapping: its `set` inside
    the for loop is loop-scoped in Jinja, so the walked node never leaves the loop. This
    version walks with a namespace. Once rule.sql is fixed, callers can switch back to rule(). -#}
{% macro segment_rule(path) %}
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
