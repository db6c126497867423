// The operator dashboard: polls /api/data and draws, per service, request rate, 5xx rate
// and p95 latency per release with uPlot, with switch / rollback / alert markers.
"use strict";

const METRICS = [
  { key: "rate", title: "requests / s" },
  { key: "errors", title: "5xx %" },
  { key: "p95", title: "p95 latency (ms)" },
];
const COLOURS = ["#1565c0", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"];
const MARKER_COLOURS = { switch: "#1565c0", rollback: "#ef6c00", alert: "#c62828",
                         canary: "#6a1b9a" };
const points = [];
let markers = [];
let last = 0;
const charts = {}; // "service/metric" -> { plot, releases }

function hhmmss(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}

// uPlot plugin: a vertical line per marker in the visible range, with its kind.
function markerPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        const [min, max] = [u.scales.x.min, u.scales.x.max];
        ctx.save();
        for (const m of markers) {
          if (m.t < min || m.t > max) continue;
          const x = Math.round(u.valToPos(m.t, "x", true));
          ctx.strokeStyle = MARKER_COLOURS[m.kind] || "#333";
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash(m.kind === "alert" ? [4, 4] : []);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          ctx.fillText(m.kind, x + 3, u.bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
        u.root.dataset.markersDrawn = String(markers.filter((m) => m.t >= min && m.t <= max).length);
      }],
    },
  };
}

function seriesData(service, metric) {
  const mine = points.filter((p) => p.service === service);
  const releases = [...new Set(mine.map((p) => p.release))].sort();
  const xs = [...new Set(mine.map((p) => p.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = releases.map(() => xs.map(() => null));
  for (const p of mine) ys[releases.indexOf(p.release)][index.get(p.t)] = p[metric];
  // The x range reaches the markers too, so a switch just made is visible.
  return { releases, data: [xs, ...ys] };
}

function draw() {
  const host = document.getElementById("charts");
  const services = [...new Set(points.map((p) => p.service))].sort();
  for (const service of services) {
    for (const metric of METRICS) {
      const id = `${service}/${metric.key}`;
      const { releases, data } = seriesData(service, metric.key);
      let chart = charts[id];
      if (chart && chart.releases.join() !== releases.join()) {
        chart.plot.destroy();
        chart.box.remove();
        chart = undefined;
      }
      if (!chart) {
        const box = document.createElement("div");
        box.className = "chart";
        box.dataset.chart = id;
        box.innerHTML = `<h3>${service}: ${metric.title}</h3>`;
        host.appendChild(box);
        const opts = {
          width: 560, height: 220, plugins: [markerPlugin()],
          scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max || 0, 1)] } },
          series: [{}, ...releases.map((r, i) => ({
            label: r, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false,
          }))],
        };
        chart = { plot: new uPlot(opts, data, box), releases, box };
        charts[id] = chart;
      } else {
        chart.plot.setData(data);
      }
    }
  }
}

function list(id, items, render) {
  const ol = document.getElementById(id);
  ol.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    render(li, item);
    return li;
  }));
}

async function refresh() {
  try {
    const response = await fetch(`/api/data?since=${last}`);
    const body = await response.json();
    for (const p of body.points) { points.push(p); last = Math.max(last, p.t); }
    markers = body.markers;
    document.getElementById("environment").textContent = body.environment;
    document.getElementById("serving").textContent = "serving: " +
      Object.entries(body.serving).map(([s, r]) => `${s} ${r || "-"}`).join(", ");
    document.getElementById("guard").textContent = `guard: ${body.guard}`;
    document.getElementById("database").textContent = `database: ${body.database}`;
    list("alerts", body.open_alerts, (li, a) => { li.textContent = `ALERT OPEN: ${a}`; });
    list("markers", markers.slice().reverse(), (li, m) => {
      li.dataset.kind = m.kind;
      li.className = m.kind;
      li.innerHTML = `<time></time>`;
      li.firstChild.textContent = hhmmss(m.t);
      li.append(`${m.kind}: ${m.label}`);
    });
    list("timeline", body.timeline, (li, e) => {
      li.className = e.level;
      li.innerHTML = `<time></time>`;
      li.firstChild.textContent = hhmmss(e.t);
      li.append(e.message);
    });
    draw();
  } catch (err) {
    document.getElementById("guard").textContent = `dashboard: cannot reach the control plane (${err})`;
  }
}

refresh();
setInterval(refresh, 2000);
