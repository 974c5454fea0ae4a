"""A search cluster of three OpenSearch nodes (one JVM, tests/reliability/ClusterControl.java)
with one replica per shard: one node stopped during a load loses no data, and one stopped
during queries fails no query past a retry.

The stores are given the three nodes (ELASTICSEARCH_HOST=n1,n2,n3): the client spreads
requests over them and retries on another node when one is away. The test's own probes
(cluster health) go through a round-robin TCP balancer (faults.TcpProxy with alternates).
Nodes listen on 9261-9263 (HTTP) and
9361-9363 (transport). Slow: the cluster needs ~3 GB of heap and ~20 s to form.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from api.app import create_app
from assets.loading import LoadProgress, load_file, stores_agree
from stores.errors import TransientStoreError
from stores.factory import Stores
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore, migrate
from stores.search import SearchEngineStore
from stores.settings import SearchSettings
from tests.api.conftest import API_KEY
from tests.api.dataset import DESIGN_EXAMPLE
from tests.conftest import ROOT, Services, fresh_database, serving
from tests.reliability.conftest import CODEC, deps, load_dataset
from tests.reliability.faults import TcpProxy, wait_until
from tests.reliability.hostile_data import HOSTILE
from tests.reliability.loads import KEY, reference_ids, sample

pytestmark = [pytest.mark.slow, pytest.mark.services]
HTTP_BASE, TRANSPORT_BASE, NODES = 9260, 9360, 3
HEAP = "3g"


@dataclass
class Cluster:
    process: subprocess.Popen[str]
    acks: Path
    balancer: TcpProxy

    @property
    def nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", HTTP_BASE + i) for i in range(1, NODES + 1)]

    def command(self, verb: str, node: int, timeout: float = 120) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{verb} {node}\n")
        self.process.stdin.flush()
        done = "stopped" if verb == "stop" else "started"
        assert wait_until(lambda: f"{done} {node}" in self.acks.read_text().splitlines(),
                          timeout=timeout, step=0.2), f"node {node} did not {verb}"
        self.acks.write_text("")  # the same command may come again later

    def get(self, path: str) -> Any:
        return requests.get(f"{self.balancer.url}{path}", timeout=10).json()

    def wait(self, status: str, nodes: int, timeout: float = 120) -> None:
        def reached() -> bool:
            try:
                health = self.get(f"/_cluster/health?wait_for_status={status}&timeout=2s")
            except requests.RequestException:
                return False
            return bool(health["status"] == status and health["number_of_nodes"] == nodes)

        assert wait_until(reached, timeout=timeout, step=1), self.get("/_cluster/health")

    def primary_node(self, index_prefix: str) -> int:
        """The node (1-3) that holds the primary of the contacts index."""
        shards = self.get(f"/_cat/shards/{index_prefix}contacts*?format=json")
        [primary] = [s for s in shards if s["prirep"] == "p"]
        return int(primary["node"].split()[-1])


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ports = [HTTP_BASE + i for i in range(1, NODES + 1)]
    ports += [TRANSPORT_BASE + i for i in range(1, NODES + 1)]
    taken = [p for p in ports if not _free(p)]
    if taken:
        pytest.fail(f"ports {taken} are taken: the cluster test needs 9261-9263, 9361-9363")
    if shutil.which("java") is None:
        pytest.fail("java is needed for the OpenSearch cluster")
    base = tmp_path_factory.mktemp("cluster")
    acks = base / "acks"
    acks.write_text("")
    log = (base / "cluster.log").open("w")
    process = subprocess.Popen(
        ["java", f"-Xms{HEAP}", f"-Xmx{HEAP}", "-cp",
         str(ROOT / "tools/opensearch/target/dependency/*"),
         str(Path(__file__).with_name("ClusterControl.java")), str(base / "nodes"),
         str(HTTP_BASE), f"connectra-reliability-{uuid.uuid4().hex[:6]}", str(NODES),
         str(TRANSPORT_BASE), str(acks)],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=base,
    )
    nodes = tuple(("127.0.0.1", HTTP_BASE + i) for i in range(2, NODES + 1))
    balancer = TcpProxy("127.0.0.1", HTTP_BASE + 1, alternates=nodes).start()
    try:
        assert wait_until(lambda: "ready" in acks.read_text(), timeout=180, step=0.5), (
            (base / "cluster.log").read_text()[-3000:])
        cluster = Cluster(process, acks, balancer)
        cluster.wait("green", NODES)
        yield cluster
    finally:
        balancer.stop()
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def cluster_store(cluster: Cluster, prefix: str) -> SearchEngineStore:
    """Production defaults (bulk retries, timeouts); replicas chosen by the store itself from
    the number of data nodes; the node list as a deployment gives it."""
    first, *more = cluster.nodes
    settings = SearchSettings(host=first[0], port=first[1], more_hosts=tuple(more),
                              engine="opensearch")
    return SearchEngineStore(settings, prefix, cursors=CODEC)


def test_a_node_stopped_mid_load_loses_nothing(
    cluster: Cluster, services: Services, tmp_path: Path
) -> None:
    prefix = f"relc{uuid.uuid4().hex[:8]}_"
    path, expected = sample(tmp_path, 20_000, seed=21)
    reference = reference_ids(tmp_path, path)
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    with fresh_database(services) as database:
        migrate(database)
        records = PostgresRecordStore(database)
        search = cluster_store(cluster, prefix)
        search.ensure_indices()
        cluster.wait("green", NODES)
        settings = cluster.get(f"/{prefix}contacts/_settings")
        assert next(iter(settings.values()))["settings"]["index"]["number_of_replicas"] == "1"
        victim = cluster.primary_node(prefix)
        stores = Stores(records, search, CODEC)

        def stop_victim(state: LoadProgress) -> None:
            if state.batches == 4:
                cluster.command("stop", victim)

        attempts = 0
        while True:  # as the asset's retry policy does
            attempts += 1
            try:
                counts = load_file(landing, KEY, stores, f"run-{attempts}", batch_rows=10,
                                   progress=stop_victim if attempts == 1 else lambda s: None)
                break
            except TransientStoreError:
                assert attempts < 4, "still failing after the retries"
        print(f"\n[cluster] load of {expected['read']} rows with node {victim} (the contacts "
              f"primary) stopped after batch 4: {attempts} attempt(s)")
        assert counts.rows_loaded == expected["loaded"]
        assert stores_agree(stores, KEY).passed
        for service, ids in reference.items():
            assert set(search.ids_for_file(service, KEY)) == ids  # type: ignore[arg-type]
        assert search.count("contacts", None) == len(reference["contacts"])

        cluster.command("start", victim)
        cluster.wait("green", NODES)
        search.refresh()
        assert search.count("contacts", None) == len(reference["contacts"])
        assert set(search.ids_for_file("contacts", KEY)) == reference["contacts"]
        search.drop_indices()
        search.close()
        records.close()


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/contacts/filter", DESIGN_EXAMPLE),
    ("/contacts/count", {"where": DESIGN_EXAMPLE["where"]}),
    ("/companies/filter", {"limit": 10}),
    ("/common/filters/contacts/data", {"filter_key": "company_industries", "search_text": "s"}),
]


def test_a_node_stopped_during_queries_fails_no_query_past_a_retry(
    cluster: Cluster, services: Services, tmp_path: Path
) -> None:
    prefix = f"relq{uuid.uuid4().hex[:8]}_"
    with fresh_database(services) as database:
        migrate(database)
        records = PostgresRecordStore(database)
        search = cluster_store(cluster, prefix)
        search.ensure_indices()
        load_dataset(records, search, HOSTILE)
        cluster.wait("green", NODES)
        victims = [cluster.primary_node(prefix)]
        manager = int(cluster.get("/_cat/cluster_manager?format=json")[0]["node"].split()[-1])
        victims.append(manager if manager != victims[0] else victims[0] % NODES + 1)
        first_try: Counter[int] = Counter()
        failed: list[str] = []
        done = threading.Event()
        with serving(create_app(deps(tmp_path, records, search))) as url:

            def client(n: int) -> None:
                session = requests.Session()
                session.headers["X-API-Key"] = API_KEY
                i = n
                while not done.is_set():
                    path, body = QUERIES[i % len(QUERIES)]
                    i += 1
                    response = session.post(url + path, json=body, timeout=60)
                    first_try[response.status_code] += 1
                    if response.status_code != 200:
                        time.sleep(0.5)
                        again = session.post(url + path, json=body, timeout=60)
                        if again.status_code != 200:
                            failed.append(f"{path}: {response.status_code}, {again.status_code}")

            threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            try:
                for victim in victims:  # the primary's node, then the cluster manager
                    time.sleep(3)
                    cluster.command("stop", victim)
                    time.sleep(5)  # queries on two nodes
                    cluster.command("start", victim)
                    cluster.wait("green", NODES)
            finally:
                done.set()
                for thread in threads:
                    thread.join(60)
        print(f"\n[cluster] queries while stopping nodes {victims}: first tries "
              f"{dict(first_try)}, failed after a retry: {len(failed)}")
        assert not failed, failed[:10]
        assert first_try[200] > 50
        search.drop_indices()
        search.close()
        records.close()
