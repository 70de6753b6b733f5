#!/usr/bin/env python3
"""kill -9 of a follow-mode ingest of many random keys at KILLS random moments.

    crash_keys.py INFRAPIVOT INPUT WORKDIR KILLS SEED [INGEST OPTION...]

INPUT is a COF file (scripts/gen-dataset --keys random).  The expected value
of every resolution (count summed, first and last seen) is computed from the
file itself; a sample of >= 200 of them is read back with a few batched
lookups: every resolution under one or more random /8 prefixes (`lookup ip
A.0.0.0/8`, one call each) and those of the 5 most often seen names.

1. A clean plain ingest is the reference: its sample must equal the file's
   values and its `stats` resolutions the file's unique resolutions.
2. An ingest --follow of the file into a fresh database is killed -9 KILLS
   times and restarted each time from the position it keeps in the database.
   Each moment is chosen by conditions on the process's progress, never by a
   sleep: once the committed resolutions (`stats`) reach a random threshold
   (thresholds ascend over 2-95 % of the total), it is killed at once, or
   after its /proc/PID/io write_bytes (within a commit) or rchar (reading
   and parsing) grow by a random amount, whichever the seeded RNG picks
   (or at the next commit, or when it has gone idle, if that comes first).
   After every kill the database must open (`stats --json`), no `stats`
   total and no sampled count may exceed the reference's, and no sampled
   resolution may be unknown to it.
3. A last follow run (--exit-idle 1) must end identical to the reference:
   `stats` totals and every field of every sampled resolution.
4. A plain ingest with --memory 16M (its merge table written in key-range
   slices of 6 MiB of dirty pages, several transactions a flush) is killed
   KILLS times, each into a fresh database, at moments chosen as in 2: the
   database must open and no count may exceed the reference's.

Prints the seed and each kill's moment; exits 1 on any failure."""
import json
import os
import random
import signal
import subprocess
import sys
import time

IP, INPUT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
KILLS, SEED = int(sys.argv[4]), int(sys.argv[5])
OPTS = sys.argv[6:]
SIZE_FIELDS = ("db_bytes", "used_bytes", "map_bytes")
POLL = 0.02  # how often the kill conditions are looked at
failures = []


def fail(msg):
    """Record a failure; the first 30 are printed."""
    failures.append(msg)
    if len(failures) <= 30:
        print("FAIL: " + msg, flush=True)


def run(*args):
    return subprocess.run([IP] + list(args), capture_output=True, text=True)


def stats(db):
    """The stats totals, without the size fields; None when it fails."""
    p = run("stats", "--json", "--db", db)
    if p.returncode != 0:
        return None
    s = json.loads(p.stdout)
    return {k: v for k, v in s.items() if k not in SIZE_FIELDS}


def expected_from_file():
    """(rrname, rrtype, rdata) -> [count, time_first, time_last]; the per-name
    number of lines."""
    exp, lines_of = {}, {}
    with open(INPUT) as f:
        for line in f:
            d = json.loads(line)
            k = (d["rrname"], d["rrtype"], d["rdata"])
            e = exp.get(k)
            if e is None:
                exp[k] = [d["count"], d["time_first"], d["time_last"]]
            else:
                e[0] += d["count"]
                e[1] = min(e[1], d["time_first"])
                e[2] = max(e[2], d["time_last"])
            lines_of[d["rrname"]] = lines_of.get(d["rrname"], 0) + 1
    return exp, lines_of


def choose_sample(rng, exp, lines_of):
    """Lookup argument lists whose results are the sample, and its keys."""
    hot = sorted(lines_of, key=lambda n: (-lines_of[n], n))[:5]
    queries = [["domain", n] for n in hot]
    keys = {k for k in exp if k[0] in hot}
    firsts = list(range(1, 224))
    rng.shuffle(firsts)
    for a in firsts:
        if len(keys) >= 250:
            break
        if a == 127:
            continue
        queries.append(["ip", "%d.0.0.0/8" % a])
        keys |= {k for k in exp if k[2].startswith("%d." % a)}
    return queries, keys


def read_sample(db, queries):
    """(rrname, rrtype, rdata) -> the resolution's JSON object."""
    got = {}
    for q in queries:
        p = run("lookup", q[0], q[1], "--limit", "0", "--db", db)
        if p.returncode != 0 and p.stdout == "":
            continue  # nothing there yet
        for line in p.stdout.splitlines():
            d = json.loads(line)
            if "rrname" in d:
                got[(d["rrname"], d["rrtype"], d["rdata"])] = d
    return got


def io_of(pid):
    """(rchar, write_bytes) of a running process."""
    v = {}
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                name, _, num = line.partition(":")
                v[name] = int(num)
    except OSError:
        return None
    return v.get("rchar", 0), v.get("write_bytes", 0)


def committed(db):
    s = stats(db)
    return s["resolutions"] if s else -1


def wait_threshold(p, db, threshold):
    """Until the committed resolutions reach threshold; their number."""
    while p.poll() is None:
        n = committed(db)
        if n >= threshold:
            return n
        time.sleep(POLL)
    return -1


def wait_growth(p, db, n0, field, delta):
    """Until /proc io field (0 rchar, 1 write_bytes) grows by delta, the next
    commit lands, or the process idles (50 polls with no I/O)."""
    start = last = io_of(p.pid)
    idle = 0
    while p.poll() is None and start is not None:
        cur = io_of(p.pid)
        if cur is None or cur[field] - start[field] >= delta:
            return "grew"
        idle = idle + 1 if cur == last else 0
        last = cur
        if idle >= 50:
            return "idle"
        if committed(db) != n0:
            return "next commit"
        time.sleep(POLL)
    return "exited"


