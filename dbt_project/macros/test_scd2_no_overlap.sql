{#- Generic test: the versions of each natural key have valid_from < valid_to and do not
    overlap (half-open intervals [valid_from, valid_to)). -#}
{% test scd2_no_overlap(model, natural_key, valid_from='valid_from', valid_to='valid_to') %}
select a.{{ natural_key }}, a.{{ valid_from }}, a.{{ valid_to }}
from {{ model }} a
where a.{{ valid_from }} >= a.{{ valid_to }}
   or exists (
        select 1
        from {{ model }} b
        where b.{{ natural_key }} = a.{{ natural_key }}
          and b.{{ valid_from }} > a.{{ valid_from }}
          and b.{{ valid_from }} < a.{{ valid_to }}
   )
{% endtest %}
