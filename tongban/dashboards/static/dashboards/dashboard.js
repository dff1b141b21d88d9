/* Draws the dashboard's charts from the figures the page embeds (json_script "dashboard-data").
   Clicking a point or a bar opens the list of the cases behind it (the drill-down page). */
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var L = data.labels;

  function go(params) {
    var url = data.drill;
    Object.keys(params).forEach(function (key) {
      url += "&" + encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
    });
    window.location.href = url;
  }
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function chart(id, option, onClick) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    option.animation = false;
    // Tooltips drawn on the canvas: HTML tooltips carry style attributes, which the CSP refuses.
    option.tooltip = Object.assign({ trigger: "axis" }, option.tooltip || {}, { renderMode: "richText" });
    option.grid = option.grid || { left: 48, right: 48, top: 40, bottom: 40, containLabel: true };
    c.setOption(option);
    if (onClick) { c.on("click", onClick); }
    window.addEventListener("resize", function () { c.resize(); });
  }
  var days = data.days.map(function (d) { return d.day; });
  var months = data.months.map(function (m) { return m.month; });

  chart("chart-days", {
    legend: { data: [L.submitted, L.online, L.late] },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 4 }],
    series: [
      { name: L.submitted, type: "line", showSymbol: false, data: data.days.map(function (d) { return d.submitted; }) },
      { name: L.online, type: "line", showSymbol: false, data: data.days.map(function (d) { return d.online; }) },
      { name: L.late, type: "bar", data: data.days.map(function (d) { return d.late; }) }
    ]
  }, function (p) {
    var kind = p.seriesIndex === 1 ? "online" : p.seriesIndex === 2 ? "late" : "submitted";
    go({ kind: kind, day: days[p.dataIndex] });
  });

  var rateKinds = ["online", "one_visit", "on_time"];
  chart("chart-rates", {
    legend: { data: [L.online_rate, L.one_visit_rate, L.on_time_rate] },
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "–" : v + "%"; } },
    xAxis: { type: "category", data: months },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: L.online_rate, type: "line", data: data.months.map(function (m) { return pct(m.online_rate); }) },
      { name: L.one_visit_rate, type: "line", data: data.months.map(function (m) { return pct(m.one_visit_rate); }) },
      { name: L.on_time_rate, type: "line", data: data.months.map(function (m) { return pct(m.on_time_rate); }) }
    ]
  }, function (p) { go({ kind: rateKinds[p.seriesIndex], month: months[p.dataIndex] }); });

  var depts = data.departments;
  chart("chart-departments", {
    legend: { data: [L.submitted, L.late] },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: depts.map(function (d) { return d.name; }) },
    series: [
      { name: L.submitted, type: "bar", data: depts.map(function (d) { return d.submitted; }) },
      { name: L.late, type: "bar", data: depts.map(function (d) { return d.late; }) }
    ]
  }, function (p) {
    var url = data.drill.replace(/([?&])department=[^&]*/, "$1");
    window.location.href = url + "&department=" + depts[p.dataIndex].id + "&kind=" + (p.seriesIndex === 1 ? "late" : "submitted");
  });

  var items = data.items;
  chart("chart-items", {
    legend: { data: [L.avg_duration_days, L.avg_promised_days] },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value" },
    yAxis: { type: "category", inverse: true, data: items.map(function (i) { return i.name; }), axisLabel: { width: 160, overflow: "truncate" } },
    series: [
      { name: L.avg_duration_days, type: "bar", data: items.map(function (i) { return i.avg_duration_days; }) },
      { name: L.avg_promised_days, type: "bar", data: items.map(function (i) { return i.avg_promised_days; }) }
    ]
  }, function (p) {
    var url = data.drill.replace(/([?&])item=[^&]*/, "$1");
    window.location.href = url + "&item=" + items[p.dataIndex].id + "&kind=decided";
  });

  chart("chart-sharing", {
    legend: { data: [L.exchange_calls, L.licence_uses] },
    xAxis: { type: "category", data: months },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: L.exchange_calls, type: "bar", data: data.months.map(function (m) { return m.exchange_calls; }) },
      { name: L.licence_uses, type: "bar", data: data.months.map(function (m) { return m.licence_uses; }) }
    ]
  });

  chart("chart-reviews", {
    legend: { data: [L.reviews, L.bad_reviews, L.satisfaction_rate, L.rectification_rate] },
    xAxis: { type: "category", data: months },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
    series: [
      { name: L.reviews, type: "bar", data: data.months.map(function (m) { return m.reviews; }) },
      { name: L.bad_reviews, type: "bar", data: data.months.map(function (m) { return m.bad_reviews; }) },
      { name: L.satisfaction_rate, type: "line", yAxisIndex: 1, data: data.months.map(function (m) { return pct(m.satisfaction_rate); }) },
      { name: L.rectification_rate, type: "line", yAxisIndex: 1, data: data.months.map(function (m) { return pct(m.rectification_rate); }) }
    ]
  });
}());
