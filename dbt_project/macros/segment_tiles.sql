{#- Tile (1 = top … n = bottom) of a value within a group, in integer arithmetic so that the
    edges are exact and identical on every adapter. `rank_at_or_above` is the number of group
    members whose value is at or above this one (ties included: count(*) over (partition by
    group order by value desc), default RANGE frame), `group_size` the members of the group.
    Tile t holds the members with rank_at_or_above ≤ t × group_size / n, so with 3 tiles and
    6 members the tiles hold 2 each; tied values always share a tile (the lower one). -#}
{% macro segment_tile(rank_at_or_above, group_size, tiles) -%}
    case
    {%- for t in range(1, tiles) %}
        when {{ tiles }} * {{ rank_at_or_above }} <= {{ t }} * {{ group_size }} then {{ t }}
    {%- endfor %}
        else {{ tiles }}
    end
{%- endmacro %}

{#- Letter of a tile: 1 → 'A', 2 → 'B', … (the nine-box potential axis). -#}
{% macro segment_tile_letter(tile_expression, tiles) -%}
    case {{ tile_expression }}
    {%- for t in range(1, tiles + 1) %}
        when {{ t }} then '{{ "ABCDEFGHIJ"[t - 1] }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- The nine-box strategy of a cell, from rules.yml r3_nine_box.strategies (a CASE over the map). -#}
{% macro segment_nine_box_strategy(cell_expression) -%}
    {%- set strategies = rule('r3_nine_box.strategies') or {} -%}
    case {{ cell_expression }}
    {%- for cell, text in strategies.items() %}
        when '{{ cell }}' then '{{ text | replace("'", "''") }}'
    {%- endfor %}
    end
{%- endmacro %}
