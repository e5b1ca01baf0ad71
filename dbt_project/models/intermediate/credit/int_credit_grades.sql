-- R6 rating status, grade and credit score of every customer × rating quarter, from the indicator
-- letters. The grade rule is the macro credit_grade (macros/credit_rating.sql), the one place it
-- is written. rating_status: NEW (under the rules' new_customer_days since the first invoice),
-- INCOMPLETE (some indicator not available: its letter is null because the company does not
-- deliver its source), else RATED; only RATED rows get a grade and a score.
-- Score = Σ letter points × weight / Σ weights (rules.yml).
{%- set points = rule('r6_credit.letter_points') or {} %}
{%- set weights = rule('r6_credit.score_weights') or {} %}
{%- set total = namespace(w=0) %}
{%- for ind in weights %}{% set total.w = total.w + weights[ind] %}{% endfor %}
{%- set letters = ['k1_letter', 'k2_letter', 'k3_letter', 'k4_letter',
                   'o1_letter', 'o2_letter', 'o3_letter', 'o4_letter', 'o5_letter'] %}

with statused as (
    select
        indicators.*,
        case
            when is_new then 'NEW'
            when {% for l in letters %}{{ l }} is null{{ ' or ' if not loop.last }}{% endfor %} then 'INCOMPLETE'
            else 'RATED'
        end                                                                   as rating_status
    from {{ ref('int_credit_indicators') }} indicators
)

select
    statused.*,
    case when rating_status = 'RATED' then
        {{ credit_grade(['k1_letter', 'k2_letter', 'k3_letter', 'k4_letter'],
                        ['o1_letter', 'o2_letter', 'o3_letter', 'o4_letter', 'o5_letter']) }}
    end                                                                       as computed_grade,
    case when rating_status = 'RATED' then cast(round((0
        {%- for ind, weight in weights.items() %}
        + {{ weight }} * case {{ ind | lower }}_letter
            {%- for letter, pts in points.items() %} when '{{ letter }}' then {{ pts }}{% endfor %} else 0 end
        {%- endfor %}
    ) / {{ total.w or 1 }}.0, 1) as numeric(5, 1)) end                                      as credit_score
from statused
