#!/usr/bin/env python3
"""measure.py CMD... : run a command, print
"wall_seconds max_rss_kib exit_status write_bytes" on stderr's last line (the
command's own output passes through).  Used by the benchmarks, which must not
depend on GNU time being installed.

write_bytes is the child's /proc/PID/io write_bytes (bytes it caused to be
sent to storage: pages it dirtied, counted once per dirtying, whether by
write() or through a shared mapping), read at the one moment it is both final
and readable: after the child has exited but before it is reaped.
waitid(WEXITED | WNOWAIT) waits for the exit and leaves the child a zombie,
whose /proc/PID/io still holds the totals of all its threads (exited
threads are folded into the process's signal struct); wait4() then reaps it
and gives peak RSS.  Polling while it runs would miss the last commit.
The kernel folds the I/O of children the child reaped into its own figures, so
a wrapper shell is counted with what it ran; "-1" when /proc/PID/io is
unreadable."""
import os
import subprocess
import sys
import time


def io_write_bytes(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:])
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - t0
wb = io_write_bytes(p.pid)
_, status, ru = os.wait4(p.pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.stderr.write("%.3f %d %d %d\n" % (wall, ru.ru_maxrss, code, wb))
sys.exit(0 if code in (0, 1) else code)
