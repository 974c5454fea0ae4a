"""tools/services.sh keeps every service's data across stop, start and a crash; reset empties it.

The test runs its own OpenSearch node (own CONNECTRA_HOME and port), never the shared one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

SCRIPT = ROOT / "tools" / "services.sh"


def free_node_port() -> int:
    """A free port the OpenSearch runner accepts (9201-9299)."""
    for port in range(9299, 9200, -1):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 9201-9299")


class Node:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_node_port()
        self.env = {**os.environ, "CONNECTRA_HOME": str(home), "CONNECTRA_OS_PORT": str(self.port)}
        self.env.pop("CONNECTRA_SERVICES_ENV", None)
        self.url = f"http://127.0.0.1:{self.port}"

    def services(self, *args: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def count(self, index: str) -> int | None:
        response = requests.get(f"{self.url}/{index}/_count", timeout=10)
        return None if response.status_code == 404 else int(response.json()["count"])


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path / "home")
    yield node
    node.services("stop", "opensearch")


def test_the_opensearch_node_keeps_its_indices_across_stop_crash_and_start_until_reset(
    node: Node,
) -> None:
    node.services("start", "opensearch")
    requests.put(f"{node.url}/kept", json={"settings": {"number_of_replicas": 0}}, timeout=30)
    docs = "".join(f'{{"index":{{"_id":"{i}"}}}}\n{{"n":{i}}}\n' for i in range(25))
    requests.post(
        f"{node.url}/kept/_bulk?refresh=true",
        data=docs,
        headers={"content-type": "application/x-ndjson"},
        timeout=30,
    ).raise_for_status()
    assert node.count("kept") == 25

    node.services("stop", "opensearch")
    node.services("start", "opensearch")
    assert node.count("kept") == 25

    os.kill(int((node.home / "services" / "opensearch.pid").read_text()), signal.SIGKILL)
    node.services("start", "opensearch")
    assert node.count("kept") == 25

    assert "deleted the services' data" in node.services("reset", "opensearch")
    node.services("start", "opensearch")
    assert node.count("kept") is None


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CONNECTRA_ES") != "1", reason="Elasticsearch is opt-in")
def test_the_elasticsearch_node_keeps_its_indices_and_is_named_in_services_env(
    tmp_path: Path,
) -> None:
    """CONNECTRA_ES=1: the Elasticsearch 8 node of tools/elasticsearch/ starts on its own
    ports, is written to services.env, and keeps its data across stop and a crash."""
    port = next(p for p in range(9490, 9410, -1) if free(p) and free(p + 100))
    env = {**os.environ, "CONNECTRA_HOME": str(tmp_path / "home"), "CONNECTRA_ES": "1",
           "CONNECTRA_ES_PORT": str(port), "CONNECTRA_S3_PORT": str(free_port())}  # fmt: skip
    env.pop("CONNECTRA_SERVICES_ENV", None)
    url = f"http://127.0.0.1:{port}"

    def services(*args: str) -> str:
        done = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True,
                              timeout=240)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        services("start", "elasticsearch", "s3")
        written = (tmp_path / "home" / "services.env").read_text()
        assert f"CONNECTRA_ES_URL={url}\n" in written
        root = requests.get(url, timeout=10).json()
        assert root["version"]["number"].startswith("8.")
        assert root["cluster_name"] == f"connectra-es-{port}"
        requests.put(f"{url}/kept", json={"settings": {"number_of_replicas": 0}},
                     timeout=30).raise_for_status()  # fmt: skip
        requests.post(f"{url}/kept/_doc?refresh=true", json={"n": 1},
                      timeout=30).raise_for_status()  # fmt: skip
        services("stop", "elasticsearch")
        services("start", "elasticsearch")
        assert requests.get(f"{url}/kept/_count", timeout=10).json()["count"] == 1
        os.kill(int((tmp_path / "home" / "services" / "elasticsearch.pid").read_text()),
                signal.SIGKILL)  # fmt: skip
        services("start", "elasticsearch")
        assert requests.get(f"{url}/kept/_count", timeout=10).json()["count"] == 1
    finally:
        subprocess.run([str(SCRIPT), "stop", "elasticsearch", "s3"], env=env,
                       capture_output=True, timeout=120)  # fmt: skip


def free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("chosen", [False, True], ids=["in-home", "CONNECTRA_SERVICES_ENV"])
def test_services_env_is_written_where_the_tests_and_bench_read_it(
    tmp_path: Path, chosen: bool
) -> None:
    from stores.settings import services_env_path

    env = {**os.environ, "CONNECTRA_HOME": str(tmp_path / "home"),
           "CONNECTRA_S3_PORT": str(free_port())}  # fmt: skip
    env.pop("CONNECTRA_SERVICES_ENV", None)
    env.pop("CONNECTRA_ES", None)
    if chosen:
        env["CONNECTRA_SERVICES_ENV"] = str(tmp_path / "elsewhere" / "my.env")
    expected = services_env_path(ROOT, env)
    assert expected == (
        tmp_path / "elsewhere" / "my.env" if chosen else tmp_path / "home" / "services.env"
    )
    try:
        started = subprocess.run([str(SCRIPT), "start", "s3"], env=env, capture_output=True,
                                 text=True, timeout=120)  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"wrote {expected}" in started.stdout
        assert f"S3_ENDPOINT=http://127.0.0.1:{env['CONNECTRA_S3_PORT']}" in expected.read_text()
        assert "CONNECTRA_ES_URL" not in expected.read_text()  # Elasticsearch is opt-in
    finally:
        subprocess.run([str(SCRIPT), "stop", "s3"], env=env, capture_output=True, timeout=60)


def test_the_default_services_env_is_the_repositorys_and_unknown_services_are_refused() -> None:
    from stores.settings import services_env_path

    assert services_env_path(ROOT, {}) == ROOT / ".connectra" / "services.env"
    bad = subprocess.run([str(SCRIPT), "start", "nosuch"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown service 'nosuch'" in bad.stderr
