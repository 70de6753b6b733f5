#!/usr/bin/env python3
"""measure.py CMD... : run a command, print "wall_seconds max_rss_kib exit_status" on
stderr's last line (the command's own output passes through).  Used by the benchmarks,
which must not depend on GNU time being installed."""
import os
import subprocess
import sys
import time

t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:])
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
code = os.waitstatus_to_exitcode(status)
sys.stderr.write("%.3f %d %d\n" % (wall, ru.ru_maxrss, code))
sys.exit(0 if code in (0, 1) else code)
