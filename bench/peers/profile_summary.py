#!/usr/bin/env python3
"""Side by side, the operators of two Chrome traces of one training step
(ours: rfm_step_bench with RFM_BENCH_PROFILE; the peer's:
torch_rfm_step.py --profile): total time per operator name, inclusive of
the operators it calls, largest first.

  profile_summary.py ours.json peer.json [--top 25]
"""
import argparse
import collections
import json


def totals(path):
    with open(path) as f:
        events = json.load(f)
    if isinstance(events, dict):
        events = events.get("traceEvents", [])
    out, calls = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            out[e["name"]] += float(e["dur"]) / 1e3
            calls[e["name"]] += 1
    return out, calls


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ours")
    p.add_argument("peer")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    ours, ours_calls = totals(a.ours)
    peer, peer_calls = totals(a.peer)
    names = sorted(set(ours) | set(peer), key=lambda n: -max(ours[n], peer[n]))[:a.top]
    print(f"{'operator':44} {'ours ms':>10} {'calls':>6} {'peer ms':>10} {'calls':>6}")
    for n in names:
        print(f"{n[:44]:44} {ours[n]:10.1f} {ours_calls[n]:6d} {peer[n]:10.1f} {peer_calls[n]:6d}")


if __name__ == "__main__":
    main()
