#!/usr/bin/env python3
"""Report helper for bench/capacity: merges switchboard-load's report with the machine's limit
(bench/limit) and writes the tables, bench/results/*.json, the vs-janus markdown and plot.
Standard library only."""
import json
import os
import subprocess
import sys

MAX_LOSS_PERCENT = 1.0
MAX_P99_MS = 50.0


def load(path):
    with open(path) as f:
        return json.load(f)


def cpu_times():
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(v) for v in parts[1:]]
                out[parts[0]] = (sum(vals), vals[3] + vals[4])  # total, idle + iowait
    return out


def busy_percent(seconds=1.0):
    import time
    a = cpu_times()
    time.sleep(seconds)
    b = cpu_times()
    busy = {}
    for cpu in a:
        total = b[cpu][0] - a[cpu][0]
        idle = b[cpu][1] - a[cpu][1]
        busy[cpu] = round(100.0 * (total - idle) / total, 1) if total else 0.0
    return busy


def machine(out_path, wait_idle_s="0"):
    """The CPU model and how busy each core was just before the run (other work running on
    the machine skews latency; the report keeps it). Waits up to wait_idle_s seconds for every
    core to be under 10 % busy."""
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    busy = busy_percent()
    waited = 0
    while any(v > 10 for v in busy.values()) and waited < float(wait_idle_s):
        busy = busy_percent()
        waited += 1
    top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"],
                         capture_output=True, text=True).stdout.splitlines()[:3]
    m = {"cpu_model": model, "cpus": os.cpu_count(), "busy_percent_before": busy,
         "waited_for_idle_s": waited,
         "top_processes_before": [t.strip() for t in top]}
    with open(out_path, "w") as f:
        json.dump(m, f, indent=2)
    if any(v > 10 for v in busy.values()):
        print(f"bench/capacity: WARNING: other work is running ({busy}; top: {m['top_processes_before']}); "
              "latency and loss figures will suffer", file=sys.stderr)


def finish(report_path, limit_path, server):
    r = load(report_path)
    limit = load(limit_path)
    machine_path = os.path.join(os.path.dirname(limit_path), "machine.json")
    if os.path.exists(machine_path):
        r["machine"] = load(machine_path)
    sfu = r.get("sfu") or {}
    w = r.get("window_s") or 1
    sfu["server"] = server
    sfu["in_mbit_per_s"] = r["sent"]["mbit_per_s"]
    sfu["out_mbit_per_s"] = r["received"]["mbit_per_s"]
    lim = limit.get("out_pps_per_core")
    sfu["fraction_of_limit"] = round(sfu.get("out_pps_per_core", 0) / lim, 4) if lim else None
    r["sfu"] = sfu
    r["limit"] = limit
    r["stream_count"] = len(r.pop("streams", []))
    r["held"] = held(r)
    json.dump(r, sys.stdout, indent=2)
    sys.stdout.write("\n")


def held(r):
    c = r["clients"]
    return bool(r["setup"]["all_ready"] and c["streams_received"] == c["streams_expected"] and
                c["loss_percent"] <= MAX_LOSS_PERCENT and c["latency_ms"]["p99"] <= MAX_P99_MS)


def machine_line(m):
    if not m:
        return "Machine: unknown."
    busy = ", ".join(f"{k} {v} %" for k, v in m["busy_percent_before"].items())
    return (f"Machine: {m['cpu_model']}, {m['cpus']} cores; busy just before the run: {busy}"
            + (" (other work was running: " + "; ".join(m["top_processes_before"]) + ")"
               if any(v > 10 for v in m["busy_percent_before"].values()) else "") + ".")


