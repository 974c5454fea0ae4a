"""How DuckDBStore shares its file: threads of one process, other processes, and errors.

The two-process test is the point of the design (stores/duckdb/access.py): a loader process
writes batch after batch while this process queries; every query must succeed, possibly
after waiting, and see whole batches only.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from stores import abandon
from stores.duckdb import DuckDBStore, FileAccess, Timing
from stores.duckdb.errors import translated
from stores.duckdb.turns import TurnFlags
from stores.errors import StoreTimeout, TerminalStoreError, TransientStoreError
from tests.stores.rows import T0, contacts, new_id
from vql import parse_query, parse_where

ROOT = Path(__file__).resolve().parents[2]


def contacts_batch(start: int, rows: int, run: str = "r1") -> pa.Table:
    return pa.table(
        {
            "id": [str(uuid.UUID(int=start + i + 1, version=4)) for i in range(rows)],
            "first_name": [f"First{(start + i) % 97}" for i in range(rows)],
            "seniority": [("senior", "vp", "entry")[(start + i) % 3] for i in range(rows)],
            "departments": [["sales", f"d{(start + i) % 5}"] for i in range(rows)],
            "load_run": [run] * rows,
        }
    )


@pytest.fixture
def store(duckdb_store: DuckDBStore) -> DuckDBStore:
    return duckdb_store


def python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


HOLD_OPEN = """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("open", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
"""


def hold_file_open(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the file read-write, as a loader does while it writes."""
    process = python(HOLD_OPEN, str(path), str(seconds))
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "open"
    return process


# -- threads of one process ------------------------------------------------------------------


def test_threads_share_one_connection_and_the_last_one_closes_it(store: DuckDBStore) -> None:
    access, timing = store.access, store.timing
    inside, release = threading.Barrier(2), threading.Event()
    opens = access.opens

    def reader() -> None:
        with access.connection("read", timing) as cursor:
            cursor.execute("SELECT count(*) FROM contacts").fetchall()
            inside.wait()
            release.wait(5)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert access.is_open
    release.set()
    for thread in threads:
        thread.join()
    assert access.opens == opens + 1
    assert closes_soon(access)
    assert FileAccess.shared(store.path) is access


def closes_soon(access: FileAccess) -> bool:
    """The file is closed within an instant of the last operation (the read grace)."""
    deadline = time.monotonic() + 0.5
    while access.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    return not access.is_open


def test_reads_in_quick_succession_share_one_open_then_it_closes(store: DuckDBStore) -> None:
    time.sleep(0.1)
    opens = store.access.opens
    page = store.search(parse_query("contacts", {}))
    store.fetch("contacts", page.ids)
    store.count("contacts", None)
    assert store.access.opens == opens + 1
    assert closes_soon(store.access)
    no_grace = DuckDBStore(store.path, timing=Timing(linger_s=0))
    no_grace.count("contacts", None)
    assert not no_grace.access.is_open


def test_a_queued_writer_drains_the_shared_read_connection(store: DuckDBStore) -> None:
    """Readers arriving after a writer queued wait instead of joining, so a busy API cannot
    keep the file read-only forever. (They may then share the writer's connection, and see
    the data before or after its commit, never half of it.)"""
    access, timing = store.access, store.timing
    reader_inside, release_reader = threading.Event(), threading.Event()
    seen: list[int] = []

    def long_reader() -> None:
        with access.connection("read", timing):
            reader_inside.set()
            release_reader.wait(5)

    def late_reader() -> None:
        seen.append(store.count("contacts", None))

    first = threading.Thread(target=long_reader)
    first.start()
    reader_inside.wait(5)
    writer = threading.Thread(target=lambda: store.upsert_contacts(contacts_batch(0, 10)))
    writer.start()
    deadline = time.monotonic() + 10  # the writer queues behind the open read-only connection
    while access._writers_queued == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert access._writers_queued == 1
    late = threading.Thread(target=late_reader)
    late.start()
    time.sleep(0.2)
    assert seen == []  # it did not join the read-only connection
    release_reader.set()
    for thread in (first, writer, late):
        thread.join(10)
    assert seen in ([0], [10])
    assert store.count("contacts", None) == 10


# -- other processes -------------------------------------------------------------------------


def test_reads_and_writes_wait_for_another_process(store: DuckDBStore) -> None:
    holder = hold_file_open(store.path, 0.6)
    started = time.monotonic()
    assert store.count("contacts", None) == 0
    waited = time.monotonic() - started
    holder.wait(5)
    assert 0.3 < waited < 5

    holder = hold_file_open(store.path, 0.4)
    store.upsert_contacts(contacts_batch(0, 5))
    holder.wait(5)
    assert store.count("contacts", None) == 5
    assert closes_soon(store.access)


def test_a_lock_held_past_the_deadline_is_transient(store: DuckDBStore) -> None:
    impatient = DuckDBStore(
        store.path, timing=Timing(read_deadline_s=0.3, write_deadline_s=0.3)
    )
    holder = hold_file_open(store.path, 3)
    try:
        started = time.monotonic()
        with pytest.raises(TransientStoreError, match="another process holds the file"):
            impatient.count("contacts", None)
        assert time.monotonic() - started < 1.5
        with pytest.raises(TransientStoreError, match="could not write"):
            impatient.upsert_contacts(contacts_batch(0, 1))
    finally:
        holder.kill()
        holder.wait()
    assert impatient.count("contacts", None) == 0  # the refused write left nothing


def test_an_abandoned_write_stops_waiting_for_the_file(store: DuckDBStore) -> None:
    """A load being stopped sets its abandon scope (stores/abandon.py): a write waiting for
    another process's turn on the file, or for this process's write lock, gives up at once
    instead of at its 60 s deadline, and writes nothing."""
    store.migrate()
    abandoned = threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def write(name: str, start: int) -> None:
        try:
            with abandon.scope(abandoned):
                store.upsert_contacts(contacts_batch(start, 3))
            outcomes[name] = None
        except BaseException as exc:  # noqa: BLE001 - what the thread ended with
            outcomes[name] = exc

    holder = hold_file_open(store.path, 30)
    try:
        # One waits for the file (holding the write lock), the other for the write lock.
        writers = [threading.Thread(target=write, args=(n, i * 10)) for i, n in enumerate("ab")]
        for writer in writers:
            writer.start()
        time.sleep(1.0)
        assert all(w.is_alive() for w in writers)  # both still waiting
        given_up = time.monotonic()
        abandoned.set()
        for writer in writers:
            writer.join(5)
        assert time.monotonic() - given_up < 1.0
    finally:
        holder.kill()
        holder.wait()
    assert all(isinstance(outcomes.get(n), abandon.OperationAbandoned) for n in "ab"), outcomes
    assert store.count("contacts", None) == 0
    store.upsert_contacts(contacts_batch(0, 3))  # outside the scope nothing changed
    assert store.count("contacts", None) == 3


def test_turn_flags_are_seen_across_descriptors(tmp_path: Path) -> None:
    one, two = TurnFlags(tmp_path / "x.duckdb"), TurnFlags(tmp_path / "x.duckdb")
    assert not two.waiting("writers")
    with one.announce("writers"), two.announce("writers"):  # shared: several may wait
        assert one.waiting("writers") and two.waiting("writers")
        assert not two.waiting("readers")
    assert not one.waiting("writers")


LOADER = """
    import sys, time, uuid
    import pyarrow as pa
    from stores.duckdb import DuckDBStore
    path, rows, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    most = int(sys.argv[4]) if len(sys.argv) > 4 else 10**9

    def contacts_batch(start, rows, run):
        return pa.table({
            "id": [str(uuid.UUID(int=start + i + 1, version=4)) for i in range(rows)],
            "first_name": [f"First{(start + i) % 97}" for i in range(rows)],
            "seniority": [("senior", "vp", "entry")[(start + i) % 3] for i in range(rows)],
            "departments": [["sales", f"d{(start + i) % 5}"] for i in range(rows)],
            "load_run": [run] * rows,
        })

    store = DuckDBStore(path)
    batches, started = 0, time.monotonic()
    while time.monotonic() - started < seconds and batches < most:
        store.upsert_contacts(contacts_batch(batches * rows, rows, f"run-{batches}"))
        batches += 1
    print(batches, flush=True)
"""


def vp_among(n: int) -> int:
    """How many of the first n rows of contacts_batch are vp (seniority of i % 3 == 1)."""
    return (n + 1) // 3


def test_queries_keep_answering_while_another_process_loads(store: DuckDBStore) -> None:
    rows, seconds = 2000, 3.0
    loader = python(LOADER, str(store.path), str(rows), str(seconds))
    where = parse_where("contacts", {"keyword_match": {"must": {"departments": "sales"}}})
    query = parse_query(
        "contacts", {"order_by": [{"order_by": "first_name"}], "limit": 10,
                     "where": {"keyword_match": {"must": {"seniority": "vp"}}}},
    )
    whole_batches_of_vp = {vp_among(b * rows) for b in range(1000)}
    counts: list[int] = []
    latencies: list[float] = []
    while loader.poll() is None:
        started = time.monotonic()
        counts.append(store.count("contacts", where))
        page = store.search(query)
        latencies.append(time.monotonic() - started)
        assert page.total in whole_batches_of_vp
        assert len(page.ids) == min(10, page.total)
    out, err = loader.communicate(timeout=30)
    assert loader.returncode == 0, err
    batches = int(out.strip())
    assert batches >= 3
    assert len(counts) >= 5
    assert all(c % rows == 0 for c in counts)  # whole batches only, never half of one
    assert counts == sorted(counts)
    assert store.count("contacts", None) == batches * rows
    print(
        f"\n{batches} batches of {rows} written in {seconds} s while {len(counts)} reads ran; "
        f"read latency median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )


def test_a_busy_api_process_does_not_starve_a_loader(store: DuckDBStore) -> None:
    """Overlapping reads keep a shared read-only connection open; once the loader has waited
    past its patience, readers let it in (plain polling starved it for its whole 60 s)."""
    rows, batches = 500, 4
    loader = python(LOADER, str(store.path), str(rows), "60", str(batches))
    query = parse_query("contacts", {"limit": 5})
    reads: list[int] = []
    failures: list[BaseException] = []

    def busy_reader() -> None:
        while loader.poll() is None:
            try:
                reads.append(store.search(query).total)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

    started = time.monotonic()
    readers = [threading.Thread(target=busy_reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(60)
    out, err = loader.communicate(timeout=30)
    assert loader.returncode == 0, err
    assert int(out.strip()) == batches
    assert time.monotonic() - started < 30
    assert failures == []
    assert len(reads) > batches and all(total % rows == 0 for total in reads)


# -- error translation -----------------------------------------------------------------------


def test_sql_errors_are_terminal_and_io_errors_transient(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    try:
        with pytest.raises(TerminalStoreError, match="syntax"), translated():
            con.execute("SELEC 1")
        with pytest.raises(TerminalStoreError, match="nope"), translated():
            con.execute("SELECT * FROM nope")
        with pytest.raises(TerminalStoreError), translated():
            con.execute("SELECT 'x'::INTEGER")
    finally:
        con.close()
    with pytest.raises(TransientStoreError), translated():
        duckdb.connect(str(tmp_path / "no" / "such" / "dir" / "x.duckdb"))


def test_a_read_past_its_statement_timeout_is_a_store_timeout(store: DuckDBStore) -> None:
    slow = DuckDBStore(store.path, statement_timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(StoreTimeout), slow._cursor("read") as cursor:  # noqa: SLF001
        cursor.execute("SELECT count(*) FROM range(100000000000) a").fetchall()
    assert time.monotonic() - started < 5
    assert closes_soon(slow.access)
    slow.ping()


_READ_THEN_EXIT = """
import sys, time
from pathlib import Path
from stores.duckdb import DuckDBStore
store = DuckDBStore(Path(sys.argv[1]))
store.count_rows("contacts")
time.sleep(float(sys.argv[2]))  # exit while the linger timer closes the connection
"""


def test_a_process_that_exits_right_after_a_read_exits_cleanly(tmp_path: Path) -> None:
    """The read's connection lingers 20 ms, then a timer thread closes it; a process ending
    meanwhile was aborted inside DuckDB (exit status 134) before the idle connections were
    closed at exit."""
    path = tmp_path / "connectra.duckdb"
    store = DuckDBStore(path)
    store.upsert_contacts(contacts([{"id": new_id(), "created_at": T0} for _ in range(50_000)]))
    script = tmp_path / "read_then_exit.py"
    script.write_text(_READ_THEN_EXIT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    codes = [
        subprocess.run([sys.executable, str(script), str(path), str(delay)], env=env,
                       capture_output=True, timeout=60).returncode
        for delay in (0.018, 0.02, 0.021, 0.022, 0.024, 0.026) for _ in range(2)
    ]
    assert codes == [0] * len(codes)


MARK_LOADED = """
    import sys
    from pathlib import Path
    from stores.duckdb import DuckDBStore
    DuckDBStore(Path(sys.argv[1])).mark_loaded(sys.argv[2])
"""


def test_what_a_read_saw_holds_while_the_file_stays_open_and_not_after_a_write(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing can write the file while this process holds it read-only, so the dataset
    version (and the write token, the text facts) are read once per opening of the file
    (FileAccess.frozen); a load in another process ends that opening, and the next read sees
    what it wrote."""
    store.mark_loaded("run-1")
    ran: list[object] = []
    run = DuckDBStore._run
    monkeypatch.setattr(DuckDBStore, "_run", staticmethod(
        lambda cursor, statement: ran.append(statement) or run(cursor, statement)))
    with store.access.connection("read", store.timing):  # the file stays open meanwhile
        first = store.dataset_version()
        assert len(ran) == 1
        assert store.dataset_version() == first
        assert len(ran) == 1  # not read again
    writer = python(MARK_LOADED, str(store.path), "run-2")  # waits for the file, then writes
    assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
    after = store.dataset_version()
    assert after.version > first.version
    assert len(ran) == 2
