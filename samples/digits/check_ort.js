// check_ort.js — cross-checks the sample's numpy reference with ONNX Runtime, a reference
// nobody here wrote. Needs onnxruntime-node (npm) somewhere outside the repo:
//   mkdir /tmp/ort && cd /tmp/ort && npm install onnxruntime-node --onnxruntime-node-install=skip
//   NODE_PATH=/tmp/ort/node_modules node samples/digits/check_ort.js
// Prints the largest difference from test_data_set_0/output_0.pb and the held-out accuracy;
// exits 1 if the difference exceeds ONNX's test tolerance (rtol 1e-3, atol 1e-7).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const here = __dirname;

// The few protobuf wire-format rules a TensorProto written by numpy_helper needs: varints
// and length-delimited fields. Returns the raw_data (field 9) as float32 values.
function tensorFloats(file) {
  const b = fs.readFileSync(file);
  let i = 0;
  const varint = () => {
    let v = 0, mul = 1, byte;
    do { byte = b[i++]; v += (byte & 0x7f) * mul; mul *= 128; } while (byte & 0x80);
    return v;
  };
  while (i < b.length) {
    const key = varint(), field = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) { varint(); continue; }
    if (wire === 5) { i += 4; continue; }
    if (wire === 1) { i += 8; continue; }
    if (wire !== 2) throw new Error(file + ': unexpected wire type ' + wire);
    const len = varint();
    if (field === 9) {
      const raw = b.subarray(i, i + len);
      return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + len));
    }
    i += len;
  }
  throw new Error(file + ': no raw_data');
}

async function main() {
  const session = await ort.InferenceSession.create(path.join(here, 'digits.onnx'));
  const x0 = tensorFloats(path.join(here, 'test_data_set_0', 'input_0.pb'));
  const want = tensorFloats(path.join(here, 'test_data_set_0', 'output_0.pb'));
  const r0 = await session.run({ input: new ort.Tensor('float32', x0, [1, 64]) });
  const got = r0.probabilities.data;
  let worst = 0, ok = true;
  for (let k = 0; k < want.length; k++) {
    const d = Math.abs(got[k] - want[k]);
    worst = Math.max(worst, d);
    if (d > 1e-7 + 1e-3 * Math.abs(want[k])) ok = false;
  }
  console.log('onnxruntime vs numpy reference, test_data_set_0: max |diff| = ' + worst.toExponential(2));

  const raw = fs.readFileSync(path.join(here, 'heldout.bin'));
  const xs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const labels = fs.readFileSync(path.join(here, 'heldout_labels.bin'));
  let right = 0;
  for (let n = 0; n < labels.length; n++) {
    const x = xs.slice(n * 64, n * 64 + 64);
    const r = await session.run({ input: new ort.Tensor('float32', x, [1, 64]) });
    const p = r.probabilities.data;
    let best = 0;
    for (let k = 1; k < 10; k++) if (p[k] > p[best]) best = k;
    if (best === labels[n]) right++;
  }
  console.log('onnxruntime accuracy on ' + labels.length + ' held-out digits: ' +
              (100 * right / labels.length).toFixed(1) + '%');
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
