#!/usr/bin/env bash
# Builds switchboard-microbench in Release (build-bench/) and runs it pinned to CPU 0 (the UDP
# benchmark's draining thread pins itself to the last CPU). Writes bench/results/micro.json and
# prints ns per packet, and each figure as a ratio of one 1200-byte UDP sendto on loopback.
# Extra arguments go to the benchmark binary (e.g. --benchmark_filter=Rtp).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BENCH_BUILD_DIR:-build-bench}"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSB_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build_dir" -j"${BENCH_JOBS:-$(nproc)}" --target switchboard-microbench

mkdir -p bench/results
out=bench/results/micro.json
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ]; then pin=(taskset -c 0); fi
"${pin[@]}" "$build_dir/bench/switchboard-microbench" \
  --benchmark_repetitions="${BENCH_REPETITIONS:-3}" --benchmark_min_time="${BENCH_MIN_TIME:-0.3}" \
  --benchmark_report_aggregates_only=true --benchmark_out="$out" --benchmark_out_format=json \
  "$@" >/dev/null 2>&1

# The table: medians of the repetitions; ns per item (packet, datagram or feedback packet).
node - "$out" <<'JS'
const fs = require('fs');
// Google Benchmark writes NaN for the spread of a constant counter: not JSON.
const text = fs.readFileSync(process.argv[2], 'utf8').replace(/:\s*-?(nan|inf)\b/gi, ': null');
const data = JSON.parse(text);
const rows = data.benchmarks.filter((b) => b.aggregate_name === 'median');
// Time per item: per iteration, divided by the batch a benchmark sends per iteration.
const perItemNs = (b, key) => {
  const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[b.time_unit] || 1;
  return (b[key] * scale) / (b.batch || 1);
};
const udp = rows.find((b) => b.run_name.startsWith('BM_UdpSendto'));
const udpNs = udp ? perItemNs(udp, 'cpu_time') : NaN;
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log(`${data.context.host_name}: ${data.context.num_cpus} CPUs, ${data.context.mhz_per_cpu} MHz; ` +
            `${data.context.library_build_type} benchmark library`);
console.log(pad('benchmark', 44) + lpad('ns/item cpu', 12) + lpad('ns/item wall', 13) +
            lpad('x UDP send', 11));
for (const b of rows) {
  const cpu = perItemNs(b, 'cpu_time');
  const wall = perItemNs(b, 'real_time');
  const name = b.run_name + (b.label ? ` (${b.label})` : '');
  console.log(pad(name, 44) + lpad(cpu.toFixed(1), 12) + lpad(wall.toFixed(1), 13) +
              lpad((cpu / udpNs).toFixed(3), 11));
}
console.log(`x UDP send: CPU time per item / CPU time of one 1200-byte sendto on loopback ` +
            `(${udpNs.toFixed(0)} ns)`);
JS
echo "results: $out"
