#!/usr/bin/env python3
"""check_beacons.py TRUTH BEACONS_JSON - the planted beacons of
scripts/gen-estate rank above every decoy, with the right host and
organisation counts and a period within 10 %.  Prints what is wrong."""
import json
import sys

truth = json.load(open(sys.argv[1]))
ranked = json.load(open(sys.argv[2]))
planted = {p["destination"]: p for p in truth["planted"]}
related = {r for p in truth["planted"] for r in p["related"]}
by_dest = {e["destination"]: e for e in ranked}
errors = []
for name, p in planted.items():
    e = by_dest.get(name)
    if e is None:
        errors.append("%s not ranked" % name)
        continue
    if e["type"] != p["type"]:
        errors.append("%s: type %s, want %s" % (name, e["type"], p["type"]))
    if e["hosts"] != p["hosts"] or e["orgs"] != p["orgs"]:
        errors.append("%s: %d hosts in %d orgs, want %d in %d"
                      % (name, e["hosts"], e["orgs"], p["hosts"], p["orgs"]))
    if e["period_s"] is None or abs(e["period_s"] - p["period_s"]) > 0.1 * p["period_s"]:
        errors.append("%s: period %s, want %d +-10%%" % (name, e["period_s"], p["period_s"]))
    if not e["reasons"]:
        errors.append("%s: no reasons" % name)
decoys = [e for e in ranked if e["destination"] not in planted and e["destination"] not in related]
low = min((by_dest[n]["score"] for n in planted if n in by_dest), default=0)
for d in decoys:
    if d["score"] >= low:
        errors.append("decoy %s scores %.3f >= the lowest beacon's %.3f"
                      % (d["destination"], d["score"], low))
for err in errors:
    print("FAIL:", err)
print("%d planted, %d decoys ranked, lowest beacon %.3f, best decoy %.3f"
      % (len(planted), len(decoys), low, max((d["score"] for d in decoys), default=0)))
sys.exit(1 if errors else 0)
