{#- ABC class (R1) from a running total, exactly in decimals (no division, so a cumulative share
    of exactly 75 % or 95 % is classified without floating-point error).
    `preceding_sales`: sum of the sales of the customers ranked above this one in its group;
    `group_sales`: the group's total. A customer belongs to A while the customers above it hold
    less than 75 % of the group: the one whose own cumulative share first reaches or crosses
    75 % is still A (the upper class), and likewise for B at 95 %. `is_active` false → C. -#}
{% macro segment_abc_class(preceding_sales, group_sales, is_active) -%}
    case
        when not {{ is_active }} then 'C'
        when {{ preceding_sales }} < {{ group_sales }} * {{ rule('r1_abc.a_max_cumulative_share') }} then 'A'
        when {{ preceding_sales }} < {{ group_sales }} * {{ rule('r1_abc.b_max_cumulative_share') }} then 'B'
        else 'C'
    end
{%- endmacro %}

{#- Key customer (R2, 20/80): member of the smallest set of top customers making the rule's
    share of sales = the customers above it hold less than that share. -#}
{% macro segment_is_key_customer(preceding_sales, group_sales, is_active) -%}
    coalesce({{ is_active }} and {{ preceding_sales }} < {{ group_sales }} * {{ rule('r2_key_customers.key_customer_sales_share') }}, false)
{%- endmacro %}