def table(path):
    r = load(path)
    s, c, sfu, lim = r["scenario"], r["clients"], r["sfu"], r["limit"]
    lat, kf = c["latency_ms"], c["time_to_first_keyframe_ms"]
    print(f"{sfu['server']}: {s['rooms']} room(s) x {s['participants']} participants, "
          f"{s['video_kbps']} kbit/s @ {s['fps']} fps + audio, window {r['window_s']} s")
    print(f"  {'per worker core':28} {'packets/s':>12} {'Mbit/s':>10}")
    print(f"  {'in (publishers -> SFU)':28} {sfu['in_pps']:>12.0f} {sfu['in_mbit_per_s']:>10.1f}")
    print(f"  {'out (SFU -> subscribers)':28} {sfu['out_pps']:>12.0f} "
          f"{sfu['out_mbit_per_s']:>10.1f}")
    print(f"  CPU {sfu['cpu_percent']:.1f} % of one core, RSS {sfu['rss_mb']:.1f} MB, "
          f"{sfu['us_per_packet']:.2f} us per packet in+out")
    frac = sfu.get("fraction_of_limit")
    print(f"  out packets/s per core at this cost {sfu['out_pps_per_core']:.0f}"
          + (f" = {100 * frac:.1f} % of the machine's limit {lim['out_pps_per_core']:.0f} "
             f"({lim.get('profile')}, send {lim['send_us']['best']} us + protect)"
             if frac is not None else ""))
    print(f"  clients: loss {c['loss_percent']:.3f} %, latency ms p50 {lat['p50']:.2f} "
          f"p95 {lat['p95']:.2f} p99 {lat['p99']:.2f}, first key frame ms p50 {kf['p50']:.0f} "
          f"max {kf['max']:.0f}, streams {c['streams_received']}/{c['streams_expected']}")
    print(f"  generator CPU {r['generator']['cpu_percent']:.1f} % of a core "
          f"({r['generator']['us_per_packet']:.2f} us per packet)")
    print("  " + machine_line(r.get("machine")))
    print(f"  other work during the window: "
          f"{r.get('machine_window', {}).get('other_cpu_percent', 0):.1f} % of a core")


def row(path):
    r = load(path)
    c, sfu = r["clients"], r["sfu"]
    print(f"  {sfu['server']:11} rooms {r['scenario']['rooms']:3}  out {sfu['out_pps']:9.0f} pps "
          f"{sfu['out_mbit_per_s']:7.1f} Mbit/s  CPU {sfu['cpu_percent']:5.1f} %  "
          f"RSS {sfu['rss_mb']:6.1f} MB  loss {c['loss_percent']:6.3f} %  "
          f"p50/p99 {c['latency_ms']['p50']:6.2f}/{c['latency_ms']['p99']:6.2f} ms  "
          f"streams {c['streams_received']}/{c['streams_expected']}  "
          f"gen CPU {r['generator']['cpu_percent']:5.1f} %  "
          f"other {r.get('machine_window', {}).get('other_cpu_percent', 0):5.1f} %  "
          f"{'held' if r['held'] else 'NOT held'}")


def step_summary(r):
    c, sfu = r["clients"], r["sfu"]
    return {
        "rooms": r["scenario"]["rooms"],
        "participants": r["scenario"]["participants"] * r["scenario"]["rooms"],
        "in_pps": sfu["in_pps"],
        "out_pps": sfu["out_pps"],
        "in_mbit_per_s": sfu["in_mbit_per_s"],
        "out_mbit_per_s": sfu["out_mbit_per_s"],
        "cpu_percent": sfu["cpu_percent"],
        "rss_mb": sfu["rss_mb"],
        "out_pps_per_core": sfu["out_pps_per_core"],
        "fraction_of_limit": sfu.get("fraction_of_limit"),
        "loss_percent": c["loss_percent"],
        "latency_ms": c["latency_ms"],
        "time_to_first_keyframe_ms": c["time_to_first_keyframe_ms"],
        "streams_received": c["streams_received"],
        "streams_expected": c["streams_expected"],
        "generator_cpu_percent": r["generator"]["cpu_percent"],
        "other_cpu_percent": r.get("machine_window", {}).get("other_cpu_percent"),
        "held": r["held"],
    }


def search_result(limit, reports):
    steps = [step_summary(r) for r in reports]
    held_steps = [s for s in steps if s["held"]]
    best = max(held_steps, key=lambda s: s["out_pps"]) if held_steps else None
    lim = limit.get("out_pps_per_core")
    out = {
        "machine": reports[0].get("machine") if reports else None,
        "criteria": {"max_loss_percent": MAX_LOSS_PERCENT, "max_p99_latency_ms": MAX_P99_MS},
        "limit": limit,
        "steps": steps,
        "stopped_by": ("load" if steps and not steps[-1]["held"] else "max-rooms"),
        "highest_held": best,
    }
    if best:
        # The load held: out-packets/s the worker actually forwarded at the highest step held,
        # and what it would forward on a whole core at that step's cost per packet.
        out["sfu"] = {
            "out_pps": best["out_pps"],
            "out_pps_per_core": best["out_pps_per_core"],
            "cpu_percent": best["cpu_percent"],
            "rss_mb": best["rss_mb"],
            "fraction_of_limit": round(best["out_pps"] / lim, 4) if lim else None,
            "per_core_fraction_of_limit": best["fraction_of_limit"],
        }
        out["clients"] = {"loss_percent": best["loss_percent"], "latency_ms": best["latency_ms"]}
    return out


