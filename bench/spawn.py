"""Runs the benchmark's timed commands on behalf of bench/run.py.

A child's peak RSS (ru_maxrss) counts the memory of the process it was
forked from, so the commands are started from this small process rather
than from the harness, which grows as it builds trees. Protocol: one JSON
line {"argv": [...], "log": PATH} in, one JSON line out with rc, wall (s),
cpu (user + system, s), user, sys and maxrss (KiB) of that command alone (os.wait4).
"""

import json
import os
import subprocess
import sys
import time

for line in sys.stdin:
    req = json.loads(line)
    with open(req["log"], "ab") as out:
        t = time.perf_counter()
        p = subprocess.Popen(req["argv"], stdout=out, stderr=subprocess.STDOUT, env=req["env"])
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({"rc": p.returncode, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                      "user": ru.ru_utime, "sys": ru.ru_stime, "maxrss": ru.ru_maxrss}), flush=True)
