#!/usr/bin/env python3
"""Report helper for bench/capacity: merges switchboard-load's report with the machine's limit
(bench/limit) and writes the tables, bench/results/*.json, the vs-janus markdown and plot.
Standard library only."""
import json
import os
import shutil
import subprocess
import sys

MAX_LOSS_PERCENT = 1.0
MAX_P99_MS = 50.0
# What the two servers do differently per packet, next to every vs-janus figure (issue 10).
JANUS_FEATURES = (
    "Feature difference: both servers send publishers transport-wide congestion control "
    "feedback (switchboard since transport-cc feedback landed, ba119e9); Janus also sends them "
    "REMB and NACKs for what it misses, which switchboard does not yet, so part of Janus's cost "
    "per packet is work switchboard skips. Both retransmit to subscribers that NACK (the "
    "generator's subscribers do not). The generator's subscribers send both servers "
    "transport-cc feedback where the offer negotiates it, as Chromium does (unless run with "
    "--no-transport-feedback: see the feedback line); switchboard estimates each subscriber's "
    "downlink from it and allocates layers within the estimate.")
# churn: once the room has emptied, the server's RSS after malloc_trim(0) (called in each
# process through gdb) may stay this far above the baseline's, taken the same way after a
# warm-up room came and went. Without the trim RSS stays near its peak: glibc keeps freed heap
# pages (the worker's 768 KB NACK histories are heap allocations once its mmap threshold has
# risen), so the raw figure is reported but not checked.
CHURN_RSS_SLACK_MB = 2.0
# How long the server is given to close what the last participants left (SB_CHURN_SETTLE_S).
CHURN_SETTLE_S = float(os.environ.get("SB_CHURN_SETTLE_S", "30"))


def feedback_on(r):
    """Whether the generator's subscribers sent transport-cc feedback (switchboard-load
    --no-transport-feedback turns it off); reports from before the flag had none."""
    return bool((r.get("scenario") or {}).get("transport_feedback", False))


def feedback_text(r):
    rec = r.get("received") or {}
    if not feedback_on(r):
        return ("subscribers' transport-cc feedback: off (the server's estimator and allocator "
                "do not limit them)")
    arrivals = (r.get("scenario") or {}).get("arrival_times", "read")
    return (f"subscribers' transport-cc feedback: on, {arrivals} arrival times "
            f"({rec.get('transport_feedback_sent', 0)} feedback packets sent, reporting "
            f"{rec.get('transport_cc_packets_total', 0)} received packets)")


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


def finish(report_path, limit_path, server, limit_mix_path=""):
    r = load(report_path)
    limit = load(limit_path)
    limit_mix = load(limit_mix_path) if limit_mix_path and os.path.exists(limit_mix_path) else None
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
    lim_mix = (limit_mix or {}).get("out_pps_per_core")
    # Measured out packets/s over the limit on the packets this load sends.
    sfu["out_fraction_of_limit_mix"] = (round(sfu.get("out_pps", 0) / lim_mix, 4)
                                        if lim_mix else None)
    r["sfu"] = sfu
    r["limit"] = limit
    r["limit_mix"] = limit_mix
    r["stream_count"] = len(r.pop("streams", []))
    r["held_failures"] = held_failures(r)
    r["held"] = not r["held_failures"]
    json.dump(r, sys.stdout, indent=2)
    sys.stdout.write("\n")


def held_failures(r):
    """Why a load was not held (empty: held). Held means every subscriber received every
    stream it should, to the end of the window, with loss against what the publishers sent at
    most MAX_LOSS_PERCENT, every packet decrypting, a key frame on every video stream, enough
    latency samples to mean something (a run where nothing decrypts has no latency, not a low
    one), and p99 latency at most MAX_P99_MS."""
    c, rec = r["clients"], r["received"]
    why = []
    if not r["setup"]["all_ready"]:
        why.append("not everyone connected before the window")
    if c["streams_received"] != c["streams_expected"]:
        why.append(f"{c['streams_expected'] - c['streams_received']} of {c['streams_expected']} "
                   f"streams missing or silent at the end ({c.get('streams_silent_at_end', 0)} "
                   "silent)")
    if c["loss_percent"] > MAX_LOSS_PERCENT:
        why.append(f"loss {c['loss_percent']} % against sent > {MAX_LOSS_PERCENT} %")
    if rec.get("unprotect_failures", 0) > 0:
        why.append(f"{rec['unprotect_failures']} decryption failures")
    if c.get("video_streams_without_keyframe", 0) > 0:
        why.append(f"{c['video_streams_without_keyframe']} video streams without a key frame")
    samples, need = c["latency_ms"]["samples"], max(1, c.get("latency_samples_min", 1))
    if samples < need:
        why.append(f"{samples} latency samples < {need}")
    if c["latency_ms"]["p99"] > MAX_P99_MS:
        why.append(f"p99 {c['latency_ms']['p99']} ms > {MAX_P99_MS} ms")
    why += data_failures(r)
    return why


def data_failures(r):
    """With data channels (switchboard-load --data-channels): every channel open to the end,
    every chat and file message sent in the window delivered intact and in order."""
    d = r.get("data")
    if not d:
        return []
    why = []
    if d["channels_open"] != d["channels_expected"]:
        why.append(f"{d['channels_open']} of {d['channels_expected']} data channels open at the "
                   f"end ({d['channels_closed_by_server']} closed by the server)")
    if d.get("sctp_failures", 0) > 0:
        why.append(f"{d['sctp_failures']} SCTP failures")
    for label in ("chat", "file"):
        l = d[label]
        if l["missing_messages"] or l["sequence_errors"] or l["corrupt_messages"]:
            why.append(f"{label}: {l['missing_messages']} of {l['expected_messages']} messages "
                       f"missing, {l['sequence_errors']} out of sequence, "
                       f"{l['corrupt_messages']} corrupt")
    return why


def mix_arg(report_path):
    """The packet-size mix subscribers received in a run, as switchboard-limit --mix: each
    kind's mean SRTP datagram size, in the share of its packets."""
    mix = load(report_path)["received"].get("size_mix") or {}
    total = sum(v["packets"] for v in mix.values())
    parts = [f"{max(28, min(1500, round(v['mean_bytes'])))}:{v['packets'] / total:.4f}"
             for v in mix.values() if v["packets"] > 0 and total > 0]
    return ",".join(parts) if parts else "1200:1"


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
    print(f"  clients: loss {c['loss_percent']:.3f} % against sent (by sequence numbers "
          f"{c.get('sequence_loss_percent', 0):.3f} %), latency ms p50 {lat['p50']:.2f} "
          f"p95 {lat['p95']:.2f} p99 {lat['p99']:.2f} ({lat['samples']} samples), first key "
          f"frame ms p50 {kf['p50']:.0f} max {kf['max']:.0f}, streams to the end "
          f"{c['streams_received']}/{c['streams_expected']}, decryption failures "
          f"{r['received'].get('unprotect_failures', 0)}")
    print("  held" if r["held"] else "  NOT held: " + "; ".join(r.get("held_failures", [])))
    print(f"  generator CPU {r['generator']['cpu_percent']:.1f} % of a core "
          f"({r['generator']['us_per_packet']:.2f} us per packet)")
    print("  " + feedback_text(r))
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
          f"feedback {'on ' if feedback_on(r) else 'off'}  "
          f"{'held' if r['held'] else 'NOT held: ' + '; '.join(r.get('held_failures', []))}")


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
        "peak_threads": sfu.get("peak_threads"),
        "out_pps_per_core": sfu["out_pps_per_core"],
        "fraction_of_limit": sfu.get("fraction_of_limit"),
        "loss_percent": c["loss_percent"],
        "latency_ms": c["latency_ms"],
        "time_to_first_keyframe_ms": c["time_to_first_keyframe_ms"],
        "sequence_loss_percent": c.get("sequence_loss_percent"),
        "streams_received": c["streams_received"],
        "streams_expected": c["streams_expected"],
        "streams_silent_at_end": c.get("streams_silent_at_end"),
        "unprotect_failures": r["received"].get("unprotect_failures"),
        "video_streams_without_keyframe": c.get("video_streams_without_keyframe"),
        "generator_cpu_percent": r["generator"]["cpu_percent"],
        "other_cpu_percent": r.get("machine_window", {}).get("other_cpu_percent"),
        "transport_feedback": feedback_on(r),
        "held": r["held"],
        "held_failures": r.get("held_failures", []),
    }


# A worker core counts as full (the step measures the saturation throughput of one core) from
# this CPU share on: /proc's tick accounting reads 96-100 % for a core that never idles.
CORE_FULL_PERCENT = 95.0


def search_result(limit, reports, limit_mix=None):
    """The steps of one search (or one server's vs-janus loads), in the order run. Everything
    quoted is measured: the highest load held (lower steps not held are listed in
    failed_below_highest_held: noise the spread over runs must show) and the saturation
    throughput (the most out packets/s any step forwarded, with its CPU share: a core's
    throughput only when that core was full). Per-core-of-CPU figures scale a partly loaded core's cost to a whole
    core: an extrapolation, kept apart under `extrapolated`."""
    steps = [step_summary(r) for r in reports]
    held_steps = [st for st in steps if st["held"]]
    best = max(held_steps, key=lambda st: st["out_pps"]) if held_steps else None
    # Lower loads that were not held although a higher one was: noise (other work on the
    # machine, see other_cpu_percent) that the spread over several runs has to show.
    failed_below = [st["rooms"] for st in steps
                    if best and not st["held"] and st["rooms"] < best["rooms"]]
    lim = limit.get("out_pps_per_core")
    lim_mix = (limit_mix or {}).get("out_pps_per_core")
    saturation = max(steps, key=lambda st: st["out_pps"]) if steps else None
    out = {
        "machine": reports[0].get("machine") if reports else None,
        # The generator's subscribers sent transport-cc feedback (the server's estimator and
        # allocator ran) in every step.
        "transport_feedback": all(feedback_on(r) for r in reports) if reports else None,
        "criteria": {"max_loss_percent": MAX_LOSS_PERCENT, "loss_against": "packets sent",
                     "max_p99_latency_ms": MAX_P99_MS, "every_stream_alive_in_last_s": 1,
                     "decryption_failures": 0, "video_streams_without_keyframe": 0,
                     "latency_samples": ">= latency_samples_min"},
        "limit": limit,
        "limit_mix": limit_mix,
        "steps": steps,
        "stopped_by": ("load" if steps and not steps[-1]["held"] else "max-rooms"),
        "highest_held": best,
        "failed_below_highest_held": failed_below,
    }
    if saturation:
        out["saturation"] = {
            "rooms": saturation["rooms"],
            "out_pps": saturation["out_pps"],
            "cpu_percent": saturation["cpu_percent"],
            "core_full": saturation["cpu_percent"] >= CORE_FULL_PERCENT,
            "held": saturation["held"],
            "fraction_of_limit": round(saturation["out_pps"] / lim, 4) if lim else None,
            "fraction_of_limit_mix": round(saturation["out_pps"] / lim_mix, 4) if lim_mix else None,
        }
    if best:
        # Measured: the out packets/s the worker forwarded at the highest step held.
        out["sfu"] = {
            "out_pps": best["out_pps"],
            "cpu_percent": best["cpu_percent"],
            "rss_mb": best["rss_mb"],
            "fraction_of_limit": round(best["out_pps"] / lim, 4) if lim else None,
            "fraction_of_limit_mix": round(best["out_pps"] / lim_mix, 4) if lim_mix else None,
            # Extrapolated (kept under its old names too): what a whole core would forward at
            # that step's cost per packet.
            "out_pps_per_core": best["out_pps_per_core"],
            "per_core_fraction_of_limit": best["fraction_of_limit"],
        }
        out["extrapolated"] = {
            "note": "out packets/s per core of CPU = out packets/s / CPU seconds of a core that "
                    "was not full: an extrapolation, not a measurement",
            "out_pps_per_core_at_highest_held": best["out_pps_per_core"],
            "cpu_percent_of_that_step": best["cpu_percent"],
        }
        out["clients"] = {"loss_percent": best["loss_percent"], "latency_ms": best["latency_ms"]}
    return out