def search(limit_path, *paths):
    limit = load(limit_path)
    json.dump(search_result(limit, [load(p) for p in paths]), sys.stdout, indent=2)
    sys.stdout.write("\n")


def search_table(path):
    s = load(path)
    lim = s["limit"].get("out_pps_per_core")
    print(f"capacity search (rooms of 10; held = loss <= {MAX_LOSS_PERCENT} % and p99 <= "
          f"{MAX_P99_MS} ms); machine's limit {lim} out packets/s per core")
    print(f"  {'rooms':>5} {'out pps':>9} {'Mbit/s':>8} {'CPU %':>6} {'per core':>9} "
          f"{'loss %':>7} {'p99 ms':>7} {'gen CPU %':>9} {'other %':>7}  held")
    for st in s["steps"]:
        print(f"  {st['rooms']:>5} {st['out_pps']:>9.0f} {st['out_mbit_per_s']:>8.1f} "
              f"{st['cpu_percent']:>6.1f} {st['out_pps_per_core']:>9.0f} "
              f"{st['loss_percent']:>7.3f} {st['latency_ms']['p99']:>7.2f} "
              f"{st['generator_cpu_percent']:>9.1f} {st['other_cpu_percent'] or 0:>7.1f}  "
              f"{'yes' if st['held'] else 'NO'}")
    b = s.get("highest_held")
    if b:
        print(f"highest load held: {b['rooms']} rooms, {b['out_pps']:.0f} out packets/s at "
              f"{b['cpu_percent']:.1f} % CPU = {100 * s['sfu']['fraction_of_limit']:.1f} % of "
              f"the limit ({b['out_pps_per_core']:.0f} per core at that cost = "
              f"{100 * (b['fraction_of_limit'] or 0):.1f} %); stopped by {s['stopped_by']}")
    else:
        print("no step held")


def limit_path_text(limit):
    """Where the limit's datagrams went: loopback, or a socket in another namespace (veth)."""
    sink = limit.get("sink") or {}
    if sink.get("netns"):
        return f"the veth pair to {sink.get('ip')}"
    return "loopback"


