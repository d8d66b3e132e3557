"""A model-based test of the live tailer: every line written is counted once.

hypothesis drives a real log directory through writes (complete records, partial lines,
multi-line tracebacks, 50 KB lines), rotation by rename, copytruncate in logrotate's two
timings (copy and truncate at once; copy, lines written, truncate later), gzip of a rotated
file, deletion, truncation, and agent restarts: clean stops, and crashes at any commit
boundary (the tailer thrown away and rebuilt from the cursors last committed to a real
StateStore), in any interleaving. The agent side is the agent's own pieces in-process
(LogFiles and Tailer, a fake monotonic clock); the watcher is modelled as telling the
agent at once about a new live file (inotify's create event), and nothing else.

The model knows every line written: each carries a unique id. After every step where the
agent has caught up, and at the end, every line is counted exactly once, where counted
means read and committed (what a crash loses is read again). Lines that were gone before
the agent could have read them (truncated or deleted unread, written between logrotate's
copy and its truncate) may be counted at most once. With the literal prefilter on, only
the lines of records holding a literal must be counted; the others at most once.

LOGWATCH_MODEL_EXAMPLES (default 400) sets the number of examples: a soak runs thousands.
"""

from __future__ import annotations

import ast
import gzip
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from logwatch.model import Record
from logwatch.prefilter import make_finder
from logwatch.sources.descriptors import Descriptors
from logwatch.sources.follow import LogFiles
from logwatch.sources.followed import FileRecords
from logwatch.sources.identity import FileId
from logwatch.sources.tail import Tailer
from logwatch.store import StateStore

