// Runs a septimbre ONNX graph in onnxruntime-web (wasm backend, one thread), as noteDigger does,
// and checks the graph contract: input `audio` [1, 1, T] at 44.1 kHz; outputs `onset`, `frame`
// (each divided by its own global maximum) and `onset_raw`, `frame_raw`, each
// [1, 84, ceil(T / 512)], all finite.
//
// usage: node check_onnx.mjs MODEL.onnx            -> contract checks, JSON on stdout, exit 0 if ok
//        node check_onnx.mjs MODEL.onnx --input AUDIO.f32 -> also runs raw little-endian float32
//                                                  samples and reports per-output sums (for parity)
//        node check_onnx.mjs MODEL.onnx --bench [--seconds 60] [--repeats 3]
//                                                  -> seconds of wasm compute per minute of audio
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-web';

const SAMPLE_RATE = 44100;
const HOP = 512;
const N_PITCHES = 84;
const INPUT = 'audio';
const OUTPUTS = ['onset', 'frame', 'onset_raw', 'frame_raw'];
const NORM_FLOOR = 1e-12; // septimbre.export.contract.NORM_FLOOR
const MAX_TOL = 1e-5;

function parseArgs(argv) {
  const args = { model: null, bench: false, seconds: 60, repeats: 3, input: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bench') args.bench = true;
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--repeats') args.repeats = Number(argv[++i]);
    else if (a === '--input') args.input = argv[++i];
    else if (!args.model) args.model = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.model) throw new Error('usage: node check_onnx.mjs MODEL.onnx [--bench [--seconds S] [--repeats R]]');
  return args;
}

// Deterministic test audio: a few harmonic notes (2 s each, staggered) plus faint noise.
function synthetic(nSamples, seed = 1) {
  let state = seed >>> 0;
  const rand = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const out = new Float32Array(nSamples);
  const notes = [45, 52, 57, 60, 64, 69, 72, 76];
  for (let i = 0; i < nSamples; i++) {
    const t = i / SAMPLE_RATE;
    let x = 0.01 * rand();
    for (let k = 0; k < notes.length; k++) {
      const start = 0.5 * k;
      const local = (t - start) % 4.0;
      if (t < start || local > 2.0) continue;
      const f0 = 440 * 2 ** ((notes[k] - 69) / 12);
      const env = Math.exp(-2 * local);
      for (let h = 1; h <= 4; h++) x += (0.1 / h) * env * Math.sin(2 * Math.PI * h * f0 * t);
    }
    out[i] = x;
  }
  return out;
}

function stats(data) {
  let max = -Infinity, min = Infinity, finite = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) { finite = false; continue; }
    if (v > max) max = v;
    if (v < min) min = v;
  }
  return { max, min, finite };
}

