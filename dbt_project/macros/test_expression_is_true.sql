{#- Generic test: a SQL boolean expression over the model's columns holds on every row; the rows
    where it is false fail (rows where it is NULL pass, as in a WHERE clause: write `x is not
    distinct from y` or `not (...)` where NULLs matter). Name each use (`name:`) after what it
    says, since the name is the check's name in Dagster. The same test as
    dbt_utils.expression_is_true. Keep the expression to SQL that DuckDB and PostgreSQL share
    (the project builds on both); anything adapter-specific belongs in a singular test in
    tests/ that uses dbt's cross-database macros. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