def vs_janus(limit_path, results_dir, sb_paths, janus_paths):
    limit = load(limit_path)
    servers = {
        "switchboard": [load(p) for p in sb_paths.split()],
        "janus": [load(p) for p in janus_paths.split()],
    }
    out = {"limit": limit,
           "machine": servers["switchboard"][0].get("machine") if servers["switchboard"] else None,
           "servers": {k: search_result(limit, v) for k, v in servers.items()}}
    # The keys every scenario's report has (sfu.*, clients.*): switchboard's capacity here;
    # Janus's is under servers.janus.
    for key in ("sfu", "clients"):
        if key in out["servers"]["switchboard"]:
            out[key] = out["servers"]["switchboard"][key]
    with open(os.path.join(results_dir, "vs-janus.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    lim = limit.get("out_pps_per_core")
    lines = [
        "# Switchboard vs Janus: conference-10",
        "",
        "Rooms of 10 participants, everyone publishing 30 fps ~1 Mbit/s VP8-like video and Opus-like "
        "audio and subscribing to everyone; one server process pinned to one core, the same "
        "switchboard-load on the other core, each in its own network namespace joined by a veth "
        "pair (both servers' packets take the same path). Machine's limit (kernel UDP send over "
        f"{limit_path_text(limit)} + SRTP {limit.get('profile')}, one core): {lim} out "
        "packets/s. 'per core' = out packets/s / "
        "CPU seconds; 'of limit' = per core / limit; 'other work' = CPU used by other processes "
        "on the machine during the window (% of a core; latency suffers when it is not near 0).",
        "",
        machine_line(out.get("machine")),
        "",
        "| server | rooms | in pps | out pps | out Mbit/s | CPU % | RSS MB | per core pps | of limit "
        "| loss % | p50 ms | p95 ms | p99 ms | 1st key frame p50 ms | streams | other work % | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, reps in servers.items():
        for r in reps:
            st = step_summary(r)
            lat = st["latency_ms"]
            frac = st["fraction_of_limit"]
            lines.append(
                f"| {name} | {st['rooms']} | {st['in_pps']:.0f} | {st['out_pps']:.0f} | "
                f"{st['out_mbit_per_s']:.1f} | {st['cpu_percent']:.1f} | {st['rss_mb']:.1f} | "
                f"{st['out_pps_per_core']:.0f} | "
                f"{'%.1f %%' % (100 * frac) if frac is not None else '-'} | "
                f"{st['loss_percent']:.3f} | {lat['p50']:.2f} | {lat['p95']:.2f} | "
                f"{lat['p99']:.2f} | {st['time_to_first_keyframe_ms']['p50']:.0f} | "
                f"{st['streams_received']}/{st['streams_expected']} | "
                f"{st['other_cpu_percent']} | {'yes' if st['held'] else 'no'} |")
    lines += ["", f"Capacity (the highest load held: loss <= {MAX_LOSS_PERCENT} % and p99 <= "
              f"{MAX_P99_MS} ms):", ""]
    for name, res in out["servers"].items():
        best = res.get("highest_held")
        if not best:
            lines.append(f"- {name}: no load held")
            continue
        sfu = res["sfu"]
        lines.append(
            f"- {name}: {best['rooms']} room(s) of 10, {best['out_pps']:.0f} out packets/s at "
            f"{best['cpu_percent']:.1f} % of its core = {100 * (sfu['fraction_of_limit'] or 0):.1f} "
            f"% of the limit; {best['out_pps_per_core']:.0f} out packets/s per core of CPU at that "
            f"cost = {100 * (sfu['per_core_fraction_of_limit'] or 0):.1f} % of the limit; loss "
            f"{best['loss_percent']:.3f} %, p50/p99 {best['latency_ms']['p50']:.2f}/"
            f"{best['latency_ms']['p99']:.2f} ms"
            + ("" if res["stopped_by"] == "load" else " (the largest load tried)"))
    md = os.path.join(results_dir, "vs-janus.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(results_dir, {k: v["steps"] for k, v in out["servers"].items()})


def plot(results_dir, steps):
    # Against the offered load (rooms), not what a server managed to forward: an overloaded
    # server forwards less as the load grows, which would fold its curve back on itself.
    data = os.path.join(results_dir, "vs-janus.dat")
    with open(data, "w") as f:
        for name, summaries in steps.items():
            f.write(f"# {name}: rooms p50_ms p99_ms loss_percent cpu_percent out_pps\n")
            for st in summaries:
                f.write(f"{st['rooms']} {max(st['latency_ms']['p50'], 0.05)} "
                        f"{max(st['latency_ms']['p99'], 0.05)} {st['loss_percent']} "
                        f"{st['cpu_percent']} {st['out_pps']:.0f}\n")
            f.write("\n\n")
    png = os.path.join(results_dir, "vs-janus.png")
    script = f"""
set terminal pngcairo size 1000,1000 noenhanced
set output '{png}'
set multiplot layout 3,1 title 'conference-10 against load: rooms of 10, each ~1,730 packets/s in and ~15,600 out offered; one core each'
set grid
set key top left
set xlabel 'rooms of 10'
set ylabel 'one-way latency ms (log)'
set logscale y
set yrange [0.1:*]
plot '{data}' index 0 using 1:2 with linespoints title 'switchboard p50', \\
     '{data}' index 0 using 1:3 with linespoints title 'switchboard p99', \\
     '{data}' index 1 using 1:2 with linespoints title 'janus p50', \\
     '{data}' index 1 using 1:3 with linespoints title 'janus p99'
unset logscale y
set ylabel 'loss %'
set yrange [0:1<*]
plot '{data}' index 0 using 1:4 with linespoints title 'switchboard loss', \\
     '{data}' index 1 using 1:4 with linespoints title 'janus loss'
set ylabel 'forwarded packets/s'
set yrange [0:*]
plot '{data}' index 0 using 1:6 with linespoints title 'switchboard out', \\
     '{data}' index 1 using 1:6 with linespoints title 'janus out'
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no plot: {e} (apt-get install gnuplot-nox)", file=sys.stderr)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "finish":
        finish(*args)
    elif cmd == "machine":
        machine(*args)
    elif cmd == "table":
        table(*args)
    elif cmd == "row":
        row(*args)
    elif cmd == "held":
        sys.exit(0 if load(args[0])["held"] else 1)
    elif cmd == "search":
        search(*args)
    elif cmd == "search-table":
        search_table(*args)
    elif cmd == "vs-janus":
        vs_janus(*args)
    elif cmd == "replot":  # replot RESULTS_DIR: the PNG again from vs-janus.json (no markdown)
        plot(args[0], {k: v["steps"] for k, v in load(
            os.path.join(args[0], "vs-janus.json"))["servers"].items()})
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
