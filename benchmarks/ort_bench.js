// ort_bench.js - the ONNX Runtime contender of benchmarks/run.sh, and its output comparison.
//
//   node ort_bench.js run MODEL_DIR OUT_DIR RUNS BUDGET_S
//       Loads MODEL_DIR/model.onnx (one intra-op and one inter-op thread, sequential,
//       graphOptimizationLevel 'all'), feeds MODEL_DIR/input_K.bin (raw float32, shapes in
//       meta.txt), warms up, times RUNS calls (RUNS 0: as many as fit in BUDGET_S seconds,
//       at least 1) and prints "median_ms X runs N". Writes the outputs as OUT_DIR/output_K.bin
//       unless OUT_DIR is "-".
//   node ort_bench.js profile MODEL_DIR RUNS
//       The same session with ORT's profiler on: after RUNS calls, prints one line per node in
//       execution order, "US NAME OP" with US its mean kernel microseconds (for
//       benchmarks/node_profile.sh). The profiler's JSON goes to a temp dir, removed after.
//   node ort_bench.js compare META REF_DIR GOT_DIR [RTOL ATOL]
//       Compares GOT_DIR/output_K.bin with REF_DIR/output_K.bin (|got-ref| <= atol + rtol*|ref|,
//       defaults 1e-3 and 1e-5); prints "ok max_abs_err E" or "mismatch ..." (exit 1).
'use strict';
const fs = require('fs');
const path = require('path');

function readMeta(file) {
  const meta = { inputs: [], outputs: [] };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'input' || f[0] === 'output') {
      const e = { index: +f[1], name: f[2], count: +f[3], dims: f[4].split('x').map(Number) };
      (f[0] === 'input' ? meta.inputs : meta.outputs).push(e);
    }
  }
  return meta;
}

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function median(a) {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function run(modelDir, outDir, runs, budget) {
  const ort = require('onnxruntime-node');
  const meta = readMeta(path.join(modelDir, 'meta.txt'));
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const i of meta.inputs) {
    feeds[i.name] = new ort.Tensor('float32', readF32(path.join(modelDir, `input_${i.index}.bin`)), i.dims);
  }
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  let t = now();
  let res = await session.run(feeds);
  let one = now() - t;
  // warm-up: a second call unless one call already takes more than a second
  if (one < 1000) {
    t = now();
    res = await session.run(feeds);
    one = now() - t;
  }
  if (runs <= 0) runs = Math.max(1, Math.min(100000, Math.floor(budget * 1000 / Math.max(one, 1e-4))));
  const times = new Array(runs);
  for (let r = 0; r < runs; r++) {
    t = now();
    res = await session.run(feeds);
    times[r] = now() - t;
  }
  if (outDir !== '-') {
    fs.mkdirSync(outDir, { recursive: true });
    for (const o of meta.outputs) {
      const d = res[o.name].data;
      fs.writeFileSync(path.join(outDir, `output_${o.index}.bin`),
                       Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  console.log(`median_ms ${median(times).toFixed(6)} runs ${runs}`);
}

async function profile(modelDir, runs) {
  const ort = require('onnxruntime-node');
  const os = require('os');
  const meta = readMeta(path.join(modelDir, 'meta.txt'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: path.join(tmp, 'p'),
  });
  const feeds = {};
  for (const i of meta.inputs) {
    feeds[i.name] = new ort.Tensor('float32', readF32(path.join(modelDir, `input_${i.index}.bin`)), i.dims);
  }
  for (let r = 0; r < runs; r++) await session.run(feeds);
  await session.endProfiling();
  const file = fs.readdirSync(tmp).filter((f) => f.endsWith('.json'))[0];
  const events = JSON.parse(fs.readFileSync(path.join(tmp, file), 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
  const order = [], sum = new Map(), count = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const key = `${e.name.slice(0, -'_kernel_time'.length)} ${(e.args && e.args.op_name) || '?'}`;
    if (!sum.has(key)) { order.push(key); sum.set(key, 0); count.set(key, 0); }
    sum.set(key, sum.get(key) + e.dur);
    count.set(key, count.get(key) + 1);
  }
  for (const k of order) console.log(`${(sum.get(k) / count.get(k)).toFixed(2)} ${k}`);
}

function compare(metaFile, refDir, gotDir, rtol, atol) {
  const meta = readMeta(metaFile);
  let worst = 0, bad = 0, total = 0, first = '';
  for (const o of meta.outputs) {
    const f = `output_${o.index}.bin`;
    if (!fs.existsSync(path.join(gotDir, f))) {
      console.log(`mismatch: no ${f} written`);
      return 1;
    }
    const ref = readF32(path.join(refDir, f));
    const got = readF32(path.join(gotDir, f));
    if (ref.length !== got.length) {
      console.log(`mismatch: ${o.name} has ${got.length} values, ORT ${ref.length}`);
      return 1;
    }
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(got[i] - ref[i]);
      total++;
      if (!(err <= atol + rtol * Math.abs(ref[i]))) {   // NaN fails too
        if (!bad) first = `${o.name}[${i}] = ${got[i]}, ORT ${ref[i]}`;
        bad++;
      }
      if (err > worst || Number.isNaN(err)) worst = err;
    }
  }
  if (bad) {
    console.log(`mismatch: ${bad} of ${total} values outside rtol ${rtol} atol ${atol} ` +
                `(max abs err ${worst.toExponential(2)}; first ${first})`);
    return 1;
  }
  console.log(`ok max_abs_err ${worst.toExponential(2)}`);
  return 0;
}

const a = process.argv.slice(2);
if (a[0] === 'run' && a.length === 5) {
  run(a[1], a[2], +a[3], +a[4]).catch((e) => {
    console.log(`error: ${String(e.message || e).split('\n')[0]}`);
    process.exit(1);
  });
} else if (a[0] === 'profile' && a.length === 3) {
  profile(a[1], +a[2]).catch((e) => {
    console.log(`error: ${String(e.message || e).split('\n')[0]}`);
    process.exit(1);
  });
} else if (a[0] === 'compare' && a.length >= 4) {
  process.exitCode = compare(a[1], a[2], a[3], a.length > 4 ? +a[4] : 1e-3, a.length > 5 ? +a[5] : 1e-5);
} else {
  console.error('usage: node ort_bench.js run MODEL_DIR OUT_DIR|- RUNS BUDGET_S\n' +
                '       node ort_bench.js profile MODEL_DIR RUNS\n' +
                '       node ort_bench.js compare META REF_DIR GOT_DIR [RTOL ATOL]');
  process.exit(2);
}
