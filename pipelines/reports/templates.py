"""The HTML templates of the reports and the one Jinja2 environment that renders them.

Every value that reaches the dashboard's HTML — names and codes from source data, labels, numbers,
the SVG charts' texts and attributes — is inserted by Jinja2 with autoescaping on, never by
string formatting: a customer named ``<script>alert(1)</script>`` is shown as those characters.
Only markup this package renders itself (a chart, rendered by ``SVG`` below) is passed on as
``Markup``.

The templates are kept here as strings (not files) so the package needs no data files to be
installed; ``StrictUndefined`` makes a misspelt variable an error instead of an empty string.
"""

from __future__ import annotations

import re

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

# One SVG element: tag and attribute names come from the chart code (checked to be plain names),
# every attribute value and every text is escaped by the environment.
SVG = """\
{%- macro element(e) -%}
<{{ e.tag }}{% for name, value in e.attrs %} {{ name }}="{{ value }}"{% endfor %}>
{%- if e.title is not none %}<title>{{ e.title }}</title>{% endif -%}
{%- if e.text is not none %}{{ e.text }}{% endif -%}
{%- for child in e.children %}{{ element(child) }}{% endfor -%}
</{{ e.tag }}>
{%- endmacro -%}
<svg class="{{ cls }}" role="img" aria-label="{{ title }}" viewBox="0 0 {{ width }} {{ height }}" \
xmlns="http://www.w3.org/2000/svg"><title>{{ title }}</title>
{%- for e in elements %}{{ element(e) }}{% endfor %}</svg>"""

DASHBOARD = """\
<!doctype html>
<html lang="{{ html_lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
{%- if company %}<p class="company">{{ company }}</p>{% endif %}
<p class="published">{{ published }}</p>
</header>
<main>
{%- for s in sections %}
<section{% if s.wide %} class="wide"{% endif %}{% if s.no_data %} data-no-data="{{ s.no_data }}"{% endif %}>
<h2>{{ s.title }}</h2>
{%- for sub in s.subs %}
<p class="sub">{{ sub }}</p>
{%- endfor %}
{%- for b in s.blocks %}
{%- if b.kind == "chart" %}
{{ b.svg }}
{%- elif b.kind == "pair" %}
<div class="pair">{% for c in b.charts %}<div><p class="sub">{{ c.caption }}</p>{{ c.svg }}</div>{% endfor %}</div>
{%- elif b.kind == "kpis" %}
<div class="kpis">
{%- for k in b["items"] %}
<div class="kpi"><span class="kpi-label">{{ k.label }}</span><b title="{{ k.exact }}">{{ k.value }}</b>
{%- for c in k.changes %}
<span class="kpi-change {{ c.direction }}" title="{{ c.title }}">{{ c.text }} <small>{{ c.label }}</small></span>
{%- endfor %}
</div>
{%- endfor %}
</div>
{%- elif b.kind == "note" %}
<p class="{{ b.cls }}">{{ b.text }}</p>
{%- elif b.kind == "table" %}
<table class="{{ b.cls }}"><thead><tr>{% for h in b.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{%- endif %}
{%- endfor %}
</section>
{%- else %}
<section><p class="no-data">{{ no_data }}</p></section>
{%- endfor %}
</main>
</body>
</html>
"""

ENV = Environment(
    loader=DictLoader({"svg.html": SVG, "dashboard.html": DASHBOARD}),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=False,
    lstrip_blocks=False,
)

_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9:_-]*$")


class Element:
    """One SVG element; ``attrs`` in order, every value escaped when rendered."""

    __slots__ = ("tag", "attrs", "title", "text", "children")

    def __init__(self, tag: str, attrs: dict | None = None, *, title=None, text=None, children=None):
        for name in [tag, *(attrs or {})]:
            if not _NAME.match(name):
                raise ValueError(f"not an SVG tag or attribute name: {name!r}")
        self.tag = tag
        self.attrs = [(k, _attr(v)) for k, v in (attrs or {}).items() if v is not None]
        self.title = None if title is None else str(title)
        self.text = None if text is None else str(text)
        self.children = list(children or [])


def _attr(v) -> str:
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def render_svg(elements: list[Element], title: str, width: float, height: float, cls: str = "chart") -> Markup:
    """An inline SVG chart (safe to insert into the dashboard: everything in it was escaped)."""
    return Markup(ENV.get_template("svg.html").render(elements=elements, title=title, width=_attr(width),
                                                      height=_attr(height), cls=cls))


def render_dashboard(**context) -> str:
    return ENV.get_template("dashboard.html").render(**context)
