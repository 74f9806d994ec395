#!/usr/bin/env python3
"""The TTFT floor of a replayed workload, from `sluice replay --requests` output.

Each completed request's floor is the replay's `floor_ttft_ms`: its prompt, less the longest prefix any engine held
when it was dispatched (best_cached_tokens), prefilled alone on an idle server of the fleet's fastest profile for
it, priced by the simulator's own cost model (chunks of max_num_batched_tokens, attention over the cached prefix
included), with no wait and no other request in the batch. The p90 of that is what no router could beat on this
fleet; a policy's p90 over it is what queueing, lost cache and shared batches still cost.

With a goal (ms), it also splits the requests over the goal: those whose floor alone is over it (no router can
help them) and the rest, with where their time went (cache they did not use, waiting, slower shared chunks).

Usage: bench/ttft-floor.py OUT/requests-POLICY.csv [GOAL_MS]
"""
import csv
import sys


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["outcome"] == "ok"]
if not rows:
    sys.exit("no completed request in " + sys.argv[1])
if "floor_ttft_ms" not in rows[0]:
    sys.exit(sys.argv[1] + " has no floor_ttft_ms column: write it again with this version's `sluice replay`")
goal = float(sys.argv[2]) if len(sys.argv) > 2 else None
num = lambda r, k: float(r[k] or 0)
ttft = [num(r, "ttft_ms") for r in rows]
floor = [num(r, "floor_ttft_ms") for r in rows]
prompt = sum(num(r, "prompt_tokens") for r in rows)
p90, floor90 = percentile(ttft, 90), percentile(floor, 90)
print(f"{len(rows)} requests: p90 TTFT {p90:.0f} ms; floor p90 {floor90:.0f} ms ({p90 / floor90:.2f}x the floor); "
      f"cached {sum(num(r, 'cached_tokens') for r in rows) / prompt:.1%} of prompt tokens, "
      f"{sum(num(r, 'best_cached_tokens') for r in rows) / prompt:.1%} held somewhere")
if goal is not None:
    allowed = int(len(rows) * 0.1)
    hopeless = sum(f > goal for f in floor)
    over = [r for r, t, f in zip(rows, ttft, floor) if t > goal >= f]
    print(f"goal {goal:.0f} ms = {goal / floor90:.2f}x the floor p90; a p90 within it allows {allowed} requests over "
          f"it: {hopeless} are over it even alone, {len(over)} more are over it with a floor under it")
    if over:
        waited = sum(num(r, "router_wait_ms") + num(r, "engine_wait_ms") for r in over) / len(over)
        lost = sum(num(r, "best_cached_tokens") - num(r, "cached_tokens") for r in over) / len(over)
        extra = sum(num(r, "ttft_ms") - num(r, "floor_ttft_ms") for r in over) / len(over)
        print(f"those {len(over)}: {extra:.0f} ms over their floor on average, {waited:.0f} ms of it waiting "
              f"(router and engine queues), {lost:.0f} cached tokens left unused")
