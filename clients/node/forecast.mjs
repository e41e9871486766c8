#!/usr/bin/env node
// An outside consumer of forecaster.onnx: raw candles in, price quantiles out.
// It needs only the ONNX file, its JSON sidecar and a CSV; no feature code of the project:
// the graph computes the features, scaling, network and prices itself.
//
//   node clients/node/forecast.mjs <candles.csv> [--model data/06_models/forecaster.onnx]
//        [--sidecar data/06_models/forecaster.json] [--json]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import ort from "onnxruntime-node";

const USAGE =
  "usage: node forecast.mjs <candles.csv> [--model FILE.onnx] [--sidecar FILE.json] [--json]";
const COLUMNS = ["open", "high", "low", "close", "volume"]; // volume = base asset, not quote
const UNIT_SECONDS = { s: 1, min: 60, h: 3600, d: 86400 };

function fail(message) {
  console.error(`forecast.mjs: ${message}`);
  process.exit(1);
}

function readText(path, what) {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return fail(`cannot read the ${what} ${path}: ${error.code ?? error.message}`);
  }
}

function intervalSeconds(interval) {
  const match = /^(\d+)\s*(s|min|h|d)$/i.exec(interval);
  if (!match) fail(`the sidecar's interval "${interval}" is not <number><s|min|h|d>`);
  return Number(match[1]) * UNIT_SECONDS[match[2].toLowerCase()];
}

// "YYYY-MM-DD HH:MM:SS" in UTC -> epoch seconds. Parsed by hand: `new Date(text)` would read
// this form as local time, which shifts the hour-of-day features by the machine's offset.
function utcSeconds(text, line) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) fail(`line ${line}: timestamp "${text}" is not YYYY-MM-DD HH:MM:SS (UTC)`);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

// The last `rows` candles of the CSV, oldest first, as the forecaster's two input tensors.
function readCandles(path, rows) {
  const lines = readText(path, "candles CSV").split(/\r?\n/).filter((l) => l.trim());
  const header = lines[0].split(",").map((name) => name.trim());
  const at = ["timestamp", ...COLUMNS].map((name) => {
    const index = header.indexOf(name);
    if (index < 0) fail(`${path}: no "${name}" column in the header (${header.join(",")})`);
    return index;
  });
  const body = lines.slice(1).slice(-rows);
  if (body.length < rows) fail(`${path}: ${body.length} candle rows, the forecaster needs ${rows} (contract.context_length + 1)`);
  const candles = new Float64Array(rows * COLUMNS.length);
  const openTime = new BigInt64Array(rows);
  body.forEach((line, row) => {
    const cells = line.split(",");
    const lineNo = lines.length - rows + row + 1;
    openTime[row] = BigInt(utcSeconds(cells[at[0]], lineNo));
    COLUMNS.forEach((name, col) => {
      const value = Number(cells[at[col + 1]]);
      if (!Number.isFinite(value)) fail(`line ${lineNo}: ${name} "${cells[at[col + 1]]}"`);
      candles[row * COLUMNS.length + col] = value;
    });
  });
  return { candles, openTime };
}

async function run(session, candles, openTime, rows) {
  const out = await session.run({
    candles: new ort.Tensor("float64", candles, [1, rows, COLUMNS.length]),
    open_time: new ort.Tensor("int64", openTime, [1, rows]),
  });
  // `extrapolating` (features beyond the training range) is absent from older forecasters.
  const extrapolating = out.extrapolating ? Boolean(out.extrapolating.data[0]) : null;
  return { prices: out.close_quantiles.data, ok: Boolean(out.window_ok.data[0]), extrapolating };
}

// The sidecar's reference example must reproduce before any forecast is trusted: it catches a
// wrong runtime, a file that does not match its sidecar, or a broken tensor layout.
async function checkReference(session, example, rows) {
  const flat = Float64Array.from(example.candles.flat());
  const times = BigInt64Array.from(example.open_time.map(BigInt));
  const { prices, ok } = await run(session, flat, times, rows);
  const expected = example.close_quantiles.flat();
  const tolerance = example.relative_tolerance;
  const worst = expected.reduce(
    (max, want, i) => Math.max(max, Math.abs(prices[i] - want) / Math.abs(want)),
    0,
  );
  if (prices.length !== expected.length || !ok || !(worst <= tolerance)) {
    fail(
      `the sidecar's reference example does not reproduce (max relative difference ${worst}, ` +
        `tolerance ${tolerance}, window_ok ${ok}): this runtime or setup is not giving the ` +
        `validated results; check that --model and --sidecar belong together.`,
    );
  }
  return worst;
}

const { values: opts, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        model: { type: "string", default: "data/06_models/forecaster.onnx" },
        sidecar: { type: "string", default: "data/06_models/forecaster.json" },
        json: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    return fail(`${error.message}\n${USAGE}`);
  }
})();
if (positionals.length !== 1) fail(USAGE);
const sidecar = JSON.parse(readText(opts.sidecar, "sidecar"));
const { window_length: windowLength, context_length: contextLength, horizon, quantiles, interval } =
  sidecar.contract;
// The forecaster reads context_length + 1 bars (older sidecars: window_length + 1); the
// network sees the features of the last window_length of them.
const rows = (contextLength ?? windowLength) + 1;
const session = await ort.InferenceSession.create(opts.model).catch((error) =>
  fail(`cannot load the model ${opts.model}: ${error.message}`),
);
const referenceError = await checkReference(session, sidecar.reference_example, rows);

const { candles, openTime } = readCandles(positionals[0], rows);
const { prices, ok, extrapolating } = await run(session, candles, openTime, rows);
const origin = Number(openTime[rows - 1]);
const step = intervalSeconds(interval);
const forecast = Array.from({ length: horizon }, (_, h) => ({
  forecast_time: new Date((origin + (h + 1) * step) * 1000).toISOString(),
  quantiles: Array.from(prices.slice(h * quantiles.length, (h + 1) * quantiles.length)),
}));

if (opts.json) {
  const origin_time = new Date(origin * 1000).toISOString();
  const reference_error = referenceError;
  const answer = { origin_time, quantiles, window_ok: ok, extrapolating, reference_error, forecast };
  console.log(JSON.stringify(answer));
} else {
  console.log(`forecast_time ${quantiles.map((q) => `q${q}`).join(" ")}`);
  for (const row of forecast) {
    console.log(`${row.forecast_time} ${row.quantiles.map((p) => p.toFixed(2)).join(" ")}`);
  }
  console.log(`window_ok ${ok}`);
  console.log(`extrapolating ${extrapolating}`);
}
if (!ok) {
  // The graph checked the window itself: printed for inspection, but not a usable forecast.
  console.error(
    `forecast.mjs: window_ok is false: the last ${rows} rows of ${positionals[0]} are not ` +
      `consecutive ${interval} bars, oldest first, with positive prices; ignore this forecast ` +
      `and fix the CSV (sort oldest first, fill or cut gaps).`,
  );
  process.exitCode = 2;
}