def kill_once(rng, db, log, threshold, plain=False):
    """Start follow mode (plain: a plain ingest whose merge table is written
    in many slices), kill -9 it at a moment past threshold."""
    mode = ["--memory", "16M"] if plain else ["--follow", INPUT, "--poll", "20"]
    p = subprocess.Popen([IP, "ingest", "--db", db, "-q", "--no-progress"] + mode + OPTS +
                         ([INPUT] if plain else []), stdout=subprocess.DEVNULL, stderr=log)
    how = rng.choice(("at once", "write_bytes", "rchar"))
    delta = rng.randrange(1 << 22) if how == "write_bytes" else rng.randrange(1 << 21)
    n0 = wait_threshold(p, db, threshold)
    why = how
    if n0 >= 0 and how != "at once":
        why = "%s +%d: %s" % (how, delta, wait_growth(p, db, n0, 1 if how == "write_bytes" else 0, delta))
    alive = p.poll() is None
    if alive:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return alive, n0, why


def check_after_kill(i, db, ref_stats, ref, queries):
    s = stats(db)
    if s is None:
        fail("kill %d: the database does not open (stats --json)" % i)
        return
    for k, v in s.items():
        if v > ref_stats.get(k, 0):
            fail("kill %d: stats %s = %d > %d of the clean run" % (i, k, v, ref_stats.get(k, 0)))
    got = read_sample(db, queries)
    for k, d in got.items():
        r = ref.get(k)
        if r is None:
            fail("kill %d: %s unknown to the clean run" % (i, k))
        elif d["count"] > r["count"]:
            fail("kill %d: %s count %d > %d of the clean run" % (i, k, d["count"], r["count"]))
    return s["resolutions"], len(got)


def reference(queries, keys, exp):
    """The clean run's sample and totals, checked against the file."""
    ref_db = os.path.join(WORK, "ref")
    p = subprocess.run([IP, "ingest", "--db", ref_db, "--no-progress", "-q", INPUT] + OPTS,
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail("clean run: exit %d: %s" % (p.returncode, p.stderr.strip()))
    ref_stats = stats(ref_db)
    ref = read_sample(ref_db, queries)
    if ref_stats is None or ref_stats["resolutions"] != len(exp):
        fail("clean run: %s resolutions, the file has %d" % (ref_stats and ref_stats["resolutions"], len(exp)))
    if set(ref) != keys:
        fail("clean run: sample has %d resolutions, the file %d" % (len(ref), len(keys)))
    for k in keys & set(ref):
        d = ref[k]
        if [d["count"], d["time_first"], d["time_last"]] != exp[k]:
            fail("clean run: %s is %s, the file says %s" % (k, [d["count"], d["time_first"], d["time_last"]], exp[k]))
    return ref_stats, ref


def plain_kills(rng, exp, ref_stats, ref, queries):
    """Step 4: kills of plain ingests during their sliced flushes."""
    thresholds = sorted(rng.randint(len(exp) // 50, len(exp) * 95 // 100) for _ in range(KILLS))
    with open(os.path.join(WORK, "plain.log"), "w") as log:
        for i, t in enumerate(thresholds, 1):
            db = os.path.join(WORK, "plain-%d" % i)
            alive, n0, why = kill_once(rng, db, log, t, plain=True)
            if not alive:
                print("plain kill %d: the ingest ended before it (threshold %d)" % (i, t), flush=True)
            r = check_after_kill(i, db, ref_stats, ref, queries)
            print("plain kill %d: threshold %d resolutions (reached %d), then %s; after it %s resolutions, %s sampled"
                  % (i, t, n0, why, *(r or ("?", "?"))), flush=True)


def main():
    rng = random.Random(SEED)
    print("seed %d, %d kills, ingest options %s" % (SEED, KILLS, OPTS or "none"), flush=True)
    exp, lines_of = expected_from_file()
    queries, keys = choose_sample(rng, exp, lines_of)
    print("%d resolutions in the file; sample: %d, read with %d lookups" % (len(exp), len(keys), len(queries)))
    ref_stats, ref = reference(queries, keys, exp)
    db = os.path.join(WORK, "follow")
    thresholds = sorted(rng.randint(len(exp) // 50, len(exp) * 95 // 100) for _ in range(KILLS))
    with open(os.path.join(WORK, "follow.log"), "w") as log:
        for i, t in enumerate(thresholds, 1):
            alive, n0, why = kill_once(rng, db, log, t)
            if not alive:
                fail("kill %d: follow ingest exited on its own before it (see follow.log)" % i)
                continue
            r = check_after_kill(i, db, ref_stats, ref, queries)
            print("kill %d: threshold %d resolutions (reached %d), then %s; after it %s resolutions, %s sampled"
                  % (i, t, n0, why, *(r or ("?", "?"))), flush=True)
        p = subprocess.run([IP, "ingest", "--db", db, "--follow", INPUT, "--poll", "20", "--exit-idle", "1",
                            "-q"] + OPTS, stdout=subprocess.DEVNULL, stderr=log)
    if p.returncode != 0:
        fail("restart after the last kill: exit %d" % p.returncode)
    s = stats(db)
    if s != ref_stats:
        fail("after the restart: stats %s, clean run %s" % (s, ref_stats))
    got = read_sample(db, queries)
    diff = [k for k in keys if got.get(k) != ref.get(k)]
    for k in diff:
        fail("after the restart: %s is %s, clean run %s" % (k, got.get(k), ref.get(k)))
    print("after the restart: %d of %d sampled resolutions as in the clean run; stats %s"
          % (len(keys) - len(diff), len(keys), "equal" if s == ref_stats else "differ"))
    plain_kills(rng, exp, ref_stats, ref, queries)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
