#!/usr/bin/env python3
"""Summarizes a faasrt-load replay's run directory for the worked figure:
what was sent, the send lag and latency (from summary.json), and how the
server's run time of each invocation compares with what the trace asked
(server_run_ns / demand_duration_us, the synthetic guest's slowdown on
this machine): median and p99 over the invocations with a demand of at
least 1 ms.

usage: replay_summary.py RUN_DIR  (prints JSON)
"""

import csv
import json
import os
import sys


def quantile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    run = sys.argv[1]
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    ratios, runs_ms = [], []
    with open(os.path.join(run, "invocations.csv")) as f:
        for row in csv.DictReader(f):
            if not row.get("server_run_ns") or not row.get("demand_duration_us"):
                continue
            run_ns, demand_us = int(row["server_run_ns"]), int(row["demand_duration_us"])
            runs_ms.append(run_ns / 1e6)
            if demand_us >= 1000:
                ratios.append(run_ns / (demand_us * 1000))
    print(json.dumps({
        "scheduled": summary["scheduled"],
        "sent": summary["sent"],
        "succeeded": summary["succeeded"],
        "failed": summary["failed"],
        "wall_s": summary["wall_s"],
        "send_lag_us": summary["send_lag_us"],
        "latency_from_scheduled_us": summary["latency_from_scheduled_us"],
        "injector_cpu_s": summary["injector_cpu_s"],
        "server_run_ms": {"p50": quantile(runs_ms, 0.5), "p99": quantile(runs_ms, 0.99)},
        "run_over_demand": {
            "invocations": len(ratios),
            "p50": quantile(ratios, 0.5),
            "p99": quantile(ratios, 0.99),
        },
    }, indent=2))


if __name__ == "__main__":
    main()