async function runCase(session, name, audio) {
  const T = audio.length;
  const frames = Math.ceil(T / HOP);
  const problems = [];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await session.run({ [INPUT]: new ort.Tensor('float32', audio, [1, 1, T]) });
  const seconds = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const cpuSeconds = (c1.user + c1.system) / 1e6;
  const summary = { name, samples: T, frames, seconds, cpu_seconds: cpuSeconds, outputs: {} };
  for (const out of OUTPUTS) {
    const tensor = result[out];
    if (!tensor) { problems.push(`missing output ${out}`); continue; }
    const dims = Array.from(tensor.dims);
    if (JSON.stringify(dims) !== JSON.stringify([1, N_PITCHES, frames])) {
      problems.push(`${out} dims ${JSON.stringify(dims)} != [1,${N_PITCHES},${frames}]`);
    }
    if (tensor.type !== 'float32') problems.push(`${out} type ${tensor.type}`);
    const s = stats(tensor.data);
    if (!s.finite) problems.push(`${out} has non-finite values`);
    let sum = 0;
    for (let i = 0; i < tensor.data.length; i++) sum += tensor.data[i];
    summary.outputs[out] = { dims, max: s.max, min: s.min, sum, finite: s.finite };
  }
  for (const out of ['onset', 'frame']) {
    const norm = result[out], raw = result[`${out}_raw`];
    if (!norm || !raw) continue;
    const rawMax = summary.outputs[`${out}_raw`].max;
    const divisor = Math.max(rawMax, NORM_FLOOR);
    // normalised == raw / max(rawMax, floor), so its maximum is 1 unless the raw map is (near) zero
    let worst = 0;
    for (let i = 0; i < norm.data.length; i++) worst = Math.max(worst, Math.abs(norm.data[i] - raw.data[i] / divisor));
    if (!(worst <= MAX_TOL)) problems.push(`${out} != ${out}_raw / max (off by ${worst})`);
    const expectedMax = rawMax >= NORM_FLOOR ? 1 : rawMax / NORM_FLOOR;
    if (!(Math.abs(summary.outputs[out].max - expectedMax) <= MAX_TOL)) {
      problems.push(`${out} max ${summary.outputs[out].max} != ${expectedMax}`);
    }
  }
  summary.problems = problems;
  summary.ok = problems.length === 0;
  return summary;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(args.model)), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const report = {
    model: args.model,
    onnxruntime_web: ort.env.versions?.web ?? null,
    backend: 'wasm',
    threads: ort.env.wasm.numThreads,
    input_names: session.inputNames,
    output_names: session.outputNames,
  };
  const problems = [];
  if (JSON.stringify(session.inputNames) !== JSON.stringify([INPUT])) problems.push(`inputs ${session.inputNames}`);
  for (const out of OUTPUTS) if (!session.outputNames.includes(out)) problems.push(`output ${out} missing`);

  if (args.bench) {
    const n = Math.round(args.seconds * SAMPLE_RATE);
    const audio = synthetic(n);
    await runCase(session, 'warm-up', audio.subarray(0, Math.min(n, 10 * SAMPLE_RATE)));
    const times = [], cpu = [];
    for (let r = 0; r < args.repeats; r++) {
      const c = await runCase(session, 'bench', audio);
      times.push(c.seconds);
      cpu.push(c.cpu_seconds);
    }
    const perMinute = (xs) => xs.map((x) => (x * 60) / args.seconds).sort((a, b) => a - b);
    const wall = perMinute(times), cpuPerMin = perMinute(cpu);
    // cpu: process CPU time (one wasm thread + Node's own): close to the wall time on an idle machine
    report.bench = {
      audio_seconds: args.seconds,
      repeats: args.repeats,
      seconds: times,
      cpu_seconds: cpu,
      seconds_per_minute_min: wall[0],
      seconds_per_minute_median: wall[Math.floor(wall.length / 2)],
      cpu_seconds_per_minute_min: cpuPerMin[0],
      cpu_seconds_per_minute_median: cpuPerMin[Math.floor(cpuPerMin.length / 2)],
    };
  } else {
    const cases = [
      ['synthetic_10s', synthetic(10 * SAMPLE_RATE)],
      ['silence_3s', new Float32Array(3 * SAMPLE_RATE)],
      ['noise_T300', synthetic(300, 7).map((v) => v * 20)],
      ['T1', new Float32Array([0.25])],
      ['T512', synthetic(512, 3)],
      ['T513', synthetic(513, 5)],
    ];
    if (args.input) {
      const bytes = readFileSync(args.input);
      cases.push(['input', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice()]);
    }
    report.cases = [];
    for (const [name, audio] of cases) {
      const c = await runCase(session, name, audio);
      report.cases.push(c);
      for (const p of c.problems) problems.push(`${name}: ${p}`);
    }
  }
  report.problems = problems;
  report.ok = problems.length === 0;
  console.log(JSON.stringify(report));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err) => {
  console.log(JSON.stringify({ ok: false, problems: [String(err && err.stack ? err.stack : err)] }));
  process.exit(2);
});
