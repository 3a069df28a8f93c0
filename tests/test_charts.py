"""The chart-table pair of templates/_charts.html: the numbers a chart is drawn from are the
table's own cells (data-value), in the contract static/js/charts.js reads."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import render_template_string

PAIR = """{% from "_charts.html" import chart_table %}
{{ chart_table("t", "按年度", ["年度", "问题", "金额"], rows, kind=kind, omit=omit, foot=foot) }}"""


def render(rows, kind="bar", omit=(), foot=None) -> str:
    return render_template_string(PAIR, rows=rows, kind=kind, omit=omit, foot=foot)


def test_each_number_is_drawn_from_its_cell(app):
    with app.test_request_context():
        html = render([(2024, 3, (Decimal("1234.50"), "1,234.50 元")),
                       (2025, None, (None, "—")),
                       (2026, 1200, Decimal("1E+3"))],
                      kind="stacked", omit=(2,), foot=("合计", 3, (Decimal("1234.50"), "x")))
    assert 'data-chart="stacked" data-chart-into="t-chart"' in html
    assert 'id="t-chart" aria-hidden="true"' in html
    assert re.search(r'<th scope="col" class="num" data-chart-omit>金额</th>', html)
    assert '<th scope="row">2024</th><td class="num" data-value="3">3</td>' \
           '<td class="num" data-value="1234.50">1,234.50 元</td>' in html
    # No data: no data-value, whatever the text says.
    assert '<th scope="row">2025</th><td class="num">—</td><td class="num">—</td>' in html
    # A number in plain digits whatever Decimal's notation; shown with separators.
    assert '<td class="num" data-value="1200">1,200</td>' \
           '<td class="num" data-value="1000">1,000</td>' in html
    tfoot = re.search(r"<tfoot>.*</tfoot>", html, re.S).group(0)
    assert "合计" in tfoot  # totals, which the chart never reads
    assert "<script" not in html and "style=" not in html


def test_no_rows_no_chart(app):
    with app.test_request_context():
        html = render([], foot=("合计", 0, 0))
    assert "chart-empty" in html and "<tfoot>" not in html
    assert re.search(r'<td colspan="3" class="muted">[^<]+</td>', html)
