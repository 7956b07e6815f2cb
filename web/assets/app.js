// joblot dashboard script. Everything runs from this file: the CSP allows
// no inline script, style or event handler.
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit, stating what they do.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f && f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm("Really " + msg + "?")) {
      ev.preventDefault();
    }
  }, true);

  // The overview's chart: processed and failed attempts per minute over
  // the last day, from chart.json.
  var plot = null;
  function drawChart(el) {
    fetch(el.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var data = [d.x, d.processed, d.failed];
        var width = Math.max(300, el.clientWidth - 20);
        if (plot) {
          plot.setData(data);
          return;
        }
        plot = new uPlot({
          width: width,
          height: 220,
          series: [
            {},
            { label: "processed", stroke: "#2563eb" },
            { label: "failed", stroke: "#dc2626" }
          ],
          // One bucket alone would make uPlot span years: show a step
          // either side of it.
          scales: { x: { time: true, range: function (u, min, max) {
            var step = d.step === "minute" ? 60 : 86400;
            return min === max ? [min - step, max + step] : [min, max];
          } } },
          axes: [{}, {}]
        }, data, el);
      })
      .catch(function (e) { console.warn("joblot chart:", e); });
  }

  function start() {
    var el = document.getElementById("chart");
    if (!el || typeof uPlot === "undefined") {
      return;
    }
    drawChart(el);
    var every = parseInt(el.getAttribute("data-refresh"), 10);
    if (every > 0) {
      setInterval(function () { drawChart(el); }, every);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
