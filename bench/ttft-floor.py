#!/usr/bin/env python3
"""The TTFT floor of a replayed workload, from `sluice replay --requests` output.

For each completed request: its prompt less the longest prefix any engine held when it was dispatched
(best_cached_tokens), at the fleet's prefill rate with the decode load of the run (the median rate of the prefills
over 3,000 new tokens that started at once), with no wait at all. The p90 of that is what no router could beat on
this fleet at this load; the ratio of a policy's p90 TTFT to it is the part a router can still win.

Usage: bench/ttft-floor.py OUT/requests-POLICY.csv [GOAL_MS]
"""
import csv
import statistics
import sys


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["outcome"] == "ok"]
goal = float(sys.argv[2]) if len(sys.argv) > 2 else None
num = lambda r, k: float(r[k] or 0)
ttft = [num(r, "ttft_ms") for r in rows]
prompt = [num(r, "prompt_tokens") for r in rows]
cached = [num(r, "cached_tokens") for r in rows]
best = [num(r, "best_cached_tokens") for r in rows]
wait = [num(r, "router_wait_ms") + num(r, "engine_wait_ms") for r in rows]
rates = [(p - c) / (t - w) for t, p, c, w in zip(ttft, prompt, cached, wait) if w < 3 and p - c > 3000 and t > w]
if not rates:
    sys.exit("no prefill over 3,000 new tokens started at once: cannot measure the prefill rate")
rate = statistics.median(rates)
floor = [(p - b) / rate for p, b in zip(prompt, best)]
p90, floor90 = percentile(ttft, 90), percentile(floor, 90)
print(f"{len(rows)} requests: p90 TTFT {p90:.0f} ms; prefill rate {rate:.1f} tokens/ms; floor p90 {floor90:.0f} ms "
      f"({p90 / floor90:.2f}x the floor); cached {sum(cached) / sum(prompt):.1%} of prompt tokens, "
      f"{sum(best) / sum(prompt):.1%} held somewhere")
if goal is not None:
    print(f"requests whose floor alone exceeds {goal:.0f} ms: {sum(f > goal for f in floor) / len(floor):.1%}; "
          f"goal / floor p90 = {goal / floor90:.2f}")
