{#- Generic test: the column's values lie between min_value and max_value (either bound may be
    left out; inclusive by default, inclusive=false for strict bounds). Nulls pass (use not_null
    for them). The same test as dbt_utils.accepted_range, which needs a package the offline
    build cannot install. Usage: data_tests: [{accepted_range: {arguments: {min_value: 0}}}]. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- if min_value is none and max_value is none %}
  {{ exceptions.raise_compiler_error("accepted_range on " ~ column_name ~ ": give min_value, max_value or both") }}
{%- endif %}
{%- set op = '=' if inclusive else '' %}
select {{ column_name }} as value_field
from {{ model }}
where not (
  {%- if min_value is not none %} {{ column_name }} >{{ op }} {{ min_value }}{% endif %}
  {%- if min_value is not none and max_value is not none %} and{% endif %}
  {%- if max_value is not none %} {{ column_name }} <{{ op }} {{ max_value }}{% endif %}
)
{% endtest %}
