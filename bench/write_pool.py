"""`python -m bench.write_pool OUT [--seconds N]`: what the search node does during a load,
every 0.5 s, until stopped (or N seconds): seconds since start, the node's CPU cores over
the interval, and its `write` thread pool's active threads and queued requests
(`_cat/thread_pool/write`). Run it beside a load (`python -m bench.loader_cpu --no-limits`)
to see whether the node is short of work (nothing queued) or of CPU (requests queued while
it gets less than the machine's cores): BENCHMARKS.md, issue 17, fourth session.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.env import BenchEnv
from bench.node import Node
from bench.procstat import process_cpu_seconds
from stores.settings import services_env_path

INTERVAL_S = 0.5


def main(out: Path, seconds: float) -> None:
    env = BenchEnv.load()
    pid = int((services_env_path(Path.cwd()).parent / "services" / "opensearch.pid").read_text())
    node = Node(env.services["ELASTICSEARCH_HOST"], int(env.services["ELASTICSEARCH_PORT"]), 5)
    started = last_t = time.monotonic()
    last_cpu = process_cpu_seconds(pid)
    with out.open("w") as sink:
        sink.write("seconds cores active queue\n")
        while time.monotonic() - started < seconds:
            time.sleep(INTERVAL_S)
            pool = node.call("GET", "/_cat/thread_pool/write?format=json&h=active,queue")[0]
            now, cpu = time.monotonic(), process_cpu_seconds(pid)
            sink.write(f"{now - started:.1f} {(cpu - last_cpu) / (now - last_t):.2f} "
                       f"{pool['active']} {pool['queue']}\n")
            sink.flush()
            last_t, last_cpu = now, cpu


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = next((float(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--seconds=")),
                 float("inf"))
    main(Path(args[0]), limit)
