#!/usr/bin/env python3
"""Writes one day in the three files of the Azure Functions 2019 trace, for
a replay where the real trace cannot be downloaded: invocations per
function per minute, duration percentiles per function, memory percentiles
per application, with the trace's columns exactly.

The shape follows what Shahrad et al. (ATC'20) report: popularity spread
over orders of magnitude (a log-normal mean rate per function), a diurnal
swing, some timer-triggered functions firing on a period, log-normal
durations around a second with a long tail, and apps of 100-300 MB. It is
a stand-in, said so wherever its figure is shown; with the real files,
paper-artifacts/load-replay.sh uses those instead.

usage: azure_like_trace.py OUT_DIR [--functions N] [--seed S]
"""

import argparse
import math
import os
import random

MINUTES = 1440


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--functions", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    apps = max(1, args.functions // 4)
    functions = []
    for i in range(args.functions):
        owner, app = f"owner{i % 37:02d}", f"app{i % apps:03d}"
        trigger = rng.choices(["http", "timer", "queue", "event", "storage"], [55, 15, 15, 10, 5])[0]
        mean_per_minute = math.exp(rng.gauss(-0.5, 2.2))
        functions.append((owner, app, f"func{i:04d}", trigger, mean_per_minute))
    with open(os.path.join(args.out, "invocations_per_function_md.anon.d01.csv"), "w") as f:
        f.write("HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, MINUTES + 1)) + "\n")
        for owner, app, name, trigger, mean in functions:
            period = rng.choice([1, 5, 10, 15, 60]) if trigger == "timer" else 0
            counts = []
            for m in range(MINUTES):
                if period:
                    counts.append(1 if m % period == 0 else 0)
                    continue
                diurnal = 1.0 + 0.5 * math.sin(2 * math.pi * (m - 360) / MINUTES)
                counts.append(poisson(rng, mean * diurnal))
            f.write(f"{owner},{app},{name},{trigger}," + ",".join(map(str, counts)) + "\n")
    with open(os.path.join(args.out, "function_durations_percentiles.anon.d01.csv"), "w") as f:
        percentiles = [0, 1, 25, 50, 75, 99, 100]
        f.write("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,"
                + ",".join(f"percentile_Average_{p}" for p in percentiles) + "\n")
        for owner, app, name, _, mean in functions:
            median_ms = math.exp(rng.gauss(math.log(300), 1.3))
            sigma = rng.uniform(0.3, 1.2)
            values = [median_ms * math.exp(sigma * z) for z in (-3.0, -2.33, -0.674, 0.0, 0.674, 2.33, 3.0)]
            average = median_ms * math.exp(sigma * sigma / 2)
            count = int(mean * MINUTES) + 1
            f.write(f"{owner},{app},{name},{average:.0f},{count},{values[0]:.0f},{values[-1]:.0f},"
                    + ",".join(f"{v:.0f}" for v in values) + "\n")
    with open(os.path.join(args.out, "app_memory_percentiles.anon.d01.csv"), "w") as f:
        percentiles = [1, 5, 25, 50, 75, 95, 99, 100]
        f.write("HashOwner,HashApp,SampleCount,AverageAllocatedMb,"
                + ",".join(f"AverageAllocatedMb_pct{p}" for p in percentiles) + "\n")
        seen = set()
        for owner, app, _, _, _ in functions:
            if (owner, app) in seen:
                continue
            seen.add((owner, app))
            base = rng.uniform(100, 300)
            values = [base * (0.8 + 0.4 * p / 100) for p in percentiles]
            f.write(f"{owner},{app},{rng.randint(100, 5000)},{base:.0f}," + ",".join(f"{v:.0f}" for v in values) + "\n")


def poisson(rng, mean):
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


if __name__ == "__main__":
    main()
