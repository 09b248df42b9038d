// ort_run.js — runs one model of make_models.py through ONNX Runtime (onnxruntime-node) on
// the inputs in DIR/inputs.json and writes DIR/ort_outputs.json (dims, type, data of every
// output), the reference onnxcc's outputs are checked against.
//   NODE_PATH=.../node_modules node ort_run.js DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array };

async function main() {
  const dir = process.argv[2];
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
  const feeds = {};
  for (const i of spec.inputs) {
    const A = ARRAYS[i.type];
    const data = i.type === 'int64' ? A.from(i.data.map(BigInt)) : A.from(i.data);
    feeds[i.name] = new ort.Tensor(i.type, data, i.dims);
  }
  const r = await session.run(feeds);
  const out = {};
  for (const name of spec.outputs) {
    const t = r[name];
    out[name] = { type: t.type, dims: Array.from(t.dims), data: Array.from(t.data, Number) };
  }
  fs.writeFileSync(path.join(dir, 'ort_outputs.json'), JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