def search(limit_path, limit_mix_path, *paths):
    limit = load(limit_path)
    limit_mix = load(limit_mix_path) if os.path.exists(limit_mix_path) else None
    json.dump(search_result(limit, [load(p) for p in paths], limit_mix), sys.stdout, indent=2)
    sys.stdout.write("\n")


def spread(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return {"median": median(v), "min": v[0], "max": v[-1], "runs": len(v), "values": values}


def search_runs(*paths):
    """Several searches of the same load (bench/capacity search --runs=N): the headline with the
    spread over the runs; the keys of one search (steps, highest_held, sfu, ...) are those of
    the run whose highest load held is the median."""
    runs = [load(p) for p in paths]
    held_rooms = [r["highest_held"]["rooms"] if r.get("highest_held") else 0 for r in runs]
    order = sorted(range(len(runs)), key=lambda i: held_rooms[i])
    out = dict(runs[order[len(order) // 2]])
    out["runs"] = runs
    out["headline"] = {
        "highest_held_rooms": spread(held_rooms),
        "highest_held_out_pps": spread(
            [r["highest_held"]["out_pps"] if r.get("highest_held") else None for r in runs]),
        "saturation_out_pps": spread(
            [r["saturation"]["out_pps"] if r.get("saturation", {}).get("core_full") else None
             for r in runs]),
        "saturation_cpu_percent": [r.get("saturation", {}).get("cpu_percent") for r in runs],
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


def fmt_spread(sp, unit=""):
    if not sp:
        return "not measured"
    if sp["runs"] == 1:
        return f"{sp['median']:.0f}{unit}"
    return f"{sp['median']:.0f}{unit} (median of {sp['runs']} runs; {sp['min']:.0f}-{sp['max']:.0f})"


def search_table(path):
    s = load(path)
    lim = s["limit"].get("out_pps_per_core")
    lim_mix = (s.get("limit_mix") or {}).get("out_pps_per_core")
    print(f"capacity search (rooms of 10; held = loss against sent <= {MAX_LOSS_PERCENT} %, "
          f"p99 <= {MAX_P99_MS} ms, every stream alive to the end, no decryption failure, key "
          f"frames, latency sampled); machine's limit {lim} out packets/s per core with 1200-byte "
          f"packets, {lim_mix} with the load's packet-size mix; subscribers' transport-cc "
          f"feedback {'on' if s.get('transport_feedback') else 'off'}")
    for k, run in enumerate(s.get("runs", [s])):
        print(f"run {k + 1}:")
        print(f"  {'rooms':>5} {'out pps':>9} {'Mbit/s':>8} {'CPU %':>6} {'loss %':>7} "
              f"{'p99 ms':>7} {'gen CPU %':>9} {'other %':>7} {'per core*':>9}  held")
        for st in run["steps"]:
            print(f"  {st['rooms']:>5} {st['out_pps']:>9.0f} {st['out_mbit_per_s']:>8.1f} "
                  f"{st['cpu_percent']:>6.1f} {st['loss_percent']:>7.3f} "
                  f"{st['latency_ms']['p99']:>7.2f} {st['generator_cpu_percent']:>9.1f} "
                  f"{st['other_cpu_percent'] or 0:>7.1f} {st['out_pps_per_core']:>9.0f}  "
                  f"{'yes' if st['held'] else 'NO: ' + '; '.join(st.get('held_failures', []))}")
    h = s.get("headline")
    if h is None:
        b, sat = s.get("highest_held"), s.get("saturation")
        h = {"highest_held_rooms": spread([b["rooms"] if b else 0]),
             "highest_held_out_pps": spread([b["out_pps"] if b else None]),
             "saturation_out_pps": spread([sat["out_pps"] if sat and sat["core_full"] else None]),
             "saturation_cpu_percent": [sat["cpu_percent"] if sat else None]}
    print("measured:")
    print(f"  highest load held: {fmt_spread(h['highest_held_rooms'], ' rooms')} of 10, "
          f"{fmt_spread(h['highest_held_out_pps'], ' out packets/s')}")
    print(f"  saturation throughput of one core (most out packets/s forwarded with the core "
          f"full, >= {CORE_FULL_PERCENT:.0f} %): {fmt_spread(h['saturation_out_pps'])} "
          f"(worker CPU at that step: {h['saturation_cpu_percent']} %)")
    for name, lim_v in (("1200-byte", lim), ("packet-mix", lim_mix)):
        hp, sp = h["highest_held_out_pps"], h["saturation_out_pps"]
        if lim_v and hp:
            print(f"  of the {name} limit ({lim_v:.0f}): held {100 * hp['median'] / lim_v:.1f} %"
                  + (f", saturation {100 * sp['median'] / lim_v:.1f} %" if sp else ""))
    print("* per core = out packets/s / CPU seconds: extrapolated from a core that was not full, "
          "not measured")


def limit_path_text(limit):
    """Where the limit's datagrams went: loopback, or a socket in another namespace (veth)."""
    sink = limit.get("sink") or {}
    if sink.get("netns"):
        return f"the veth pair to {sink.get('ip')}"
    return "loopback"


def vs_janus(limit_path, results_dir, sb_paths, janus_paths):
    limit = load(limit_path)
    mix_path = os.path.join(os.path.dirname(limit_path), "limit-mix.json")
    limit_mix = load(mix_path) if os.path.exists(mix_path) else None
    servers = {
        "switchboard": [load(p) for p in sb_paths.split()],
        "janus": [load(p) for p in janus_paths.split()],
    }
    out = {"limit": limit, "limit_mix": limit_mix, "feature_difference": JANUS_FEATURES,
           "transport_feedback": all(feedback_on(r) for v in servers.values() for r in v),
           "machine": servers["switchboard"][0].get("machine") if servers["switchboard"] else None,
           "servers": {k: search_result(limit, v, limit_mix) for k, v in servers.items()}}
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
        "on the machine during the window (% of a core; latency suffers when it is not near 0). "
        "Loss is against what the publishers sent; 'streams' counts those that flowed to the end "
        "of the window.",
        "",
        "Janus runs with the configuration in bench/janus/ (event_loops = 1 on its one core, "
        "warnings-only logging, the videoroom plugin alone) and each participant subscribes once, "
        "on one multistream PeerConnection, as Janus 1.x and its videoroom demo do. " + JANUS_FEATURES,
        "",
        machine_line(out.get("machine")),
        "",
        "Subscribers' transport-cc feedback: "
        + ("on" if all(feedback_on(r) for v in servers.values() for r in v) else "off")
        + " (switchboard-load --no-transport-feedback turns it off).",
        "",
        "| server | rooms | in pps | out pps | out Mbit/s | CPU % | RSS MB | threads | per core pps "
        "| of limit | loss % | p50 ms | p95 ms | p99 ms | 1st key frame p50 ms | streams "
        "| other work % | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, reps in servers.items():
        for r in reps:
            st = step_summary(r)
            lat = st["latency_ms"]
            frac = st["fraction_of_limit"]
            lines.append(
                f"| {name} | {st['rooms']} | {st['in_pps']:.0f} | {st['out_pps']:.0f} | "
                f"{st['out_mbit_per_s']:.1f} | {st['cpu_percent']:.1f} | {st['rss_mb']:.1f} | "
                f"{st.get('peak_threads') or '-'} | {st['out_pps_per_core']:.0f} | "
                f"{'%.1f %%' % (100 * frac) if frac is not None else '-'} | "
                f"{st['loss_percent']:.3f} | {lat['p50']:.2f} | {lat['p95']:.2f} | "
                f"{lat['p99']:.2f} | {st['time_to_first_keyframe_ms']['p50']:.0f} | "
                f"{st['streams_received']}/{st['streams_expected']} | "
                f"{st['other_cpu_percent']} | "
                f"{'yes' if st['held'] else 'no: ' + '; '.join(st['held_failures'])} |")
    lim_mix = (limit_mix or {}).get("out_pps_per_core")
    lines += ["", f"Capacity, measured (the highest load held: every stream to the end of the "
              f"window, loss against sent <= {MAX_LOSS_PERCENT} %, no decryption failure, key "
              f"frames, latency sampled, p99 <= {MAX_P99_MS} ms; limits: {lim} out packets/s "
              f"with 1200-byte packets, {lim_mix} with this load's packet-size mix):", ""]
    measured = {}
    for name, res in out["servers"].items():
        best, sat = res.get("highest_held"), res.get("saturation")
        if not best:
            lines.append(f"- {name}: no load held")
        else:
            sfu = res["sfu"]
            measured[name] = best["out_pps"]
            mix_frac = sfu.get("fraction_of_limit_mix")
            lines.append(
                f"- {name}: {best['rooms']} room(s) of 10 held, {best['out_pps']:.0f} out packets/s "
                f"at {best['cpu_percent']:.1f} % of its core = "
                f"{100 * (sfu['fraction_of_limit'] or 0):.1f} % of the 1200-byte limit"
                + (f", {100 * mix_frac:.1f} % of the packet-mix limit" if mix_frac else "")
                + f"; loss {best['loss_percent']:.3f} %, p50/p99 {best['latency_ms']['p50']:.2f}/"
                f"{best['latency_ms']['p99']:.2f} ms"
                + ("" if res["stopped_by"] == "load" else " (the largest load tried)")
                + (f"; NOT held at the lower load(s) {res['failed_below_highest_held']} rooms "
                   "(see other work)" if res.get("failed_below_highest_held") else ""))
        if sat:
            lines.append(
                f"  - most forwarded: {sat['out_pps']:.0f} out packets/s at {sat['rooms']} rooms, "
                f"{sat['cpu_percent']:.1f} % of its core"
                + (" (core full: its saturation throughput)" if sat["core_full"] else
                   " (core not full: not a saturation figure)"))
    if len(measured) == 2 and measured["janus"] > 0:
        lines += ["", f"Highest load held, switchboard / Janus: "
                  f"{measured['switchboard'] / measured['janus']:.2f}x the out packets/s "
                  "(both measured; the larger is capped by the loads tried when it was not "
                  "stopped by the load)."]
    lines += ["", "Extrapolated, not measured (out packets/s / CPU seconds, scaled to a whole "
              "core from steps whose core was not full):", ""]
    for name, res in out["servers"].items():
        ex = res.get("extrapolated")
        if ex:
            lines.append(f"- {name}: {ex['out_pps_per_core_at_highest_held']:.0f} out packets/s "
                         f"per core of CPU at its highest load held ({ex['cpu_percent_of_that_step']:.1f} "
                         "% of a core)")
    lines += ["", JANUS_FEATURES]
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


def socket_inodes(pid):
    """Inodes of the sockets open in /proc/<pid>/fd."""
    out = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def net_inodes(pid, table):
    """Socket inodes listed in /proc/<pid>/net/<table> (udp, udp6, tcp, tcp6)."""
    out = set()
    try:
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) > 9:
                    out.add(parts[9])
    except OSError:
        pass
    return out


def process_resources(pid):
    """RSS, open fds and UDP/TCP sockets of one process, from /proc; {"exited": True} when it
    is gone."""
    rss_kb = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return {"pid": int(pid), "exited": True, "rss_mb": 0, "fds": 0, "sockets": 0,
                "udp_sockets": 0, "tcp_sockets": 0}
    sockets = socket_inodes(pid)
    udp = sockets & (net_inodes(pid, "udp") | net_inodes(pid, "udp6"))
    tcp = sockets & (net_inodes(pid, "tcp") | net_inodes(pid, "tcp6"))
    return {"pid": int(pid), "rss_mb": round(rss_kb / 1024.0, 2), "fds": fds,
            "sockets": len(sockets), "udp_sockets": len(udp), "tcp_sockets": len(tcp)}


def resources_of(named_pids):
    """named_pids: ["switchboard=PID", "worker=PID", ...] -> {name: resources}."""
    out = {}
    for item in named_pids:
        name, pid = item.split("=", 1)
        out[name] = process_resources(pid)
    out["total_rss_mb"] = round(sum(v["rss_mb"] for v in out.values()), 2)
    return out


def resources(out_path, *named_pids):
    """resources OUT name=PID...: the processes' RSS, fds and sockets now."""
    with open(out_path, "w") as f:
        json.dump(resources_of(named_pids), f, indent=2)


def trimmed(res, named_pids):
    """Adds each process's RSS after malloc_trim(0), called in it through gdb (the memory it
    still uses, less what glibc kept of what it freed), and their total; None without gdb."""
    res["total_trimmed_rss_mb"] = None
    gdb = shutil.which("gdb")
    if not gdb:
        return res
    total = 0.0
    for item in named_pids:
        name, pid = item.split("=", 1)
        if res[name].get("exited"):
            return res
        try:
            subprocess.run([gdb, "-p", pid, "-batch", "-ex", "call (int)malloc_trim(0)"],
                           capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return res
        res[name]["trimmed_rss_mb"] = process_resources(pid)["rss_mb"]
        total += res[name]["trimmed_rss_mb"]
    res["total_trimmed_rss_mb"] = round(total, 2)
    return res


def settle(out_path, *named_pids):
    """settle OUT name=PID...: waits (up to 10 s) until every process's fd count has not changed
    for 2 s, then writes its resources (the baseline once a warm-up room has gone)."""
    import time
    last, stable_since, start = None, time.time(), time.time()
    while time.time() - start < 10:
        now = {k: (v["fds"], v["sockets"]) for k, v in resources_of(named_pids).items()
               if isinstance(v, dict)}
        if now != last:
            last, stable_since = now, time.time()
        elif time.time() - stable_since >= 2:
            break
        time.sleep(0.25)
    with open(out_path, "w") as f:
        json.dump(trimmed(resources_of(named_pids), named_pids), f, indent=2)


def fds_above_baseline(baseline, now):
    """The fd and socket counts above the baseline's: [] when all are back."""
    left = []
    for name, base in baseline.items():
        if not isinstance(base, dict) or name not in now:
            continue
        if now[name].get("exited"):
            left.append(f"{name} (pid {now[name]['pid']}) exited during the run")
            continue
        for key in ("fds", "sockets", "udp_sockets", "tcp_sockets"):
            if now[name][key] > base[key]:
                left.append(f"{name} {key} {now[name][key]} > baseline {base[key]}")
    return left


def wait_baseline(baseline_path, out_path, *named_pids):
    """wait-baseline BASELINE OUT name=PID...: polls the processes every 0.25 s until their fds
    and sockets are back to the baseline, or CHURN_SETTLE_S; then trims their heaps (see
    trimmed) and writes the last sample with the seconds it took and what stayed above."""
    import time
    baseline = load(baseline_path)
    start = time.time()
    while True:
        now = resources_of(named_pids)
        left = fds_above_baseline(baseline, now)
        exited = any(v.get("exited") for v in now.values() if isinstance(v, dict))
        if not left or exited or time.time() - start >= CHURN_SETTLE_S:
            break
        time.sleep(0.25)
    now["seconds_to_baseline"] = round(time.time() - start, 2) if not left else None
    now = trimmed(now, named_pids)
    base_trim, now_trim = baseline.get("total_trimmed_rss_mb"), now["total_trimmed_rss_mb"]
    if base_trim is not None and now_trim is not None:
        now["rss_checked"] = True
        if now_trim > base_trim + CHURN_RSS_SLACK_MB:
            left.append(f"RSS after malloc_trim {now_trim} MB > baseline {base_trim} MB + "
                        f"{CHURN_RSS_SLACK_MB} MB")
    else:
        now["rss_checked"] = False  # no gdb: RSS reported, not checked
    now["above_baseline"] = left
    with open(out_path, "w") as f:
        json.dump(now, f, indent=2)


def churn(report_path, cold_path, baseline_path, after_path, results_dir):
    """churn REPORT COLD BASELINE AFTER RESULTS_DIR: results_dir/churn.{json,md} from the
    generator's report and the server's resources before, at the peak and after."""
    r = churn_result(report_path, cold_path, baseline_path, after_path)
    write_report(results_dir, "churn", r, churn_markdown(r))


def write_report(results_dir, name, r, lines):
    """results_dir/NAME.json and NAME.md; prints the markdown."""
    with open(os.path.join(results_dir, f"{name}.json"), "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    with open(os.path.join(results_dir, f"{name}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def churn_result(report_path, cold_path, baseline_path, after_path):
    """The churn report: the generator's, with the server's resources and the checks."""
    r = load(report_path)
    machine_path = os.path.join(os.path.dirname(report_path), "machine.json")
    if os.path.exists(machine_path):
        r["machine"] = load(machine_path)
    cold, baseline, after = load(cold_path), load(baseline_path), load(after_path)
    streams = r.pop("streams", [])
    r["stream_count"] = len(streams)
    # Stayers' streams that lost packets, by name, for the report.
    r["stayer_streams_with_loss"] = [s for s in streams
                                     if s.get("role") == "stayer" and s["lost"] > 0][:20]
    sfu = r.get("sfu") or {}
    r["server_resources"] = {
        "cold": cold, "baseline": baseline,
        "peak": {"total_rss_mb": sfu.get("peak_rss_mb"), "fds": sfu.get("peak_fds")},
        "after": after,
        "rss_slack_mb": CHURN_RSS_SLACK_MB, "settle_limit_s": CHURN_SETTLE_S,
    }
    ch, c = r["churn"], r["clients"]
    checks = {
        "all_connected": bool(r["setup"]["all_ready"]),
        "everyone_hears_everyone_at_the_end": c["streams_received"] == c["streams_expected"],
        "stayers_got_every_newcomer": (ch["newcomer_tracks"]["missing"] == 0 and
                                       ch["newcomer_tracks"]["keyframes_missing"] == 0 and
                                       ch["newcomer_tracks"]["expected"] > 0),
        "stayers_zero_loss": ch["stayers_group"]["lost_packets"] == 0,
        "resources_back_to_baseline": not after["above_baseline"],
    }
    r["checks"] = checks
    r["held"] = all(checks.values())
    return r


def churn_markdown(r):
    s, ch, c = r["scenario"], r["churn"], r["clients"]
    res = r["server_resources"]
    nt, st, cu = ch["newcomer_tracks"], ch["stayers_group"], ch["churners_group"]
    fp, fk = ch["newcomer_to_stayer_ms"]["first_packet"], ch["newcomer_to_stayer_ms"]["first_keyframe"]
    lines = [
        "# Churn: meetings that survive people coming and going",
        "",
        f"{s['rooms']} room(s) of {s['participants']} participants, everyone publishing "
        f"{s['video_kbps']} kbit/s @ {s['fps']} fps VP8-like video and Opus-like audio and "
        f"subscribing to everyone; {ch['churners']} churners in all leave and rejoin (a "
        f"new participant each time) while {ch['stayers']} stayers stay: one leave every "
        f"{ch['interval_s']} s per room ({ch['per_minute_per_room']} per minute), "
        f"{100 * ch['close_fraction']:.0f} % of them by closing the WebSocket instead of "
        f"`leave` and {100 * ch['drop_fraction']:.0f} % by dropping it (reset, no close frame), "
        f"rejoining {ch['rejoin_delay_s']} s later; no churn in the last "
        f"{ch['quiet_s']} s of the {r['window_s']} s window. One switchboard with one worker "
        "pinned to one core, switchboard-load on the other.",
        "",
        machine_line(r.get("machine")),
        "",
        f"- {feedback_text(r)}",
        f"- joins {ch['joins']} ({ch['newcomers']} newcomers during the window), leaves "
        f"{ch['leaves']} ({ch['leaves_by_message']} by `leave`, {ch['leaves_by_close']} by "
        f"closing the WebSocket, {ch['leaves_by_drop']} by dropping it)",
        f"- newcomer tracks at stayers: {nt['received']} of {nt['expected']} received, "
        f"{nt['missing']} missing, {nt['keyframes_missing']} video without a key frame "
        f"({nt['not_measured']} not counted: the newcomer left within {ch['grace_s']} s)",
        f"- newcomer's `join` to a stayer's first packet of its tracks: p50 {fp['p50']:.1f} ms, "
        f"p95 {fp['p95']:.1f} ms, max {fp['max']:.1f} ms ({fp['count']} tracks); to the first "
        f"key frame of its video: p50 {fk['p50']:.1f}, p95 {fk['p95']:.1f}, max "
        f"{fk['max']:.1f} ms",
        f"- at the end everyone present hears everyone: {c['streams_received']} of "
        f"{c['streams_expected']} streams",
        "",
        "| who | participants | streams | streams with loss | loss % | latency p50 / p95 / p99 ms "
        "| first key frame p50 / max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, g in (("stayers", st), ("churners", cu)):
        lat, kf = g["latency_ms"], g["time_to_first_keyframe_ms"]
        lines.append(f"| {name} | {g['participants']} | {g['streams']} | "
                     f"{g['streams_with_loss']} | {g['loss_percent']:.4f} | {lat['p50']:.2f} / "
                     f"{lat['p95']:.2f} / {lat['p99']:.2f} | {kf['p50']:.0f} / {kf['max']:.0f} |")
    lines += [
        "",
        "Server resources (switchboard + worker, from /proc): cold = just started, baseline = "
        "after a warm-up room came and went, peak = the highest sample during the run (every "
        "second), after = once the churn room emptied. 'trimmed' = RSS after malloc_trim(0) "
        "called in each process through gdb: what the processes still hold, less the freed heap "
        "glibc keeps (the raw RSS stays near its peak for that reason).",
        "",
        "| | RSS MB | RSS trimmed MB | switchboard fds | worker fds | worker UDP sockets "
        "| worker TCP sockets |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("cold", "baseline", "after"):
        v = res[name]
        trim = v.get("total_trimmed_rss_mb")
        lines.append(f"| {name} | {v['total_rss_mb']:.1f} | "
                     f"{'-' if trim is None else '%.1f' % trim} | {v['switchboard']['fds']} | "
                     f"{v['worker']['fds']} | {v['worker']['udp_sockets']} | "
                     f"{v['worker']['tcp_sockets']} |")
    peak = res["peak"]
    lines.append(f"| peak | {peak['total_rss_mb']} | | {peak['fds']} (both) | | | |")
    after = res["after"]
    rss_note = (f"RSS after malloc_trim within {res['rss_slack_mb']} MB of the baseline's"
                if after.get("rss_checked") else "RSS not checked: no gdb to trim the heaps")
    lines += ["",
              (f"fds and sockets back to baseline {after['seconds_to_baseline']} s after the last "
               f"participant left; {rss_note}."
               if not after["above_baseline"] else
               f"NOT back to baseline ({res['settle_limit_s']} s allowed after the last "
               "participant left): " + "; ".join(after["above_baseline"])),
              "",
              "Checks: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in r["checks"].items())
              + f". Held: {'yes' if r['held'] else 'NO'}."]
    if r["stayer_streams_with_loss"]:
        lines += ["", "Stayers' streams with loss: " + ", ".join(
            f"{x['subscriber']} <- {x['publisher']} {x['kind']} ({x['lost']} of {x['expected']})"
            for x in r["stayer_streams_with_loss"])]
    if nt["missing_list"]:
        lines += ["", "Newcomer tracks that never reached a stayer (first 20): " + ", ".join(
            f"{x['subscriber']} <- {x['publisher']} {x['kind']}" for x in nt["missing_list"])]
    return lines


# soak: the server's RSS and its open descriptors at the end of the run may be at most this
# much above their level once the meeting load had settled (a fifth of the way in), each taken
# as the median of the samples in a tenth of the run. A leak of one descriptor per departed
# participant, or of a few KB per join, grows without bound and shows here.
SOAK_FLAT_PERCENT = 5.0


def sample(out_path, interval_s, stop_path, *named_pids):
    """sample OUT INTERVAL_S STOP_FILE name=PID...: one JSON line per INTERVAL_S with the
    processes' RSS, fds and sockets (from /proc, no pause of theirs), until STOP_FILE exists or
    a process has exited."""
    import time
    start, interval = time.time(), float(interval_s)
    with open(out_path, "w") as f:
        while not os.path.exists(stop_path):
            res = resources_of(named_pids)
            line = {"t": round(time.time() - start, 1), "rss_mb": res["total_rss_mb"],
                    "fds": sum(v["fds"] for v in res.values() if isinstance(v, dict))}
            for name, v in res.items():
                if isinstance(v, dict):
                    line[name] = {k: v[k] for k in ("rss_mb", "fds", "udp_sockets", "exited")
                                  if k in v}
            f.write(json.dumps(line) + "\n")
            f.flush()
            if any(v.get("exited") for v in res.values() if isinstance(v, dict)):
                break
            time.sleep(max(0.0, interval - (time.time() - start) % interval))


def median(values):
    v = sorted(values)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2.0


def soak_series(samples):
    """Flatness of RSS and fds over a soak: the median of the samples in [20 %, 30 %) of the run
    (the meeting has settled) against the median of the last 10 %."""
    end_t = samples[-1]["t"] if samples else 0.0
    def window(lo, hi):
        return [x for x in samples if lo * end_t <= x["t"] < hi * end_t or
                (hi == 1.0 and x["t"] == end_t)]
    settled, last = window(0.2, 0.3), window(0.9, 1.0)
    out = {"samples": len(samples), "seconds": end_t,
           "settled_window_s": [round(0.2 * end_t), round(0.3 * end_t)],
           "end_window_s": [round(0.9 * end_t), round(end_t)]}
    for key in ("rss_mb", "fds"):
        a, b = median([x[key] for x in settled]), median([x[key] for x in last])
        growth = None if not a or b is None else round(100.0 * (b - a) / a, 2)
        out[key] = {"settled": a, "end": b, "growth_percent": growth,
                    "min": min((x[key] for x in samples), default=None),
                    "max": max((x[key] for x in samples), default=None)}
    # RSS over the second half, by least squares: MB per hour (information, not a check).
    half = [x for x in samples if x["t"] >= 0.5 * end_t]
    if len(half) >= 3:
        mt = sum(x["t"] for x in half) / len(half)
        mr = sum(x["rss_mb"] for x in half) / len(half)
        den = sum((x["t"] - mt) ** 2 for x in half)
        out["rss_mb_per_hour_second_half"] = (
            round(3600.0 * sum((x["t"] - mt) * (x["rss_mb"] - mr) for x in half) / den, 2)
            if den else 0.0)
    return out


def soak(report_path, cold_path, baseline_path, after_path, samples_path, results_dir):
    """soak REPORT COLD BASELINE AFTER SAMPLES RESULTS_DIR: results_dir/soak.{json,md}: the
    churn report of a long run, with the server's RSS and fds over time and their flatness."""
    r = churn_result(report_path, cold_path, baseline_path, after_path)
    with open(samples_path) as f:
        samples = [json.loads(line) for line in f if line.strip()]
    series = soak_series(samples)
    r["soak"] = dict(series, flat_percent=SOAK_FLAT_PERCENT, series=samples)
    r["checks"]["server_alive_throughout"] = bool(samples) and not any(
        v.get("exited") for x in samples for v in x.values() if isinstance(v, dict))
    for key in ("rss_mb", "fds"):
        g = series[key]["growth_percent"]
        r["checks"][f"{key.split('_')[0]}_flat"] = g is not None and g <= SOAK_FLAT_PERCENT
    r["held"] = all(r["checks"].values())
    write_report(results_dir, "soak", r, soak_markdown(r))


def soak_markdown(r):
    so = r["soak"]
    lines = [
        f"# Soak: {so['seconds'] / 60:.1f} minutes of a meeting load with churn",
        "",
        f"The server's RSS (switchboard + worker, from /proc, not trimmed) and open descriptors, "
        f"sampled {so['samples']} times. Flat: the median of the last tenth of the run at most "
        f"{so['flat_percent']:.0f} % above the median of [20 %, 30 %) of it, once the meeting "
        "had settled.",
        "",
        "| | settled (median) | end (median) | growth % | min | max |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("rss_mb", "RSS MB"), ("fds", "fds (both)")):
        v = so[key]
        lines.append(f"| {label} | {v['settled']} | {v['end']} | {v['growth_percent']} | "
                     f"{v['min']} | {v['max']} |")
    if "rss_mb_per_hour_second_half" in so:
        lines += ["", f"RSS trend over the second half (least squares): "
                      f"{so['rss_mb_per_hour_second_half']} MB per hour."]
    # One row a tenth of the run, for the shape.
    lines += ["", "| minute | RSS MB | switchboard fds | worker fds | worker UDP sockets |",
              "|---|---|---|---|---|"]
    step = max(1, len(so["series"]) // 10)
    rows = so["series"][::step]
    if so["series"] and rows[-1] is not so["series"][-1]:
        rows.append(so["series"][-1])
    for x in rows:
        lines.append(f"| {x['t'] / 60:.1f} | {x['rss_mb']} | {x['switchboard']['fds']} | "
                     f"{x['worker']['fds']} | {x['worker'].get('udp_sockets', '-')} |")
    churn_lines = churn_markdown(r)
    return lines + ["", "## The meeting load"] + churn_lines[2:]


def data_result(media_path, chat_path, file_path):
    """bench/capacity data: three runs of the same rooms with media flowing and everyone's data
    channels open: no messages (media), chat messages (chat), chat and file messages (file).
    What the worker forwarded of each kind of message per second, and per core: divided by the
    worker CPU the messages cost (the run's CPU less its media at the media run's cost per
    packet), and, as a floor, by all of the worker's CPU in the run."""
    runs = {name: load(p) for name, p in (("media", media_path), ("chat", chat_path),
                                           ("file", file_path))}
    out = {"runs": {}, "per_core": {}}
    for name, r in runs.items():
        d = r.get("data") or {}
        sfu = r.get("sfu") or {}
        out["runs"][name] = {
            "rooms": r["scenario"]["rooms"], "participants": r["scenario"]["participants"],
            "window_s": r["window_s"], "held": r["held"], "held_failures": r["held_failures"],
            "worker_cpu_percent": sfu.get("cpu_percent"),
            "media_out_pps": sfu.get("out_pps"), "media_out_mbit_per_s": sfu.get("out_mbit_per_s"),
            "media_loss_percent": r["clients"]["loss_percent"],
            "media_latency_ms": r["clients"]["latency_ms"],
            "generator_cpu_percent": r["generator"]["cpu_percent"],
            "other_cpu_percent": r.get("machine_window", {}).get("other_cpu_percent"),
            "busy_percent_before": (r.get("machine") or {}).get("busy_percent_before"),
            "data": {k: d.get(k) for k in ("chat_rate", "file_kbps", "channels_expected",
                                           "channels_open", "channels_closed_by_server",
                                           "sctp_failures", "chat", "file")},
        }
    # The worker's CPU per media packet (in + out) in the media run. Media throughput differs
    # between runs (the server's allocator follows each subscriber's estimate, which falls when
    # the machine is busy), so each run's media is charged at this cost and the rest of the
    # worker's CPU is the data's.
    media_us = (runs["media"].get("sfu") or {}).get("us_per_packet") or 0
    for name, r in runs.items():
        sfu = r.get("sfu") or {}
        cpu = (sfu.get("cpu_percent") or 0) / 100.0
        media = media_us * ((sfu.get("in_pps") or 0) + (sfu.get("out_pps") or 0)) / 1e6
        out["runs"][name]["media_cpu_percent_at_media_cost"] = round(100 * media, 2)
        out["runs"][name]["data_cpu_percent"] = round(100 * (cpu - media), 2)

    def core_figures(label, run, minus=None):
        x = out["runs"][run]
        l = x["data"][label] or {}
        cpu = (x["worker_cpu_percent"] or 0) / 100.0
        added = x["data_cpu_percent"] / 100.0
        if minus:  # another kind's messages in the same run, at their own cost per message
            m = x["data"][minus] or {}
            per = out["per_core"][minus].get("us_per_message") or 0
            added -= per * m.get("received_messages_per_s", 0) / 1e6
        msgs, mbit = l.get("received_messages_per_s", 0), l.get("received_mbit_per_s", 0)
        ok = added > 0.005 and msgs > 0  # under half a percent of a core: noise
        return {
            "out_messages_per_s": msgs, "out_mbit_per_s": mbit,
            "data_worker_cpu_percent": round(100 * added, 2),
            # What a whole core would forward of this kind at the cost it added.
            "us_per_message": round(1e6 * added / msgs, 2) if ok else None,
            "messages_per_s_per_core": round(msgs / added, 0) if ok else None,
            "mbit_per_s_per_core": round(mbit / added, 1) if ok else None,
            # Floor: all of the worker's CPU in the run (media included) charged to this kind.
            "messages_per_s_per_core_floor": round(msgs / cpu, 0) if cpu > 0 else None,
            "mbit_per_s_per_core_floor": round(mbit / cpu, 1) if cpu > 0 else None,
        }
    out["media_us_per_packet"] = media_us
    out["per_core"]["chat"] = core_figures("chat", "chat")
    out["per_core"]["file"] = core_figures("file", "file", minus="chat")
    out["held"] = all(r["held"] for r in out["runs"].values())
    out["machine"] = runs["media"].get("machine")
    return out


def data_markdown(r):
    runs, pc = r["runs"], r["per_core"]
    first = runs["file"]
    lines = [f"# bench/capacity data: {first['rooms']} room(s) of {first['participants']}, media "
             f"flowing, {first['window_s']} s per run", ""]
    lines.append("| run | worker CPU % | media out pps | media loss % | media p99 ms | chat msg/s "
                 "out | chat p99 ms | file Mbit/s out | file p99 ms | missing msgs | held |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("media", "chat", "file"):
        x = runs[name]
        d = x["data"]
        chat, f = d.get("chat") or {}, d.get("file") or {}
        missing = (chat.get("missing_messages", 0) or 0) + (f.get("missing_messages", 0) or 0)
        lines.append(
            f"| {name} | {x['worker_cpu_percent']} | {x['media_out_pps']} | "
            f"{x['media_loss_percent']} | {x['media_latency_ms']['p99']} | "
            f"{chat.get('received_messages_per_s', 0)} | {chat.get('latency_ms', {}).get('p99', 0)} | "
            f"{f.get('received_mbit_per_s', 0)} | {f.get('latency_ms', {}).get('p99', 0)} | "
            f"{missing} | {'yes' if x['held'] else 'NO: ' + '; '.join(x['held_failures'])} |")
    lines += ["", "| per worker core | out msg/s | out Mbit/s | data CPU % | us per message | "
              "msg/s per core | Mbit/s per core | floor msg/s per core | floor Mbit/s per core |",
              "|---|---|---|---|---|---|---|---|---|"]
    for label in ("chat", "file"):
        x = pc[label]
        lines.append(f"| {label} | {x['out_messages_per_s']} | {x['out_mbit_per_s']} | "
                     f"{x['data_worker_cpu_percent']} | {x['us_per_message']} | "
                     f"{x['messages_per_s_per_core']} | {x['mbit_per_s_per_core']} | "
                     f"{x['messages_per_s_per_core_floor']} | {x['mbit_per_s_per_core_floor']} |")
    lines += ["", "Data CPU: the worker's CPU in the run less its media packets (in + out) at the "
              f"media run's cost ({r['media_us_per_packet']} us per packet), and for file less "
              "the chat messages at chat's cost per message. Per core: messages (bytes) forwarded "
              "per second over that CPU. Floor: over all of the worker's CPU in the run, media "
              "included.", "", machine_line(r.get("machine")),
              "Other work on the machine during each run (% of a core): " + ", ".join(
                  f"{n} {runs[n]['other_cpu_percent']}" for n in ("media", "chat", "file")) +
              "; busy just before each run: " + "; ".join(
                  f"{n} {runs[n]['busy_percent_before']}" for n in ("media", "chat", "file")) + "."]
    return lines


def data(results_dir, media_path, chat_path, file_path):
    r = data_result(media_path, chat_path, file_path)
    write_report(results_dir, "data", r, data_markdown(r))


# webinar: the presenter publishes these tracks (audio and video; simulcast layers are one video
# producer), and a pipe relays every packet of each track it carries.
WEBINAR_PRESENTER_TRACKS = 2
# The publishers' video (the webinar's presenter; each of the pipe scenario's publishers) must
# carry at least this share of its target bit rate over the run for the run to count as held
# (the generator's key frames and frame sizes put it within a few %).
MIN_VIDEO_SENT_SHARE = 0.9


def http_get(url, timeout=3.0):
    """The body of a GET to the server under test (127.0.0.1 only), or None."""
    import urllib.request
    assert url.startswith("http://127.0.0.1:"), url  # TESTING.md: loopback only
    try:
        with urllib.request.urlopen(url, timeout=timeout) as f:
            return f.read().decode()
    except OSError:
        return None


def room_summary(room):
    """One room of GET /api/rooms: its workers (worker, workerPid, router, participants), pipes,
    piped tracks and the tracks its participants publish."""
    return {"name": room["name"],
            "participants": sum(w.get("participants", 0) for w in room.get("workers", [])),
            "participants_listed": len(room.get("participants", [])),
            "workers": room.get("workers", []), "pipes": room.get("pipes", 0),
            "piped_producers": room.get("pipedProducers", 0),
            "tracks": sum(len(p.get("tracks", [])) for p in room.get("participants", []))}


def rooms_poll(out_path, url, stop_path, interval_s="1"):
    """rooms-poll OUT URL STOP_FILE [INTERVAL_S]: polls GET /api/rooms until STOP_FILE exists and
    writes each room as it was when it held the most participants (the latest such sample;
    `rooms`, by name) and the fullest of them (`room`: the webinar's one room). Polled, not read
    once at the end: the rooms empty as the generator leaves."""
    import time
    best, rooms, samples = None, {}, 0
    # Each subscriber's send-side estimate and allocation over the last samples (by name), so
    # that a stream that went silent can be read against what the server thought it could send.
    history = {}
    while True:
        stop = os.path.exists(stop_path)
        body = http_get(url)
        if body:
            samples += 1
            for room in json.loads(body).get("rooms", []):
                for p in room.get("participants", []):
                    b = p.get("bandwidth")
                    if b and p.get("name"):
                        h = history.setdefault(p["name"], [])
                        h.append([round(time.time(), 1), b.get("estimateBps"),
                                  b.get("allocatedBps"), b.get("desiredBps")])
                        del h[:-BANDWIDTH_HISTORY_SAMPLES]
                x = room_summary(room)
                if x["name"] not in rooms or x["participants"] >= rooms[x["name"]]["participants"]:
                    rooms[x["name"]] = x
                if best is None or x["participants"] >= best["participants"]:
                    best = x
        if stop:
            break
        time.sleep(float(interval_s))
    with open(out_path, "w") as f:
        json.dump({"samples": samples, "room": best, "rooms": rooms,
                   "bandwidth_history": history}, f)


def pipe_metrics(out_path, url):
    """pipe-metrics OUT URL: the server's counters of rooms spread over workers (/metrics)."""
    body = http_get(url) or ""
    names = ("switchboard_room_routers_total", "switchboard_pipes_total",
             "switchboard_producers_piped_total", "switchboard_pipe_failures_total",
             "switchboard_data_channels_not_piped_total")
    out = {}
    for line in body.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in names:
            out[parts[0][len("switchboard_"):]] = int(float(parts[1]))
    with open(out_path, "w") as f:
        json.dump(out, f, indent=2)


def run_summary(r, metrics, short_text):
    """What a run over two workers reports (webinar-run, pipe-run): from the finished generator
    report (finish), the clients' figures, the watched workers' CPU together, held, and the pipe
    counters (pipe-metrics). short_text: the held failure when the publishers' video fell short
    of its target, a format string of {sent} and {target} kbit/s."""
    c, sfu, w = r["clients"], r.get("sfu") or {}, r.get("window_s") or 1
    out_packets = sfu.get("out_pps", 0) * w
    # The offered load: what the publishers' video carried against its target (kbit/s per
    # publisher). A generator short of CPU sends late and less (its loop serves every
    # subscriber too), and then a loss against sent of 0 says nothing about the load asked for.
    layers = r["sent"].get("video_layers") or []
    target = sum(l["target_kbps"] for l in layers)
    sent_kbps = round(sum(l["payload_kbps"] for l in layers), 1)
    failures = list(r["held_failures"])
    if target and sent_kbps < MIN_VIDEO_SENT_SHARE * target:
        failures.append(short_text.format(sent=sent_kbps, target=target)
                        + ": the generator fell behind")
    loss_failures = [f for f in failures if not f.startswith("p99 ")]
    return {
        "window_s": w, "setup_s": r["setup"]["seconds"], "all_ready": r["setup"]["all_ready"],
        "transport_feedback": feedback_on(r),
        "simulcast": bool(r["scenario"].get("simulcast")),
        "video_kbps": r["scenario"]["video_kbps"], "fps": r["scenario"]["fps"],
        "streams_expected": c["streams_expected"], "streams_received": c["streams_received"],
        "missing_streams": c.get("missing_streams", [])[:5],
        "loss_percent": c["loss_percent"], "sequence_loss_percent": c.get("sequence_loss_percent"),
        "expected_packets": c.get("expected_packets"), "lost_packets": c.get("lost_packets"),
        "latency_ms": c["latency_ms"], "time_to_first_keyframe_ms": c["time_to_first_keyframe_ms"],
        "unprotect_failures": r["received"].get("unprotect_failures", 0),
        # Issue 14's bound: every subscriber receives to the end with loss < 1 % (and everything
        # else held_failures checks but latency); `held` adds the p99 bound of every scenario.
        "held_loss": not loss_failures, "held": not failures, "held_failures": failures,
        "video_sent_kbps": sent_kbps, "video_target_kbps": target,
        "in_pps": sfu.get("in_pps"), "out_pps": sfu.get("out_pps"),
        "out_mbit_per_s": sfu.get("out_mbit_per_s"),
        "workers_cpu_percent": sfu.get("cpu_percent"),
        "workers_cpu_seconds": sfu.get("cpu_seconds"),
        "workers_rss_mb": sfu.get("rss_mb"),
        "us_per_out_packet": (round(1e6 * sfu["cpu_seconds"] / out_packets, 3)
                              if out_packets and sfu.get("cpu_seconds") else None),
        "metrics": metrics, "pipe_failures": metrics.get("pipe_failures_total"),
        "generator_cpu_percent": r["generator"]["cpu_percent"],
        "other_cpu_percent": r.get("machine_window", {}).get("other_cpu_percent"),
        "machine_busy_cpu_percent": r.get("machine_window", {}).get("busy_cpu_percent"),
        "machine": r.get("machine"), "limit": r.get("limit"),
    }


# Samples of each subscriber's estimate kept by rooms-poll (one a second): the window's end.
BANDWIDTH_HISTORY_SAMPLES = 20


def dump_run(x, rooms):
    """Prints a run summary (webinar-run, pipe-run) with how often the rooms were polled, and
    each missing stream with its subscriber's estimate and allocation over the last seconds
    ([unix time, estimateBps, allocatedBps, desiredBps], rooms-poll)."""
    x["rooms_samples"] = rooms.get("samples", 0)
    history = rooms.get("bandwidth_history") or {}
    for m in x.get("missing_streams") or []:
        m["subscriber_bandwidth"] = history.get(m.get("subscriber"), [])
    dump(x)


def load_run(final_path, rooms_path, metrics_path):
    """The three files of one run over two workers: the finished generator report, the rooms
    polled (rooms-poll) and the pipe counters (pipe-metrics); the last two may be missing."""
    rooms = load(rooms_path) if os.path.exists(rooms_path) else {}
    metrics = load(metrics_path) if os.path.exists(metrics_path) else {}
    return load(final_path), rooms, metrics


def piped_pps_of(in_pps, piped, tracks):
    """Packets/s crossing pipes: every packet of a piped track crosses its pipe once (all its
    simulcast layers too), so the publishers' packets/s times the share of their tracks piped."""
    return round((in_pps or 0) * min(1.0, piped / tracks), 1) if tracks else 0.0


def dump(x):
    json.dump(x, sys.stdout, indent=2)
    sys.stdout.write("\n")


def webinar_run(final_path, rooms_path, metrics_path, name, viewers, shard):
    """webinar-run FINAL ROOMS METRICS NAME VIEWERS SHARD: one webinar's summary: the finished
    generator report (finish), the room at its fullest (rooms-poll) and the pipe counters."""
    r, rooms, metrics = load_run(final_path, rooms_path, metrics_path)
    room = rooms.get("room") or {}
    x = {"name": name, "viewers": int(viewers), "shard_size": int(shard)}
    x.update(run_summary(r, metrics, "the presenter sent {sent} of its {target} kbit/s of video"))
    x["presenter_video_kbps"] = x.pop("video_sent_kbps")
    x["presenter_video_target_kbps"] = x.pop("video_target_kbps")
    procs = {p["pid"]: p for p in (r.get("sfu") or {}).get("processes", [])}
    # The room's routers in order: the first is the primary, where the presenter (first to
    # join) and the first --room-shard-size viewers are.
    workers = []
    for i, w in enumerate(room.get("workers", [])):
        p = procs.pop(w.get("workerPid"), {})
        workers.append({"worker": w.get("worker"), "pid": w.get("workerPid"),
                        "router": w.get("router"), "participants": w.get("participants", 0),
                        "presenter": i == 0,
                        "viewers": w.get("participants", 0) - (1 if i == 0 else 0),
                        "cpu_percent": p.get("cpu_percent"), "cpu_seconds": p.get("cpu_seconds"),
                        "rss_mb": p.get("rss_mb")})
    piped = room.get("piped_producers", 0) or 0
    x["piped_pps"] = piped_pps_of(x["in_pps"], piped, WEBINAR_PRESENTER_TRACKS)
    x["forwarded_pps_total"] = round((x["out_pps"] or 0) + x["piped_pps"], 1)
    x.update({
        "workers_used": len(workers), "workers": workers,
        # Workers the room did not use (the one-worker comparison): their idle CPU still counts
        # in workers_cpu_percent, as in the spread run.
        "other_workers": list(procs.values()),
        "participants_at_fullest": room.get("participants"),
        "pipes": room.get("pipes"), "piped_producers": piped,
    })
    dump_run(x, rooms)


def webinar_row(path):
    x = load(path)
    lat = x["latency_ms"]
    per = ", ".join(f"worker {w['worker']} {w['viewers']} viewers {w['cpu_percent']} % "
                    f"{w['rss_mb']} MB" for w in x["workers"])
    print(f"  {x['name']:10} viewers {x['viewers']:5} shard {x['shard_size']:5}  streams "
          f"{x['streams_received']}/{x['streams_expected']}  loss {x['loss_percent']:.3f} %  "
          f"p50/p99 {lat['p50']:.2f}/{lat['p99']:.2f} ms  out {x['out_pps']:.0f} pps, piped "
          f"{x['piped_pps']:.0f} pps  workers {x['workers_cpu_percent']} % ({per})  pipes "
          f"{x['pipes']} piped tracks {x['piped_producers']}  presenter "
          f"{x['presenter_video_kbps']}/{x['presenter_video_target_kbps']} kbit/s  "
          f"gen {x['generator_cpu_percent']} % "
          f"other {x['other_cpu_percent']} %  " + held_text(x))


def held_text(x):
    """A run summary's held, for a row on the terminal (run_summary's held and held_loss)."""
    return ("held" if x["held"] else ("held at < 1 % loss; " if x["held_loss"] else "NOT held: ")
            + "; ".join(x["held_failures"]))


def held_cell(x):
    """A run summary's held, for a markdown table cell."""
    return ("yes" if x["held"] else ("loss < 1 % (not: " if x["held_loss"] else "NO (")
            + "; ".join(x["held_failures"]) + ")")


def piped_packet_cost(a, b, out_pps, piped_pps):
    """A spread run's CPU above a comparison run's, charged to the packets it piped: a and b are
    both workers' CPU per forwarded packet (us) in the comparison and in the spread run; the
    difference is taken at the spread run's rate (out_pps forwarded to subscribers, piped_pps
    across pipes), i.e. what the spread run spent above what the comparison would have spent on
    the same packets. Signed: negative when the spread run cost less."""
    extra = (b - a) * out_pps / 1e6  # cores
    per_piped = 1e6 * extra / piped_pps
    return {
        "spread_over_base": round(b / a, 4),
        "extra_cpu_percent": round(100 * extra, 2),
        "us_per_piped_packet": round(per_piped, 2),
        # The pipe's cost per packet as a multiple of a forwarded packet's (comparison run).
        "piped_over_forwarded": round(per_piped / a, 3),
        "piped_share_of_out_percent": round(100 * piped_pps / out_pps, 3),
        # What 1 % of the CPU per forwarded packet amounts to per piped packet: where the pipe
        # carries few packets, run-to-run noise of a few % is many of these.
        "us_per_piped_packet_per_percent": round(0.01 * a * out_pps / piped_pps, 2),
    }


def pipe_cost(one, spread):
    """The pipe's cost from a pair of runs at the same viewer count: one worker (shard size 0)
    and spread over two. The spread run's CPU per forwarded packet (both workers) above the
    one-worker run's, charged to the packets piped: a figure for everything spreading costs
    (the pipe's send and receive, a second loop, the split), in this pair of runs only."""
    out = {"viewers": one["viewers"], "one_worker": one["name"], "spread": spread["name"],
           "one_worker_held_loss": one["held_loss"], "spread_held_loss": spread["held_loss"],
           "us_per_out_packet_one_worker": one["us_per_out_packet"],
           "us_per_out_packet_spread": spread["us_per_out_packet"],
           "piped_pps": spread["piped_pps"], "out_pps_spread": spread["out_pps"]}
    a, b = one["us_per_out_packet"], spread["us_per_out_packet"]
    if not a or not b or not spread["piped_pps"]:
        out["note"] = "not measured: a run had no CPU figure or nothing was piped"
        return out
    cost = piped_packet_cost(a, b, spread["out_pps"], spread["piped_pps"])
    resolved = b > a
    out.update({
        "spread_over_one_worker": cost["spread_over_base"],
        "extra_cpu_percent": cost["extra_cpu_percent"],
        # Only when the spread run cost more: a negative cost per piped packet means nothing.
        "extra_us_per_piped_packet": cost["us_per_piped_packet"] if resolved else None,
        "piped_over_forwarded": round(cost["piped_over_forwarded"], 2) if resolved else None,
        "piped_share_of_out_percent": cost["piped_share_of_out_percent"],
        "us_per_piped_packet_per_percent": cost["us_per_piped_packet_per_percent"],
    })
    out["resolved"] = resolved
    out["note"] = (
        f"Both workers' CPU per forwarded packet: {a} us on one worker, {b} us spread "
        f"({100 * (b / a - 1):+.1f} %). The pipe carries {spread['piped_pps']:.0f} packets/s, "
        f"{out['piped_share_of_out_percent']} % of the {spread['out_pps']:.0f} forwarded, so each "
        f"1 % of difference is {out['us_per_piped_packet_per_percent']} us per piped packet. "
        + (f"Charged to the piped packets, the difference is {out['extra_us_per_piped_packet']} "
           f"us per piped packet ({out['piped_over_forwarded']}x a forwarded packet): one pair "
           "of runs on a shared machine, everything spreading costs included, and as uncertain "
           "as the CPU difference." if resolved else
           f"The spread run cost {100 * (1 - b / a):.1f} % less per forwarded packet than the "
           "one-worker run: the pipe's cost is hidden under differences of that size between "
           "the two configurations and between runs, and this pair of runs does not resolve "
           "it."))
    return out


def webinar(results_dir, limit_path, main_path, one_path=None, spread_path=None):
    """webinar RESULTS_DIR LIMIT MAIN [ONE_WORKER SPREAD]: webinar.json and webinar.md."""
    limit = load(limit_path) if os.path.exists(limit_path) else {}
    main_run = load(main_path)
    r = {"scenario": "webinar", "main": main_run, "limit": limit,
         "machine": main_run.get("machine"), "held": main_run["held"],
         "held_loss": main_run["held_loss"],
         "pinning": "the two workers and the generator share the machine's two cores"}
    lim = limit.get("out_pps_per_core")
    if lim:
        # Both cores' worth of the 1200-byte limit (the generator takes part of them).
        r["out_fraction_of_two_core_limit"] = round(main_run["out_pps"] / (2 * lim), 4)
    if one_path and spread_path:
        one, spread = load(one_path), load(spread_path)
        r["one_worker"], r["spread"] = one, spread
        r["pipe_cost"] = pipe_cost(one, spread)
    write_report(results_dir, "webinar", r, webinar_markdown(r))


def webinar_markdown(r):
    m = r["main"]
    lines = [
        f"# Webinar: one presenter, {m['viewers']} viewers, one room over two workers",
        "",
        f"One room: a presenter publishing {m['video_kbps']} kbit/s @ {m['fps']} fps VP8-like "
        f"video{' (3 simulcast layers)' if m['simulcast'] else ''} and Opus-like audio, and "
        f"{m['viewers']} viewers subscribing only. switchboard --workers=2 "
        f"--room-shard-size={m['shard_size']}: "
        + (f"the presenter and the first {m['shard_size'] - 1} viewers on one worker, the next "
           "on the other, the presenter's tracks piped to it. " if m["shard_size"] else
           "the whole room on one worker. ")
        + "Nothing pinned: " + r["pinning"] + f". Window {m['window_s']} s, "
        + feedback_text_summary(m) + ".",
        "",
        machine_line(r.get("machine")),
        "",
        "| run | viewers | shard | streams | loss % | p50 / p99 ms | out pps | piped pps | "
        "forwarded pps | workers CPU % | per worker: viewers, CPU %, RSS MB | pipes | piped "
        "tracks | pipe failures | gen CPU % | other % | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = [m] + [r[k] for k in ("one_worker", "spread") if k in r and r[k] is not m]
    if "spread" in r and r["spread"] is not m and r["spread"]["name"] == m["name"]:
        runs = runs[:-1]
    for x in runs:
        lat = x["latency_ms"]
        per = "; ".join(f"w{w['worker']}{' (presenter)' if w['presenter'] else ''}: "
                        f"{w['viewers']}, {w['cpu_percent']} %, {w['rss_mb']} MB"
                        for w in x["workers"])
        for w in x.get("other_workers", []):
            per += f"; unused worker: {w.get('cpu_percent')} %, {w.get('rss_mb')} MB"
        held = held_cell(x)
        lines.append(
            f"| {x['name']} | {x['viewers']} | {x['shard_size']} | "
            f"{x['streams_received']}/{x['streams_expected']} | {x['loss_percent']:.3f} | "
            f"{lat['p50']:.2f} / {lat['p99']:.2f} | {x['out_pps']:.0f} | {x['piped_pps']:.0f} | "
            f"{x['forwarded_pps_total']:.0f} | {x['workers_cpu_percent']} | {per} | "
            f"{x['pipes']} | {x['piped_producers']} | {x['pipe_failures']} | "
            f"{x['generator_cpu_percent']} | {x['other_cpu_percent']} | {held} |")
    lines += ["", "Loss is against what the presenter sent; streams count those that flowed to "
              "the end of the window (each viewer: the presenter's audio and video). Piped pps: "
              "the presenter's packets/s times the share of its tracks piped (each crosses the "
              "pipe once). Forwarded = out + piped. Workers CPU % is both workers' together, % of "
              "one core. Held at < 1 % loss is issue 14's bound; 'held' adds the p99 <= "
              f"{MAX_P99_MS:.0f} ms bound of the other scenarios. Other %: CPU of other "
              "processes on the machine during the window."]
    if r.get("out_fraction_of_two_core_limit") is not None:
        lim = r["limit"]
        lines += ["", f"Forwarded to viewers: {m['out_pps']:.0f} packets/s = "
                  f"{100 * r['out_fraction_of_two_core_limit']:.1f} % of two cores at the "
                  f"machine's limit ({lim['out_pps_per_core']:.0f} out packets/s per core, "
                  f"1200-byte packets, {lim.get('profile')}), measured just before."]
    pc = r.get("pipe_cost")
    if pc:
        lines += ["", f"## The pipe's cost ({pc['viewers']} viewers, one worker vs spread)", "",
                  pc["note"]]
        if not pc["one_worker_held_loss"]:
            lines += ["", "The one-worker run did not hold its viewers: its cost per packet is "
                      "an overloaded worker's; take a lower --compare-viewers."]
    return lines


def feedback_text_summary(x, who="viewers"):
    return (f"{who} send transport-cc feedback" if x["transport_feedback"] else
            f"{who} send no transport-cc feedback (--no-transport-feedback)")


# pipe (issue 14, the pipe's cost per packet): rooms of 2 publishers subscribing to each other,
# each room on one worker (together) or each room's second participant on the other worker
# (spread: every track piped once, so every forwarded packet also crosses a pipe).
PIPE_SHARD_SIZES = {"together": 0, "spread": 1}


def pipe_placement(config, rooms_expected, per_room, rooms):
    """Whether the rooms were placed as CONFIG asks, from GET /api/rooms (rooms-poll, each room
    at its fullest): together, every room on one worker and the rooms on both workers; spread,
    every room on two workers and every published track piped. Returns the problems (empty:
    placed as asked) and each worker's rooms and participants."""
    seen = list(rooms.values())
    problems = []
    if len(seen) != rooms_expected:
        problems.append(f"{len(seen)} of {rooms_expected} rooms seen in /api/rooms")
    short = [x["name"] for x in seen if x["participants"] != per_room]
    if short:
        problems.append(f"{len(short)} room(s) never listed with all {per_room} participants "
                        f"(e.g. {short[0]})")
    per_worker = {}
    for x in seen:
        for w in x["workers"]:
            pw = per_worker.setdefault(w.get("worker"), {"worker": w.get("worker"),
                                                         "pid": w.get("workerPid"),
                                                         "rooms": 0, "participants": 0})
            pw["rooms"] += 1
            pw["participants"] += w.get("participants", 0)
    spans = [len({w.get("worker") for w in x["workers"]}) for x in seen]
    if config == "together":
        if any(n != 1 for n in spans):
            problems.append(f"{sum(n != 1 for n in spans)} room(s) on more than one worker")
        if len(per_worker) < 2:
            problems.append(f"every room on worker {sorted(per_worker)}: not on both workers")
        if any(x["piped_producers"] for x in seen):
            problems.append(f"{sum(x['piped_producers'] for x in seen)} tracks piped")
    else:
        if any(n != 2 for n in spans):
            problems.append(f"{sum(n != 2 for n in spans)} room(s) not on two workers")
        unpiped = [x for x in seen if x["piped_producers"] < x["tracks"]]
        if unpiped:
            problems.append(f"{len(unpiped)} room(s) with fewer tracks piped than published "
                            f"(e.g. {unpiped[0]['name']}: {unpiped[0]['piped_producers']} of "
                            f"{unpiped[0]['tracks']})")
    return problems, [per_worker[k] for k in sorted(per_worker, key=lambda k: (k is None, k))]


def pipe_run(final_path, rooms_path, metrics_path, name, config, run):
    """pipe-run FINAL ROOMS METRICS NAME CONFIG RUN: one run of the pipe scenario (CONFIG
    together or spread, pair RUN): the finished generator report, every room at its fullest
    (rooms-poll) and the pipe counters. /metrics counts pipes and piped tracks, not packets: the
    packets piped are the publishers' packets/s times the share of their tracks piped."""
    r, rooms, metrics = load_run(final_path, rooms_path, metrics_path)
    s = r["scenario"]
    x = {"name": name, "config": config, "run": int(run),
         "shard_size": PIPE_SHARD_SIZES[config], "rooms": s["rooms"],
         "participants_per_room": s["participants"]}
    x.update(run_summary(r, metrics, "the publishers sent {sent} of their {target} kbit/s of "
                         "video each"))
    polled = rooms.get("rooms") or {}
    problems, per_worker = pipe_placement(config, s["rooms"], s["participants"], polled)
    procs = {p["pid"]: p for p in (r.get("sfu") or {}).get("processes", [])}
    workers = []
    for w in per_worker:
        p = procs.pop(w["pid"], {})
        workers.append(dict(w, cpu_percent=p.get("cpu_percent"),
                            cpu_seconds=p.get("cpu_seconds"), rss_mb=p.get("rss_mb")))
    # A watched worker no room used (together, when placement put every room on one).
    for p in procs.values():
        workers.append({"worker": None, "pid": p["pid"], "rooms": 0, "participants": 0,
                        "cpu_percent": p.get("cpu_percent"),
                        "cpu_seconds": p.get("cpu_seconds"), "rss_mb": p.get("rss_mb")})
    piped = sum(v["piped_producers"] or 0 for v in polled.values())
    # The rooms' published tracks as listed; without a listing, audio and video per publisher.
    tracks = sum(v["tracks"] for v in polled.values()) or 2 * s["rooms"] * s["participants"]
    x.update({
        "placement_ok": not problems, "placement_problems": problems,
        "workers": workers,
        "pipes": sum(v["pipes"] or 0 for v in polled.values()),
        "piped_producers": piped, "tracks": tracks,
        "piped_pps": piped_pps_of(x["in_pps"], piped, tracks),
    })
    dump_run(x, rooms)


def pipe_row(path):
    x = load(path)
    lat = x["latency_ms"]
    per = ", ".join(f"w{w['worker']} {w['rooms']} rooms {w['cpu_percent']} %" for w in x["workers"])
    print(f"  {x['name']:10} rooms {x['rooms']:3}  streams {x['streams_received']}/"
          f"{x['streams_expected']}  loss {x['loss_percent']:.3f} %  p50/p99 {lat['p50']:.2f}/"
          f"{lat['p99']:.2f} ms  out {x['out_pps']:.0f} pps, piped {x['piped_pps']:.0f} pps "
          f"({x['piped_producers']} of {x['tracks']} tracks, {x['pipes']} pipes)  workers "
          f"{x['workers_cpu_percent']} % ({per}), {x['us_per_out_packet']} us per forwarded "
          f"packet  gen {x['generator_cpu_percent']} % other {x['other_cpu_percent']} %  "
          + ("placed as asked" if x["placement_ok"] else
             "NOT placed as asked: " + "; ".join(x["placement_problems"])) + "  " + held_text(x))


def mean_spread(values):
    """spread() with the mean, of the values that are not None."""
    v = [x for x in values if x is not None]
    sp = spread(v)
    if sp:
        sp["mean"] = round(sum(v) / len(v), 3)
    return sp


def pipe_figure(runs):
    """The pipe's cost per piped packet from the pairs of runs: per pair, the spread run's CPU
    per forwarded packet above the together run's, at the spread run's rate, charged to the
    packets it piped (piped_packet_cost), and as a multiple of the together run's CPU per
    forwarded packet; their mean and spread over the pairs; and whether the difference stands
    out of the run-to-run spread of the together runs (the same load, configuration and build
    measured again)."""
    by_run = {}
    for x in runs:
        by_run.setdefault(x["run"], {})[x["config"]] = x
    pairs = []
    for k in sorted(by_run):
        t, sp = by_run[k].get("together"), by_run[k].get("spread")
        if not t or not sp:
            continue
        a, b = t["us_per_out_packet"], sp["us_per_out_packet"]
        p = {"pair": k, "together": t["name"], "spread": sp["name"],
             "together_us_per_forwarded": a, "spread_us_per_forwarded": b,
             "difference_us_per_forwarded": round(b - a, 3) if a and b else None,
             "together_out_pps": t["out_pps"], "spread_out_pps": sp["out_pps"],
             "piped_pps": sp["piped_pps"],
             "valid": bool(t["held_loss"] and sp["held_loss"] and t["placement_ok"]
                           and sp["placement_ok"])}
        if a and b and sp["piped_pps"] and sp["out_pps"]:
            p.update(piped_packet_cost(a, b, sp["out_pps"], sp["piped_pps"]))
            # The same without the rate correction: CPU seconds apart over the packets piped.
            p["us_per_piped_packet_raw"] = round(
                1e6 * (sp["workers_cpu_seconds"] - t["workers_cpu_seconds"])
                / (sp["piped_pps"] * sp["window_s"]), 2)
        pairs.append(p)
    together = [p["together_us_per_forwarded"] for p in pairs]
    noise = (round(max(together) - min(together), 3)
             if len([v for v in together if v]) >= 2 else None)
    for p in pairs:
        d = p["difference_us_per_forwarded"]
        p["within_together_spread"] = (abs(d) <= noise if noise is not None and d is not None
                                       else None)
    f = {"pairs": pairs,
         "together_us_per_forwarded": mean_spread(together),
         "spread_us_per_forwarded": mean_spread([p["spread_us_per_forwarded"] for p in pairs]),
         "difference_us_per_forwarded": mean_spread(
             [p["difference_us_per_forwarded"] for p in pairs]),
         "us_per_piped_packet": mean_spread([p.get("us_per_piped_packet") for p in pairs]),
         "piped_over_forwarded": mean_spread([p.get("piped_over_forwarded") for p in pairs]),
         # The run-to-run spread of the together runs, us per forwarded packet (max - min).
         "together_run_to_run_us": noise,
         "all_valid": bool(pairs) and all(p["valid"] for p in pairs)}
    d = (f["difference_us_per_forwarded"] or {}).get("mean")
    if d is None:
        f["resolved"], f["note"] = False, "not measured: no pair of runs with CPU figures."
    elif noise is None:
        f["resolved"] = False
        f["note"] = ("One pair of runs: the run-to-run spread of the together runs is not known, "
                     "so whether the difference is the pipe's cost or noise cannot be told "
                     "(--runs=2 or more).")
    elif abs(d) <= noise:
        f["resolved"] = False
        f["note"] = (f"Not resolved: the spread runs cost {d:+.3f} us per forwarded packet on "
                     f"average against the together runs, within the together runs' own "
                     f"run-to-run spread of {noise:.3f} us.")
    elif d < 0:
        f["resolved"] = False
        f["note"] = (f"Not resolved: the spread runs cost {-d:.3f} us *less* per forwarded packet "
                     f"than the together runs, beyond the together runs' spread of {noise:.3f} "
                     "us: something other than the pipe differs between the configurations.")
    else:
        f["resolved"] = True
        f["note"] = (f"Resolved: the spread runs cost {d:+.3f} us per forwarded packet on average "
                     f"against the together runs, beyond the together runs' run-to-run spread "
                     f"of {noise:.3f} us.")
    if pairs and not f["all_valid"]:
        f["note"] += (" Some run did not hold at < 1 % loss or was not placed as asked (see the "
                      "table): its figures are not this load's.")
    return f


def pipe(results_dir, limit_path, *run_paths):
    """pipe RESULTS_DIR LIMIT RUN...: pipe.json and pipe.md from the pipe-run summaries."""
    limit = load(limit_path) if os.path.exists(limit_path) else {}
    runs = [load(p) for p in run_paths]
    r = {"scenario": "pipe", "rooms": runs[0]["rooms"],
         "participants_per_room": runs[0]["participants_per_room"],
         "pairs": len({x["run"] for x in runs}), "runs": runs, "limit": limit,
         "machine": runs[0].get("machine"),
         "pinning": "the two workers and the generator share the machine's two cores",
         "held_loss": all(x["held_loss"] for x in runs),
         "placement_ok": all(x["placement_ok"] for x in runs),
         "figure": pipe_figure(runs)}
    write_report(results_dir, "pipe", r, pipe_markdown(r))


def fmt_signed(v):
    return "-" if v is None else f"{v:+.3f}"


def pipe_markdown(r):
    x0, f = r["runs"][0], r["figure"]
    lines = [
        f"# The pipe's cost per packet: {r['rooms']} rooms of {r['participants_per_room']}, "
        "together and spread over two workers",
        "",
        f"{r['rooms']} rooms of {r['participants_per_room']} participants, each publishing "
        f"{x0['video_kbps']} kbit/s @ {x0['fps']} fps VP8-like video"
        f"{' (3 simulcast layers)' if x0['simulcast'] else ''} and Opus-like audio and "
        "subscribing to the other. switchboard --workers=2, alternately "
        "--room-shard-size=0 (together: each room on one worker, the rooms spread over both by "
        "placement) and --room-shard-size=1 (spread: each room's second participant on the "
        "other worker, so every track is piped once and every forwarded packet also crosses a "
        f"pipe), {r['pairs']} pair(s) of runs, each a fresh server. Nothing pinned: "
        + r["pinning"] + f". Window {x0['window_s']} s, "
        + feedback_text_summary(x0, "subscribers") + ".",
        "",
        machine_line(r.get("machine")) + " Busy just before each run: " + "; ".join(
            f"{x['name']} " + ", ".join(f"{k} {v} %" for k, v in
                                        ((x.get("machine") or {}).get("busy_percent_before")
                                         or {}).items())
            for x in r["runs"]) + ".",
        "",
        "| run | rooms per worker | streams | loss % | p50 / p99 ms | out pps | piped pps | "
        "pipes | workers CPU % (each) | us per forwarded packet | gen CPU % | other % | placed "
        "as asked | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in r["runs"]:
        lat = x["latency_ms"]
        per_rooms = " + ".join(str(w["rooms"]) for w in x["workers"])
        each = " + ".join(str(w["cpu_percent"]) for w in x["workers"])
        placed = "yes" if x["placement_ok"] else "NO: " + "; ".join(x["placement_problems"])
        lines.append(
            f"| {x['name']} | {per_rooms} | {x['streams_received']}/{x['streams_expected']} | "
            f"{x['loss_percent']:.3f} | {lat['p50']:.2f} / {lat['p99']:.2f} | "
            f"{x['out_pps']:.0f} | {x['piped_pps']:.0f} | {x['pipes']} | "
            f"{x['workers_cpu_percent']} ({each}) | {x['us_per_out_packet']} | "
            f"{x['generator_cpu_percent']} | {x['other_cpu_percent']} | {placed} | "
            f"{held_cell(x)} |")
    lines += [
        "", "Placed as asked: from GET /api/rooms, polled every second (each room at its "
        "fullest): together, every room on one worker and the rooms on both workers; spread, "
        "every room on two workers with every published track piped. Out pps: packets/s the "
        "subscribers received (forwarded). Piped pps: the publishers' packets/s times the share "
        "of their tracks piped (/metrics counts pipes and piped tracks, not packets). Workers "
        "CPU % is both workers' together, % of one core; us per forwarded packet = both workers' "
        "CPU seconds / packets forwarded to subscribers in the window. Loss is against what the "
        "publishers sent; held at < 1 % loss is issue 14's bound, 'yes' adds the p99 <= "
        f"{MAX_P99_MS:.0f} ms bound of the other scenarios. Other %: CPU of other processes on "
        "the machine during the window.",
        "", "## The pipe's cost per piped packet", "",
        "| pair | together: us per forwarded packet | spread: us per forwarded packet | "
        "difference, us per forwarded packet | piped pps | pipe's cost, us per piped packet | "
        "x a forwarded packet (together) | within the together runs' spread |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in f["pairs"]:
        within = {True: "yes", False: "no", None: "unknown"}[p["within_together_spread"]]
        lines.append(
            f"| {p['pair']}{'' if p['valid'] else ' (a run not held or not placed)'} | "
            f"{p['together_us_per_forwarded']} | {p['spread_us_per_forwarded']} | "
            f"{fmt_signed(p['difference_us_per_forwarded'])} | {p['piped_pps']:.0f} | "
            f"{p.get('us_per_piped_packet')} | {p.get('piped_over_forwarded')} | {within} |")

    def ms(key, unit, digits):
        sp = f.get(key)
        if not sp:
            return "not measured"
        if sp["runs"] == 1:
            return f"{sp['mean']:.{digits}f}{unit} (one pair)"
        return (f"{sp['mean']:.{digits}f}{unit} (mean; {sp['min']:.{digits}f} to "
                f"{sp['max']:.{digits}f} over {sp['runs']} pairs)")

    lines += [
        "", "The pipe's cost per piped packet = (spread run's us per forwarded packet - together "
        "run's) x the spread run's forwarded packets / its piped packets: what the spread run's "
        "two workers spent above what the together run's would have spent on the same "
        "packets, charged to the packets piped (here every forwarded packet is also piped).",
        "",
        f"- Together: {ms('together_us_per_forwarded', ' us', 3)} per forwarded packet; "
        + (f"run-to-run spread {f['together_run_to_run_us']:.3f} us (max - min)."
           if f["together_run_to_run_us"] is not None else
           "run-to-run spread not known (one pair)."),
        f"- Spread: {ms('spread_us_per_forwarded', ' us', 3)} per forwarded packet.",
        f"- The pipe's cost: {ms('us_per_piped_packet', ' us', 2)} per piped packet, "
        f"{ms('piped_over_forwarded', 'x', 3)} a forwarded packet's (together).",
        "", f["note"]]
    lim = r.get("limit") or {}
    if lim.get("out_pps_per_core"):
        lines += ["", f"For scale, the machine's limit measured just before (bench/limit, one "
                  f"core): {lim['out_pps_per_core']:.0f} out packets/s, "
                  f"{lim['send_us']['best']} us to send a 1200-byte datagram on loopback and "
                  f"{lim['protect_us'].get(lim.get('profile'))} us to protect it with "
                  f"{lim.get('profile')}. A pipe between two workers of one host is plain RTP "
                  "over UDP on 127.0.0.1: one send and one receive per packet, no SRTP."]
    return lines


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
    elif cmd == "search-runs":
        search_runs(*args)
    elif cmd == "mix-arg":  # mix-arg REPORT: the --mix of switchboard-limit for this load
        print(mix_arg(args[0]))
    elif cmd == "core-full":  # core-full FINAL: exit 0 when the worker's core was full
        sys.exit(0 if (load(args[0]).get("sfu") or {}).get("cpu_percent", 0) >= CORE_FULL_PERCENT
                 else 1)
    elif cmd == "search-table":
        search_table(*args)
    elif cmd == "vs-janus":
        vs_janus(*args)
    elif cmd == "resources":
        resources(*args)
    elif cmd == "settle":
        settle(*args)
    elif cmd == "wait-baseline":
        wait_baseline(*args)
    elif cmd == "churn":
        churn(*args)
    elif cmd == "sample":
        sample(*args)
    elif cmd == "soak":
        soak(*args)
    elif cmd == "data":  # data RESULTS_DIR MEDIA CHAT FILE (finished reports)
        data(*args)
    elif cmd == "rooms-poll":
        rooms_poll(*args)
    elif cmd == "pipe-metrics":
        pipe_metrics(*args)
    elif cmd == "webinar-run":
        webinar_run(*args)
    elif cmd == "webinar-row":
        webinar_row(*args)
    elif cmd == "webinar":  # webinar RESULTS_DIR LIMIT MAIN [ONE_WORKER SPREAD]
        webinar(*args)
    elif cmd == "pipe-run":
        pipe_run(*args)
    elif cmd == "pipe-row":
        pipe_row(*args)
    elif cmd == "pipe":  # pipe RESULTS_DIR LIMIT RUN... (pipe-run summaries)
        pipe(*args)
    elif cmd == "replot":  # replot RESULTS_DIR: the PNG again from vs-janus.json (no markdown)
        plot(args[0], {k: v["steps"] for k, v in load(
            os.path.join(args[0], "vs-janus.json"))["servers"].items()})
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
