-- R6 grade and credit score of every customer × rating quarter, from the indicator letters.
-- The grade rule is the macro credit_grade (macros/credit_rating.sql), the one place it is
-- written; NEW customers (under the rules' new_customer_days since their first invoice) get
-- neither grade nor score. Score = Σ letter points × weight / 100 (rules.yml).
{%- set points = rule('r6_credit.letter_points') or {} %}
{%- set weights = rule('r6_credit.score_weights') or {} %}
{%- set total = namespace(w=0) %}
{%- for ind in weights %}{% set total.w = total.w + weights[ind] %}{% endfor %}

select
    indicators.*,
    case when not is_new then
        {{ credit_grade(['k1_letter', 'k2_letter', 'k3_letter', 'k4_letter'],
                        ['o1_letter', 'o2_letter', 'o3_letter', 'o4_letter', 'o5_letter']) }}
    end                                                                       as computed_grade,
    case when not is_new then cast(round((0
        {%- for ind, weight in weights.items() %}
        + {{ weight }} * case {{ ind | lower }}_letter
            {%- for letter, pts in points.items() %} when '{{ letter }}' then {{ pts }}{% endfor %} else 0 end
        {%- endfor %}
    ) / {{ total.w or 1 }}.0, 1) as numeric(5, 1)) end                                      as credit_score
from {{ ref('int_credit_indicators') }} indicators
