"""`python -m bench.write_pool OUT [--seconds N]`: what the search node does during a load,
every 0.5 s, until stopped (or N seconds): seconds since start, the node's CPU cores over
the interval (its process group, bench.procstat), its `write` thread pool's active threads
and queued requests (`_cat/thread_pool/write`), and the machine's busy cores. Run it beside
a load (`python -m bench.loader_cpu --no-limits`) to see whether the node is short of work
(nothing queued) or of CPU (requests queued while it gets less than the machine's cores):
BENCHMARKS.md, issue 17, fourth session.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.env import BenchEnv
from bench.node import Node
from bench.procstat import CpuSnapshot

INTERVAL_S = 0.5


def main(out: Path, seconds: float) -> None:
    env = BenchEnv.load()
    node = Node(env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"]), 5)
    last = first = CpuSnapshot.take()
    with out.open("w") as sink:
        sink.write("seconds cores active queue machine\n")
        while last.at - first.at < seconds:
            time.sleep(INTERVAL_S)
            pool = node.call("GET", "/_cat/thread_pool/write?format=json&h=active,queue")[0]
            now = CpuSnapshot.take()
            cores = now.since(last)
            sink.write(f"{now.at - first.at:.1f} {cores.get('opensearch', 0.0):.2f} "
                       f"{pool['active']} {pool['queue']} {cores['machine']:.2f}\n")
            sink.flush()
            last = now


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = next((float(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--seconds=")),
                 float("inf"))
    main(Path(args[0]), limit)
