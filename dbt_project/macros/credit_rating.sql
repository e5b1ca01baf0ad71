{#- Rule R6, the grade rule, implemented once (used by int_credit_grades).

    `credit_grade(k, o)`: a SQL CASE giving the grade 1–5 from the letters (A/B/C) of the key
    indicators `k` (a list of four column names, the last one K4 payment reputation) and of the
    other indicators `o` (a list of five column names). Conditions are written as R6 lists them
    and evaluated in that order: the first match wins. Every letter must be present: a letter
    that is not available (null, its source not delivered) is not graded around; the caller
    computes no grade for such a row (int_credit_grades: rating_status INCOMPLETE).
-#}
{% macro credit_grade(k, o) -%}
  {%- set k4 = k[-1] -%}
  {%- set n_k = k | length -%}
  {%- set n_o = o | length -%}
  {%- set ka, kb, kc = credit_letter_count(k, 'A'), credit_letter_count(k, 'B'), credit_letter_count(k, 'C') -%}
  {%- set oa, ob, oc = credit_letter_count(o, 'A'), credit_letter_count(o, 'B'), credit_letter_count(o, 'C') -%}
  case
    -- grade 1: K all A; O has no C and at least one A
    when {{ ka }} = {{ n_k }} and {{ oc }} = 0 and {{ oa }} >= 1 then 1
    -- grade 2: K all A and O has both A and C; or K all A and O all B;
    --          or K mixes A and B (no C) and O all A
    when {{ ka }} = {{ n_k }} and {{ oa }} >= 1 and {{ oc }} >= 1 then 2
    when {{ ka }} = {{ n_k }} and {{ ob }} = {{ n_o }} then 2
    when {{ ka }} >= 1 and {{ kb }} >= 1 and {{ kc }} = 0 and {{ oa }} = {{ n_o }} then 2
    -- grade 3: K all A (remaining: O has C and no A); or K mixes A and B (no C) and O not all A;
    --          or K all B and O has no C
    when {{ ka }} = {{ n_k }} then 3
    when {{ ka }} >= 1 and {{ kb }} >= 1 and {{ kc }} = 0 and {{ oa }} < {{ n_o }} then 3
    when {{ kb }} = {{ n_k }} and {{ oc }} = 0 then 3
    -- grade 4: K all B and O has a C; or K has exactly one C and K4 is not C
    when {{ kb }} = {{ n_k }} and {{ oc }} >= 1 then 4
    when {{ kc }} = 1 and {{ k4 }} <> 'C' then 4
    -- grade 5: K4 is C, or K has two or more C
    when {{ k4 }} = 'C' or {{ kc }} >= 2 then 5
  end
{%- endmacro %}

{#- A CASE mapping a code column to its letter with a rules.yml mapping (code → letter);
    a missing or unmapped code is C. -#}
{% macro credit_letter_from_map(column, mapping) -%}
  case
    {%- for code, letter in (mapping or {}).items() %}
    when {{ column }} = '{{ code }}' then '{{ letter }}'
    {%- endfor %}
    else 'C'
  end
{%- endmacro %}

{#- A CASE giving A/B/C for a value with minimums for A and B (value >= a_min → A, >= b_min → B,
    else, or missing, C). -#}
{% macro credit_letter_from_min(column, a_min, b_min) -%}
  case
    when {{ column }} >= {{ a_min }} then 'A'
    when {{ column }} >= {{ b_min }} then 'B'
    else 'C'
  end
{%- endmacro %}

{#- How many of the letter columns `cols` hold `letter` (SQL integer expression). -#}
{% macro credit_letter_count(cols, letter) -%}
  ({% for c in cols %}(case when {{ c }} = '{{ letter }}' then 1 else 0 end){{ ' + ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Missing data in the rating (R6): what an indicator lacks, as a list (empty when it is available).

    `names` are the sources ('receivables') and source columns ('customers.declared_annual_turnover')
    the indicator is computed from (macro is_delivered, var undelivered). By default the indicator
    is not available when any of them is not delivered; with `all_of=true` only when none of them
    is (O2: either licence alone still gives a letter). A column of a source that is not delivered
    at all is named by its source: ['customers.founded_date'] gives ['customers'] when the whole
    customer master is missing. -#}
{% macro credit_undelivered(names, all_of=false) -%}
  {%- set missing = var('undelivered', []) -%}
  {%- set ns = namespace(out=[], count=0) -%}
  {%- for name in names -%}
    {%- if not is_delivered(name) -%}
      {%- set ns.count = ns.count + 1 -%}
      {%- set shown = name.split('.')[0] if ('.' in name and name.split('.')[0] in missing) else name -%}
      {%- if shown not in ns.out -%}{%- set ns.out = ns.out + [shown] -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if ns.count == 0 or (all_of and ns.count < names | length) -%}
    {{ return([]) }}
  {%- endif -%}
  {{ return(ns.out) }}
{%- endmacro %}

{#- The rating dates one build computes (a SQL predicate on `column`, a rating date):
    those of the run's quarters — the partition window Dagster passes as the vars min_date and
    max_date (first day of the first quarter, last day of the last one), the same vars and the same
    macro partition_filter as the daily-incremental facts — and the quarter just before the window
    (its rating date is the day before min_date), which mart_credit_rating needs for the change
    against the previous quarter but does not write. Without the vars (a plain `dbt build`) or on
    --full-refresh: every quarter. -#}
{% macro credit_rating_window(column) -%}
  {%- if var('min_date', none) and var('max_date', none) and not flags.FULL_REFRESH -%}
    {%- set first = modules.datetime.datetime.strptime(var('min_date') | string, '%Y-%m-%d').date() -%}
    {%- set previous = first - modules.datetime.timedelta(days=1) -%}
    {{ column }} between cast('{{ previous.isoformat() }}' as date) and cast('{{ var("max_date") }}' as date)
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}
