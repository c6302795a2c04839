#!/usr/bin/env python3
"""Measure (GOMAXPROCS=1: one core) `eventproc validate` over a generated NDJSON file of mixed event types.

Usage: scripts/bench-validate.py [BINARY] [LINES...]
Writes the files under .run/, runs the binary once per size, and prints events per
second and peak resident memory (the memory must not grow with the input size).
"""
import os, random, resource, subprocess, sys, time, uuid

binary = sys.argv[1] if len(sys.argv) > 1 else "bin/eventproc"
sizes = [int(x) for x in sys.argv[2:]] or [100_000, 1_000_000]

HEAD = '{"event_id":"%s","event_type":"%s","tenant_id":"tenant-%d","client_id":"client-%d","schema_version":"%s","occurred_at":"2026-02-04T14:00:15-03:00","body":%s}'
BODIES = {
    ("order.placed", "v1"): '{"order_id":"ord-%d","user_id":"u-%d","total":%d.50,"items_count":2,"status":"confirmed"}',
    ("order.placed", "v2"): '{"order_id":"ord-%d","user_id":"u-%d","total":%d.50,"items_count":1,"status":"confirmed","currency":"EUR"}',
    ("user.created", "v1"): '{"user_id":"u-%d","email":"u%d@mail.test","name":"User %d","role":"member"}',
    ("user.created", "v2"): '{"user_id":"u-%d","email":"u%d@mail.test","name":"User %d","role":"member","verified":true}',
    ("payment.processed", "v1"): '{"payment_id":"pay-%d","order_id":"ord-%d","amount":%d.25,"payment_method":"card","status":"approved"}',
}
KINDS = list(BODIES)

def write(path, n):
    rnd = random.Random(n)
    with open(path, "w") as f:
        for i in range(n):
            t, v = KINDS[i % len(KINDS)]
            body = BODIES[(t, v)] % (i, i, 1 + i % 500)
            if i % 10 == 9:  # one in ten invalid
                body = body.replace('"status":"', '"status":"" , "x":"', 1) if "status" in body else body.replace('"role":"member"', '"role":""')
            f.write(HEAD % (uuid.UUID(int=rnd.getrandbits(128), version=4), t, i % 50, i % 7, v, body))
            f.write("\n")

os.makedirs(".run", exist_ok=True)
for n in sizes:
    path = f".run/validate-{n}.ndjson"
    if not os.path.exists(path):
        write(path, n)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = r0.ru_maxrss
    start = time.monotonic()
    with open(path) as f, open(os.devnull, "w") as null:
        p = subprocess.run([binary, "validate", "--rules", "events.d"], stdin=f, stdout=null,
                           stderr=subprocess.PIPE, text=True, env=dict(os.environ, GOMAXPROCS="1"))
    elapsed = time.monotonic() - start
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = r1.ru_maxrss
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode not in (0, 1):
        sys.exit(f"validate exited {p.returncode}: {p.stderr}")
    if not p.stderr.startswith(f"{n} events: "):  # the summary: every line got a verdict
        sys.exit(f"validate's summary for {n} lines: {p.stderr}")
    print(f"validate {n:>9,} lines: {elapsed:6.2f} s wall, {n/elapsed:>9,.0f} events/s; "
          f"{cpu:6.2f} s CPU, {n/cpu:>9,.0f} events per CPU-second; peak RSS {max(rss, before)/1024:.1f} MiB")
