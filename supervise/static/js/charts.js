// Charts drawn from tables, with Apache ECharts (static/vendor/echarts, loaded before this file).
//
// The table is the source of truth: a chart draws only what its own cells say, so the figures
// in the chart and in the table are the same by construction. The table stays on the page for
// screen readers and for paper (app.css hides the chart in print); the chart is aria-hidden.
//
// The contract, for any table on the page:
//
//   <table data-chart="bar|line|pie|stacked" data-chart-into="ID">   (data-chart-into optional)
//     <caption>What the table and its chart show</caption>
//     <thead><tr>
//       <th>Year</th>                   first header cell: names the rows (the categories)
//       <th>Our findings</th>           each further header cell: a series, named by its text
//       <th data-chart-omit>Amount</th> data-chart-omit: a column of the table, not of the chart
//     </tr></thead>
//     <tbody><tr>
//       <th scope="row">2024</th>       first cell of a row: the category label (its text)
//       <td data-value="12">12</td>     a number: the cell's data-value, a plain number such as
//       <td data-value="1234.5">1,234.50 元</td>     "12", "-3" or "1234.50"; the cell's text is
//     </tr></tbody>                     for people only and never read. No data-value, an empty
//     <tfoot>…</tfoot>                  one or anything else ("—") is no data: no bar, no slice,
//   </table>                            a gap in a line. tfoot (totals) is never drawn.
//
//   data-chart   bar: a bar a series in each category; stacked: the series stacked; line: a line
//                a series; pie: one slice a row, from the first series drawn (rows of no data
//                or zero leave no slice).
//   data-chart-into  the id of the element to draw into; without it a <div class="chart"> is
//                put just before the table. Its size comes from app.css (.chart), never from an
//                inline style, which the Content-Security-Policy refuses.
//
// The labels come from the table, so they are in the page's language; numbers in the axes and
// tooltips are formatted for <html lang>. The chart follows its container's width (a phone
// turned, a window resized). A table whose series hold no number at all gets no chart.
"use strict";

(function () {
  var KINDS = { bar: true, line: true, pie: true, stacked: true };
  // Sober colours: the brand's dark red once, then muted blues, greys and earth tones.
  var PALETTE = ["#2f5c8a", "#a61b1b", "#8a96a3", "#c0913f", "#4d7c62", "#6d5d8f", "#b36b4c",
    "#3c7d8a"];
  var NUMBER = /^-?\d+(\.\d+)?$/;
  var NARROW = 480; // px: below this, shorter axis labels and no pie labels

  function language() {
    return document.documentElement.getAttribute("lang") || "zh-CN";
  }

  function format(value) {
    if (value === null || value === undefined || value === "" || isNaN(value)) {
      return "—";
    }
    return Number(value).toLocaleString(language(), { maximumFractionDigits: 2 });
  }

  function cellText(cell) {
    return (cell.textContent || "").replace(/\s+/g, " ").trim();
  }

  function cellValue(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null) {
      return null;
    }
    raw = raw.trim();
    return NUMBER.test(raw) ? Number(raw) : null;
  }

  // The table's categories and series, as its cells say.
  function read(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) {
      return null;
    }
    var series = [];
    for (var i = 1; i < head.cells.length; i += 1) {
      if (!head.cells[i].hasAttribute("data-chart-omit")) {
        series.push({ index: i, name: cellText(head.cells[i]), data: [] });
      }
    }
    var categories = [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        // A row of one cell across the table ("nothing yet") is not a category.
        if (!row.cells.length || row.cells[0].colSpan > 1) {
          return;
        }
        categories.push(cellText(row.cells[0]));
        series.forEach(function (s) {
          s.data.push(cellValue(row.cells[s.index]));
        });
      });
    });
    return { categories: categories, series: series };
  }

  function anyNumber(data) {
    return data.series.some(function (s) {
      return s.data.some(function (v) { return v !== null; });
    });
  }

  function allWhole(data) {
    return data.series.every(function (s) {
      return s.data.every(function (v) { return v === null || Math.round(v) === v; });
    });
  }

  function options(kind, data, width) {
    var narrow = width < NARROW;
    var font = window.getComputedStyle(document.body).fontFamily;
    var chart = {
      color: PALETTE,
      animation: false,
      textStyle: { fontFamily: font },
      // Drawn on the canvas: an HTML tooltip would carry inline styles, which the CSP refuses.
      tooltip: { renderMode: "richText", trigger: kind === "pie" ? "item" : "axis",
        valueFormatter: format, confine: true },
      // On a phone the legend wraps onto more lines rather than hiding entries behind pages.
      legend: { type: narrow ? "plain" : "scroll", bottom: 0, itemGap: narrow ? 8 : 10,
        show: kind === "pie" || data.series.length > 1 }
    };
    if (kind === "pie") {
      var first = data.series[0];
      chart.series = [{
        type: "pie",
        name: first.name,
        radius: narrow ? ["24%", "50%"] : ["32%", "64%"],
        center: ["50%", narrow ? "38%" : "45%"],
        label: { show: !narrow, formatter: function (p) { return p.name + " " + format(p.value); } },
        data: data.categories.map(function (name, i) {
          return { name: name, value: first.data[i] };
        }).filter(function (slice) { return slice.value !== null && slice.value > 0; })
      }];
      return chart;
    }
    chart.grid = { left: 8, right: 16, top: 16, bottom: chart.legend.show ? 36 : 8,
      containLabel: true };
    chart.xAxis = {
      type: "category",
      data: data.categories,
      axisTick: { alignWithLabel: true },
      axisLabel: { interval: 0, hideOverlap: true, rotate: narrow && data.categories.length > 3 ? 35 : 0,
        width: narrow ? 72 : 120, overflow: "truncate" }
    };
    chart.yAxis = { type: "value", minInterval: allWhole(data) ? 1 : 0,
      axisLabel: { formatter: format } };
    chart.series = data.series.map(function (s) {
      return {
        type: kind === "line" ? "line" : "bar",
        name: s.name,
        data: s.data,
        stack: kind === "stacked" ? "all" : undefined,
        connectNulls: false,
        barMaxWidth: 40,
        emphasis: { focus: "series" }
      };
    });
    return chart;
  }

  function container(table) {
    var id = table.getAttribute("data-chart-into");
    var box = id ? document.getElementById(id) : null;
    if (!box) {
      box = document.createElement("div");
      box.className = "chart";
      table.parentNode.insertBefore(box, table);
    }
    box.setAttribute("aria-hidden", "true");
    return box;
  }

  function draw(table) {
    var kind = table.getAttribute("data-chart");
    if (!KINDS[kind] || !window.echarts) {
      return;
    }
    var data = read(table);
    if (!data || !data.series.length || !data.categories.length || !anyNumber(data)) {
      return;
    }
    var box = container(table);
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    var narrow = null;
    function render() {
      var width = box.clientWidth;
      if ((width < NARROW) !== narrow) { // the layout changes only across the threshold
        narrow = width < NARROW;
        chart.setOption(options(kind, data, width), { notMerge: true });
      }
      chart.resize();
    }
    render();
    var pending = false;
    function later() {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(function () { pending = false; render(); });
      }
    }
    window.addEventListener("resize", later);
    if (window.ResizeObserver) {
      new window.ResizeObserver(later).observe(box);
    }
    table.setAttribute("data-chart-drawn", "true");
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
}());