EXAMPLES = int(os.environ.get("LOGWATCH_MODEL_EXAMPLES", "400"))
NAMES = ("app.log", "worker.log")
KINDS = ("healthy", "error", "traceback", "long")
LITERAL = "Connection refused"
ID = re.compile(r"rid=(L\d+);")
BASE = datetime(2026, 3, 1, 12, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class LogFile:
    """A file of the model: where it is, the ids of its complete lines, what is unwritten."""

    path: Path
    ids: list[str] = field(default_factory=list)
    # The rest of a record written in two pieces, the ids of the lines it completes, and
    # whether they must be counted.
    partial: tuple[str, list[str], bool] | None = None


@dataclass
class Expected:
    """What each line id must be counted: once (must) or at most once (may)."""

    must: set[str] = field(default_factory=set)
    may: set[str] = field(default_factory=set)
    # Lines of a deleted file the agent holds open: read through its descriptor, unless a
    # crash comes before they are committed (the file is gone: nothing to read again).
    fragile: set[str] = field(default_factory=set)
    incomplete: set[str] = field(default_factory=set)  # a line whose newline is unwritten

    def lose(self, ids: list[str], counted: Counter[str]) -> None:
        """Gone before the agent could read them: at most once."""
        for i in ids:
            if not counted[i] and i in self.must:
                self.must.discard(i)
                self.fragile.discard(i)
                self.may.add(i)


def record_lines(kind: str, ids: list[str], stamp: str) -> list[str]:
    if kind == "healthy":
        return [f"{stamp} INFO rid={ids[0]}; [morningai.api] 200 GET /healthz 1.2ms"]
    if kind == "error":
        return [
            f"{stamp} ERROR rid={ids[0]}; redis.exceptions.ConnectionError: Error 111"
            f" connecting to 10.0.0.1:6379. {LITERAL}."
        ]
    if kind == "long":  # a hostile line: longer than the reader's bound
        return [f"{stamp} WARNING rid={ids[0]}; {LITERAL} " + "x" * 50_000]
    return [
        f"{stamp} ERROR [morningai.app] rid={ids[0]}; Exception on /api/v1/feed [GET]",
        f"Traceback (most recent call last): rid={ids[1]};",
        f'  File "/app/redis/connection.py", line 369, in connect rid={ids[2]};',
        f"    raise ConnectionError(self._error_message(e)) rid={ids[3]};",
        f"redis.exceptions.ConnectionError: rid={ids[4]}; Error 111 connecting to"
        f" 10.0.0.1:6379. {LITERAL}.",
    ]


def cut_points(text: str) -> list[int]:
    """Where a record may be split across two writes: anywhere but inside an id."""
    inside = {i for m in ID.finditer(text) for i in range(m.start() + 1, m.end())}
    return [i for i in range(1, len(text)) if i not in inside]


class TailerModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="logwatch-model-"))
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.store = StateStore(self.root / "state.db")
        self.clock = FakeMonotonic()
        self.seq = 0
        self.rotations = 0
        self.live = {name: LogFile(self.logs / name) for name in NAMES}
        for f in self.live.values():
            f.path.write_bytes(b"")
        self.rotated: list[LogFile] = []  # plain files rotated away (renamed, or copies)
        self.copied: dict[str, tuple[LogFile, int]] = {}  # copied, truncate still to come
        self.expected = Expected()
        self.pending: Counter[str] = Counter()  # read since the last commit
        self.counted: Counter[str] = Counter()  # read and committed
        self.tailer: Tailer | None = None
        self.files: LogFiles | None = None
        self.prefilter = False
        self.budget = 64
        self.steps = 0

    # -- the agent ---------------------------------------------------------------------

    @initialize(prefilter=st.booleans(), budget=st.sampled_from([2, 3, 64]))
    def setup(self, prefilter: bool, budget: int) -> None:
        self.prefilter = prefilter
        self.budget = budget
        self.start_agent()

    def _take(self, batches: list[FileRecords]) -> None:
        for batch in batches:
            for record in batch.records:
                self._count(record)

    def _count(self, record: Record) -> None:
        for line_id in ID.findall(record.text):
            self.pending[line_id] += 1

    def _commit(self) -> None:
        assert self.files is not None
        self.store.commit_batch(
            cursors=self.files.cursors(),
            forget=self.files.forgotten(),
            changes=[],
            incidents=[],
            grouper_state=None,
            notifiers=[],
            now=datetime.now(UTC),
        )
        self.files.committed()
        self.counted.update(self.pending)
        self.pending.clear()
        self.expected.fragile -= {i for i in self.expected.fragile if self.counted[i]}

    @precondition(lambda self: self.tailer is None)
    @rule()
    def start_agent(self) -> None:
        """A start: the previous run's cursors, then the start's commit."""
        self.tailer = Tailer(
            tz=UTC,
            max_lines=200,
            max_bytes=65536,
            max_line_bytes=4096,
            monotonic=self.clock,
            finder=make_finder([LITERAL.encode()]) if self.prefilter else None,
            descriptors=Descriptors(self.budget),
        )
        self.files = LogFiles([str(self.logs)], self.tailer)
        self._take(self.files.start(self.store.cursors(), self.store.last_commit(), start="start"))
        self._commit()

    @precondition(lambda self: self.tailer is not None)
    @rule()
    def crash(self) -> None:
        """kill -9: what was read since the last commit is lost, and read again later."""
        assert self.tailer is not None
        self.tailer.close()
        self.tailer = self.files = None
        self.pending.clear()
        self.expected.lose(sorted(self.expected.fragile), self.counted)

    @precondition(lambda self: self.tailer is not None)
    @rule()
    def stop(self) -> None:
        """SIGTERM: read what is there, commit, exit."""
        assert self.files is not None and self.tailer is not None
        self.files.rescan()
        self._take(self.files.read(None))
        self._commit()
        self.tailer.close()
        self.tailer = self.files = None

    @precondition(lambda self: self.files is not None)
    @rule(rescan=st.booleans())
    def poll(self, rescan: bool) -> None:
        """One iteration of the agent's loop (a rescan every few)."""
        assert self.files is not None
        if rescan:
            self.files.rescan()
        self._take(self.files.read(None))

    @precondition(lambda self: self.files is not None)
    @rule()
    def commit(self) -> None:
        """The end of an iteration of the agent's loop: what it read (at least the files
        draining or waiting, and what noticing new files read), then the commit."""
        assert self.files is not None
        self._take(self.files.read([]))
        self._commit()

    @rule(seconds=st.sampled_from([0.1, 0.5, 2.0, 6.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.now += seconds

    @precondition(lambda self: self.files is not None)
    @rule()
    def catch_up(self) -> None:
        """Let the agent read everything there is, commit, and check every line."""
        self._catch_up()
        self.check()

    def _catch_up(self) -> None:
        assert self.files is not None and self.tailer is not None
        quiet = 0
        for _ in range(50):
            self.clock.now += 6.0  # past every wait: partial lines, drains
            self.files.rescan()
            before = sum(self.pending.values())
            self._take(self.files.read(None))
            idle = not self.tailer.backlog() and not self.tailer.busy()
            quiet = quiet + 1 if idle and sum(self.pending.values()) == before else 0
            if quiet == 2:  # a file done in one round has its archive looked at the next
                break
        self._commit()

    def check(self) -> None:
        exp = self.expected
        twice = {i: n for i, n in self.counted.items() if n > 1}
        assert not twice, f"counted more than once: {twice}"
        unknown = set(self.counted) - exp.must - exp.may - exp.fragile - exp.incomplete
        assert not unknown, f"counted but never written: {sorted(unknown)}"
        lost = sorted(i for i in exp.must | exp.fragile if not self.counted[i])
        assert not lost, f"written but never counted: {lost}"

    def teardown(self) -> None:
        try:
            if self.steps:
                if self.tailer is None:
                    self.start_agent()
                self._catch_up()
                self.check()
        finally:
            if self.tailer is not None:
                self.tailer.close()
            self.store.close()
            shutil.rmtree(self.root, ignore_errors=True)

    # -- the writer --------------------------------------------------------------------

    def _new_ids(self, n: int) -> list[str]:
        ids = [f"L{self.seq + i}" for i in range(n)]
        self.seq += n
        return ids

    def _stamp(self) -> str:
        return f"{BASE + timedelta(milliseconds=10 * self.seq):%Y-%m-%d %H:%M:%S,%f}"[:-3]

    def _record(self, kind: str) -> tuple[str, list[str], bool]:
        """A record's text, its line ids, whether it must be counted."""
        stamp = self._stamp()
        ids = self._new_ids(5 if kind == "traceback" else 1)
        text = "".join(line + "\n" for line in record_lines(kind, ids, stamp))
        return text, ids, not self.prefilter or LITERAL in text

    def _written(self, ids: list[str], must: bool) -> None:
        (self.expected.must if must else self.expected.may).update(ids)
        self.expected.incomplete.difference_update(ids)

    def _append(self, f: LogFile, text: str) -> None:
        with open(f.path, "a", encoding="utf-8") as fh:
            fh.write(text)

    def _finish_partial(self, f: LogFile) -> None:
        if f.partial is not None:
            rest, ids, must = f.partial
            self._append(f, rest)
            f.ids += ids
            self._written(ids, must)
            f.partial = None

    @rule(
        name=st.sampled_from(NAMES),
        kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
    )
    def write(self, name: str, kinds: list[str]) -> None:
        self.steps += 1
        f = self.live[name]
        self._finish_partial(f)
        for kind in kinds:
            text, ids, must = self._record(kind)
            self._append(f, text)
            f.ids += ids
            self._written(ids, must)

    @precondition(lambda self: any(f.partial is None for f in self.live.values()))
    @rule(name=st.sampled_from(NAMES), kind=st.sampled_from(KINDS), where=st.floats(0, 1))
    def write_partly(self, name: str, kind: str, where: float) -> None:
        """A record written in two pieces: the first now, the rest by a later step."""
        f = self.live[name]
        if f.partial is not None:
            return
        self.steps += 1
        text, ids, must = self._record(kind)
        points = cut_points(text)
        cut = points[min(int(where * len(points)), len(points) - 1)]
        head = text[:cut]
        done = ids[: head.count("\n")]
        self._append(f, head)
        f.ids += done
        self._written(done, must)
        self.expected.incomplete.update(ids[len(done) :])
        f.partial = (text[cut:], ids[len(done) :], must)

    @precondition(lambda self: any(f.partial is not None for f in self.live.values()))
    @rule(name=st.sampled_from(NAMES))
    def write_rest(self, name: str) -> None:
        self.steps += 1
        self._finish_partial(self.live[name])

    # -- what logrotate and people do --------------------------------------------------

    def _rotated_path(self, name: str) -> Path:
        self.rotations += 1
        return self.logs / f"{name}.{self.rotations}"

    def _can_rotate(self, name: str) -> bool:
        return self.live[name].partial is None and name not in self.copied

    def _recreate(self, name: str) -> None:
        f = self.live[name] = LogFile(self.logs / name)
        f.path.write_bytes(b"")
        if self.files is not None:
            self.files.noticed([f.path])  # the watcher's create event

    @rule(name=st.sampled_from(NAMES))
    def rotate_by_rename(self, name: str) -> None:
        if not self._can_rotate(name):
            return
        self.steps += 1
        f = self.live[name]
        rotated = self._rotated_path(name)
        f.path.rename(rotated)
        f.path = rotated
        self.rotated.append(f)
        self._recreate(name)

    @rule(name=st.sampled_from(NAMES))
    def copytruncate(self, name: str) -> None:
        """logrotate's copytruncate: a copy, then the file truncated in place."""
        if not self._can_rotate(name):
            return
        self.steps += 1
        f = self.live[name]
        copy = LogFile(self._rotated_path(name), ids=list(f.ids))
        shutil.copyfile(f.path, copy.path)
        os.truncate(f.path, 0)
        f.ids = []
        self.rotated.append(copy)

    @rule(name=st.sampled_from(NAMES))
    def copy_for_copytruncate(self, name: str) -> None:
        """The copy; the truncate comes a moment later, lines written in between."""
        if not self._can_rotate(name):
            return
        self.steps += 1
        f = self.live[name]
        copy = LogFile(self._rotated_path(name), ids=list(f.ids))
        shutil.copyfile(f.path, copy.path)
        self.copied[name] = (copy, len(f.ids))

    @precondition(lambda self: bool(self.copied))
    @rule(name=st.sampled_from(NAMES))
    def truncate_after_copy(self, name: str) -> None:
        if name not in self.copied or self.live[name].partial is not None:
            return
        self.steps += 1
        copy, copied = self.copied.pop(name)
        f = self.live[name]
        self.expected.lose(f.ids[copied:], self.counted)  # written after the copy: gone
        os.truncate(f.path, 0)
        f.ids = []
        self.rotated.append(copy)

    def _pick_rotated(self, which: int) -> LogFile | None:
        waiting = {id(c) for c, _ in self.copied.values()}
        candidates = [f for f in self.rotated if id(f) not in waiting]
        return candidates[which % len(candidates)] if candidates else None

    @precondition(lambda self: bool(self.rotated))
    @rule(which=st.integers(0, 1000))
    def gzip_rotated(self, which: int) -> None:
        """logrotate's compress (delaycompress or not): the lines live on in the .gz."""
        f = self._pick_rotated(which)
        if f is None:
            return
        self.steps += 1
        self.rotated.remove(f)
        archive = f.path.with_name(f.path.name + ".gz")
        archive.write_bytes(gzip.compress(f.path.read_bytes(), compresslevel=1))
        f.path.unlink()

    @precondition(lambda self: bool(self.rotated))
    @rule(which=st.integers(0, 1000))
    def delete_rotated(self, which: int) -> None:
        f = self._pick_rotated(which)
        if f is None:
            return
        self.steps += 1
        self.rotated.remove(f)
        st_ = os.stat(f.path)
        tailed = (
            None if self.tailer is None else self.tailer.files.get(FileId(st_.st_dev, st_.st_ino))
        )
        f.path.unlink()
        unread = [i for i in f.ids if not self.counted[i]]
        if tailed is not None and tailed.fh is not None:
            self.expected.fragile.update(i for i in unread if i in self.expected.must)
        else:
            self.expected.lose(unread, self.counted)

    @rule(name=st.sampled_from(NAMES))
    def truncate(self, name: str) -> None:
        """`> app.log`: what was not read is gone."""
        if not self._can_rotate(name):
            return
        self.steps += 1
        f = self.live[name]
        self.expected.lose(f.ids, self.counted)
        os.truncate(f.path, 0)
        f.ids = []


def _model_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# Two halves of the examples, so that `pytest -n` runs them side by side (each draws its
# own random sequences; together they are the EXAMPLES the model asks for).
class TestTailerModel(TailerModel.TestCase):  # type: ignore[misc,valid-type]
    settings = _model_settings((EXAMPLES + 1) // 2)


class TestTailerModelMore(TailerModel.TestCase):  # type: ignore[misc,valid-type]
    settings = _model_settings(EXAMPLES // 2)


# -- sequences the model found, kept as plain tests ---------------------------------------


def replay(*steps: str) -> None:
    """Run a sequence of the machine's steps (as hypothesis prints them) and check."""
    state = TailerModel()
    try:
        for step in steps:
            call = ast.parse(step, mode="eval").body
            assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
            getattr(state, call.func.id)(**kwargs)
    finally:
        state.teardown()


def test_model_inode_of_a_compressed_file_reused_by_a_new_copy_is_not_a_rename() -> None:
    """A file followed without a descriptor was compressed, and a new copy got its inode:
    it passed for the same file renamed, and the .gz for unseen content (read twice)."""
    replay(
        "setup(prefilter=False, budget=2)",
        "write(kinds=['healthy'], name='app.log')",
        "crash()",
        "copytruncate(name='app.log')",
        "copy_for_copytruncate(name='app.log')",
        "start_agent()",
        "catch_up()",
        "gzip_rotated(which=0)",
        "truncate_after_copy(name='app.log')",
        "copy_for_copytruncate(name='app.log')",
    )


def test_model_a_one_byte_head_does_not_identify_a_file() -> None:
    """A cursor whose head was a partial line "2" resumed an unrelated file that reused
    its inode, and claimed a .gz whose lines all begin with "2" (7 lines never read)."""
    replay(
        "setup(prefilter=True, budget=2)",
        "crash()",
        "start_agent()",
        "write_partly(kind='healthy', name='worker.log', where=0.0)",
        "catch_up()",
        "crash()",
        "write(kinds=['traceback', 'long', 'long'], name='app.log')",
        "copytruncate(name='worker.log')",
        "copytruncate(name='worker.log')",
        "copytruncate(name='app.log')",
        "copytruncate(name='worker.log')",
        "gzip_rotated(which=806)",
        "write_rest(name='worker.log')",
        "rotate_by_rename(name='worker.log')",
        "start_agent()",
        "catch_up()",
    )


def test_model_copy_compressed_before_its_source_truncation_is_seen_is_read_once() -> None:
    """copytruncate then gzip of the copy before the agent looked: the .gz passed for
    content never seen and was read whole, though its lines were read in the source."""
    replay(
        "setup(prefilter=False, budget=2)",
        "crash()",
        "write_partly(kind='healthy', name='worker.log', where=0.0)",
        "start_agent()",
        "write_rest(name='worker.log')",
        "catch_up()",
        "copytruncate(name='worker.log')",
        "gzip_rotated(which=0)",
    )


def test_model_copy_shorter_than_the_head_read_is_known_after_a_restart() -> None:
    """Copy, a line written, stop, truncate: the copy was shorter than the head the
    cursor's digest covered, passed for a new file, and its line was read twice."""
    replay(
        "setup(prefilter=False, budget=2)",
        "write(kinds=['healthy'], name='app.log')",
        "copy_for_copytruncate(name='app.log')",
        "write(kinds=['healthy'], name='app.log')",
        "stop()",
        "truncate_after_copy(name='app.log')",
        "start_agent()",
    )


def test_model_copy_of_a_new_file_still_waiting_is_not_read() -> None:
    """A new empty file waits to be told apart from a copy; a copy made of it was not
    known as one, and its line was read twice."""
    replay(
        "setup(prefilter=False, budget=2)",
        "write(kinds=['healthy'], name='app.log')",
        "rotate_by_rename(name='app.log')",
        "write(kinds=['healthy'], name='app.log')",
        "copy_for_copytruncate(name='app.log')",
        "write_partly(kind='healthy', name='app.log', where=0.0)",
        "catch_up()",
    )


def test_model_copy_of_a_file_whose_head_was_a_flushed_partial_line_is_known() -> None:
    """The first line sat unfinished, was flushed, then completed; copytruncate: the
    head we knew (57 bytes, no newline) was deemed too short to tell, the copy passed for
    a new file and the line was read twice."""
    replay(
        "setup(prefilter=False, budget=2)",
        "write_partly(kind='traceback', name='app.log', where=0.15625)",
        "catch_up()",
        "write(kinds=['healthy'], name='app.log')",
        "copytruncate(name='app.log')",
        "catch_up()",
    )


def test_model_an_empty_file_followed_without_a_descriptor_is_not_renamed_into_a_copy() -> None:
    """An empty copy, followed without a descriptor, was deleted and its inode went to a
    new copy of app.log: taken for the empty file renamed, it was read from its start
    (and its line twice). Depends on the filesystem reusing the inode, as ext4 does."""
    replay(
        "setup(prefilter=False, budget=2)",
        "copy_for_copytruncate(name='worker.log')",
        "catch_up()",
        "write_partly(kind='healthy', name='app.log', where=0.0)",
        "truncate_after_copy(name='worker.log')",
        "delete_rotated(which=0)",
        "write_rest(name='app.log')",
        "copy_for_copytruncate(name='app.log')",
        "catch_up()",
    )


def test_model_a_gz_that_reused_an_empty_file_inode_is_not_that_file() -> None:
    """While stopped: an empty rotated file deleted, a copy compressed into its inode. At
    the restart the empty file's cursor passed for the .gz's own (read twice)."""
    replay(
        "setup(prefilter=False, budget=2)",
        "crash()",
        "copytruncate(name='app.log')",
        "start_agent()",
        "write(kinds=['healthy'], name='app.log')",
        "catch_up()",
        "crash()",
        "copytruncate(name='app.log')",
        "delete_rotated(which=0)",
        "gzip_rotated(which=0)",
    )


def test_model_a_cursor_saved_under_a_reused_inode_is_not_deleted_by_the_same_commit() -> None:
    """A file done and a .gz given its inode at once: the commit saved the .gz's cursor,
    then deleted the done file's (the same identity), and the restart read it again."""
    replay(
        "setup(prefilter=False, budget=2)",
        "crash()",
        "copytruncate(name='app.log')",
        "start_agent()",
        "write(kinds=['healthy'], name='app.log')",
        "copytruncate(name='app.log')",
        "delete_rotated(which=0)",
        "gzip_rotated(which=0)",
        "catch_up()",
        "crash()",
    )


def test_model_a_second_copy_seen_before_the_truncate_that_preceded_it_is_a_copy() -> None:
    """copytruncate twice: the second copy was looked at before the agent saw the first
    truncate (and what was written after it), so it passed for a new file."""
    replay(
        "setup(prefilter=False, budget=2)",
        "copy_for_copytruncate(name='worker.log')",
        "write_partly(kind='healthy', name='worker.log', where=1.0)",
        "catch_up()",
        "write_rest(name='worker.log')",
        "truncate_after_copy(name='worker.log')",
        "write(kinds=['healthy'], name='worker.log')",
        "copy_for_copytruncate(name='worker.log')",
        "catch_up()",
    )


def test_model_a_stale_cursor_under_a_waiting_copy_inode_does_not_reread_its_gz() -> None:
    """A file reopened as a possible copy kept the previous run's cursor in the store
    (head read, offset 0); after its copy was compressed, that stale cursor was taken to
    say where the .gz's reading began."""
    replay(
        "setup(prefilter=False, budget=2)",
        "crash()",
        "write_partly(kind='healthy', name='worker.log', where=0.0)",
        "write(kinds=['healthy'], name='app.log')",
        "start_agent()",
        "copytruncate(name='app.log')",
        "crash()",
        "start_agent()",
        "catch_up()",
        "crash()",
        "gzip_rotated(which=0)",
        "start_agent()",
    )
