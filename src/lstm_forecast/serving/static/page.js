// The live page: selectors from /v1/models, closes and the forecast fan from
// /v1/forecast/latest, refreshed every minute. Plotly comes from /static/plotly.min.js.
"use strict";

const REFRESH_MS = 60000;
const HISTORY_BARS = 72; // three days of hourly closes before the fan
let served = [];

function headers() {
  const key = document.getElementById("key").value || sessionStorage.getItem("apiKey") || "";
  return key ? { Authorization: "Bearer " + key } : {};
}

async function api(path) {
  const response = await fetch(path, { headers: headers() });
  const body = await response.json();
  if (response.status === 401) {
    document.getElementById("key-label").hidden = false;
  }
  if (!response.ok) {
    throw new Error(body.detail || body.title || response.statusText);
  }
  return body;
}

function fill(select, values, keep) {
  const current = keep && values.includes(select.value) ? select.value : values[0];
  select.replaceChildren(...values.map((v) => new Option(v, v)));
  select.value = current;
}

function chosen() {
  const asset = document.getElementById("asset").value;
  return {
    model: document.getElementById("model").value,
    variant: document.getElementById("variant").value,
    asset: asset === "(default)" ? null : asset,
  };
}

function syncSelectors() {
  const kinds = [...new Set(served.map((m) => m.kind))];
  fill(document.getElementById("model"), kinds, true);
  const kind = document.getElementById("model").value;
  const mine = served.filter((m) => m.kind === kind);
  fill(document.getElementById("variant"), mine.map((m) => m.variant), true);
  const assets = [...new Set(mine.flatMap((m) => m.assets))];
  fill(document.getElementById("asset"), assets.length ? assets : ["(default)"], true);
}

function figure(label, value, note) {
  const box = document.createElement("div");
  box.className = "figure";
  const strong = document.createElement("b");
  strong.textContent = value;
  const small = document.createElement("small");
  small.textContent = note;
  box.append(label, strong, small);
  return box;
}

function showHeadline(model) {
  const h = model.headline || {};
  const steps = Object.keys(h).filter((k) => k.startsWith("coverage90_h")).map((k) => k.slice(12));
  const at = steps.length ? steps[0] : null;
  const pct = (x) => (x === undefined ? "n/a" : (100 * x).toFixed(1) + "%");
  const skill = (x) => (x === undefined ? "n/a" : (x >= 0 ? "+" : "") + x.toFixed(3));
  const boxes = [];
  if (at !== null) {
    for (const base of ["random_walk", "ewma", "garch"]) {
      boxes.push(figure("CRPS skill vs " + base.replace("_", " "), skill(h["crps_skill_vs_" + base + "_h" + at]),
        "h=" + at + ", DM p " + (h["dm_p_vs_" + base + "_h" + at] ?? NaN).toPrecision(2)));
    }
    for (const step of steps) {
      boxes.push(figure("90% coverage", pct(h["coverage90_h" + step]), "h=" + step + ", test split"));
    }
  } else {
    boxes.push(figure("Metrics", "n/a", "forecast_metrics.json not found"));
  }
  document.getElementById("headline").replaceChildren(...boxes);
}

function showIdentity(model) {
  const v = model.validation || {};
  document.getElementById("identity").textContent =
    `${model.kind} / ${model.variant} · file ${model.file} · sha256 ${model.fingerprint.slice(0, 16)}… · ` +
    `published ${model.trained_on} · trained on ${model.training_range.start} → ${model.training_range.end_before} · ` +
    `validation ${v.passed ? "passed" : "not passed"} (${v.windows_compared ?? "?"} windows) · ` +
    `window ${model.window_length} × ${model.interval}, horizon ${model.horizon}`;
}

function level(levels, wanted) {
  const index = levels.findIndex((q) => Math.abs(q - wanted) < 1e-9);
  return index;
}

// Each fan line starts at the last close, so the fan opens from the price it forecasts after.
function fanLine(answer, index) {
  const last = answer.history[answer.history.length - 1];
  return {
    x: [last.time, ...answer.forecast.map((s) => s.time)],
    y: [last.close, ...answer.forecast.map((s) => s.quantiles[index])],
  };
}

function band(answer, lo, hi, name, color) {
  const i = level(answer.quantile_levels, lo);
  const j = level(answer.quantile_levels, hi);
  if (i < 0 || j < 0) return [];
  return [
    { ...fanLine(answer, i), mode: "lines", line: { width: 0 }, showlegend: false,
      hoverinfo: "skip", name: name + " low" },
    { ...fanLine(answer, j), mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: color, name },
  ];
}

function draw(answer) {
  const closes = { x: answer.history.map((p) => p.time), y: answer.history.map((p) => p.close),
    mode: "lines", name: "close", line: { color: "#1d3557", width: 1.6 } };
  const m = level(answer.quantile_levels, 0.5);
  const median = { ...fanLine(answer, m), mode: "lines", name: "median",
    line: { color: "#e63946", width: 2 } };
  const traces = [closes, ...band(answer, 0.05, 0.95, "90% band", "rgba(230,57,70,0.15)"),
    ...band(answer, 0.25, 0.75, "50% band", "rgba(230,57,70,0.30)"), median];
  const layout = { margin: { t: 30, r: 20, b: 40, l: 70 }, hovermode: "x unified",
    title: { text: `Last ${answer.history.length} closes and the next ${answer.forecast.length} bars (${answer.interval})`, font: { size: 14 } },
    yaxis: { title: { text: "price" } }, legend: { orientation: "h", y: -0.12 } };
  Plotly.react("chart", traces, layout, { responsive: true, displaylogo: false });
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    served = (await api("/v1/models")).models;
    if (!served.length) throw new Error("no validated forecaster is served");
    syncSelectors();
    const c = chosen();
    const model = served.find((m) => m.kind === c.model && m.variant === c.variant);
    showHeadline(model);
    showIdentity(model);
    const query = new URLSearchParams({ model: c.model, variant: c.variant, history: HISTORY_BARS });
    if (c.asset) query.set("asset", c.asset);
    draw(await api("/v1/forecast/latest?" + query));
    status.textContent = "";
  } catch (error) {
    status.textContent = "Could not refresh: " + error.message;
  }
}

for (const id of ["asset", "model", "variant"]) {
  document.getElementById(id).addEventListener("change", refresh);
}
document.getElementById("key").addEventListener("change", (event) => {
  sessionStorage.setItem("apiKey", event.target.value);
  refresh();
});
refresh();
setInterval(refresh, REFRESH_MS);
