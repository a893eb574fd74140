"""The pytest plugin of osm-conformance (registered through the pytest11 entry point).

It does nothing unless `--osm-matrix` is given. Then the matrix's cells are
pytest items (conformance/matrix/test_matrix.py), and so are the rejection
matrix's (conformance/matrix/test_rejections.py, one item per receiver and
class), so pytest-xdist spreads them over the cores and vendors get JUnit
output in their own CI; the controlling process gathers every cell, writes
results.json (and the report) even when the run is interrupted, marked incomplete.
"""

from __future__ import annotations

import gc
import signal
import sys
import tempfile
import time
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from conformance.check.policy import DEFAULT_POLICY, policy_names
from conformance.cli_support import byte_size
from conformance.core.vocabulary import FUNCTIONS, PROCESS_AGENTS
from conformance.matrix.progress import Progress
from conformance.matrix.routes import (
    ROUTE_MARK,
    evidence_folder,
    parse_via,
    resolve_transport,
)
from conformance.matrix.spec import DEFAULT_EXAMPLES, DEFAULT_SEED, DEFAULT_VARIANTS, MatrixSpec
from conformance.paths import memory_dir, output_folder, scratch_prefix
from conformance.profiles.schema import Profile
from conformance.results import Cell, RejectionCell
from conformance.signals import RunSignals, children, mute, pass_on, write

if TYPE_CHECKING:
    from conformance.matrix.finish import RejectionRun

PLUGIN_NAME = "osm-matrix"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("osm-conformance", "osm-conformance interop matrix")
    group.addoption("--osm-matrix", action="store_true", help="run the interop matrix")
    group.addoption(
        "--osm-profiles",
        action="append",
        default=[],
        metavar="PATH",
        help="profile files or directories (default: the shipped profiles)",
    )
    group.addoption(
        "--osm-sender", action="append", default=[], metavar="ID", help="only this sender"
    )
    group.addoption(
        "--osm-receiver", action="append", default=[], metavar="ID", help="only this receiver"
    )
    group.addoption(
        "--osm-agent",
        action="append",
        default=[],
        metavar="ID",
        help="only the cells where this agent sends or receives",
    )
    group.addoption(
        "--osm-function",
        action="append",
        default=[],
        choices=FUNCTIONS,
        help="only this function",
    )
    group.addoption(
        "--osm-examples",
        type=int,
        default=None,  # not given: MatrixSpec.examples (one with --osm-large-attachment)
        help=f"examples per cell, the basic one included (default {DEFAULT_EXAMPLES}; "
        "--osm-large-attachment runs one)",
    )
    group.addoption(
        "--osm-seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the run; the same seed draws the same examples",
    )
    group.addoption(
        "--osm-policy",
        default=DEFAULT_POLICY,
        choices=policy_names(),
        help="the policy the profile receivers, the validator and the rejection judge apply "
        "(osm-2008, modern)",
    )
    group.addoption(
        "--osm-variants",
        type=int,
        default=DEFAULT_VARIANTS,
        help="hostile variants per rejection case, the basic one included",
    )
    group.addoption("--osm-out", metavar="DIR", help="write results.json and evidence here")
    group.addoption(
        "--osm-waivers", metavar="FILE", help="known findings to record as waived (docs/matrix.md)"
    )
    group.addoption(
        "--osm-large-attachment",
        type=byte_size,
        default=None,
        metavar="SIZE",
        help="one example per cell: a letter with an attachment of this size (bytes, or "
        "with K, M or G: 200M)",
    )
    group.addoption(
        "--osm-transport",
        default=None,
        choices=("memory", "smtp"),
        help="how the interop cells' messages travel: memory (the default; with --osm-via, "
        "smtp), or real SMTP on loopback",
    )
    group.addoption(
        "--osm-via",
        action="append",
        default=[],
        metavar="HOP[+HOP...]",
        help="over smtp, a route of hops: a variant of every cell beside the plain route",
    )
    group.addoption(
        "--osm-max-message-bytes",
        type=byte_size,
        default=None,
        metavar="SIZE",
        help="the SIZE the SMTP hops announce (default: their own)",
    )
    group.addoption("--osm-progress", action="store_true", help="a progress line on stderr")
    group.addoption("--osm-lang", default="fr", choices=("fr", "en"), help="report language")


def spec_from(config: pytest.Config) -> MatrixSpec:
    from conformance.mail.route import HOPS

    out = config.getoption("osm_out")
    # As `run` reads --via (commas, spaces, duplicates); an unknown hop is a UserError here.
    via = parse_via(config.getoption("osm_via"), HOPS)
    return MatrixSpec(
        profile_paths=tuple(config.getoption("osm_profiles")),
        senders=tuple(config.getoption("osm_sender")),
        receivers=tuple(config.getoption("osm_receiver")),
        agents=tuple(config.getoption("osm_agent")),
        functions=tuple(config.getoption("osm_function")) or FUNCTIONS,
        examples_given=config.getoption("osm_examples"),
        seed=config.getoption("osm_seed"),
        policy=config.getoption("osm_policy"),
        variants=config.getoption("osm_variants"),
        out_dir=Path(out).resolve() if out else None,
        lang=config.getoption("osm_lang"),
        waivers=Path(waivers).resolve() if (waivers := config.getoption("osm_waivers")) else None,
        large_attachment=config.getoption("osm_large_attachment"),
        transport=resolve_transport(config.getoption("osm_transport"), via),
        via=via,
        max_message_bytes=config.getoption("osm_max_message_bytes"),
    )


def cell_id(sender: str, receiver: str, function: str, route: tuple[str, ...] = ()) -> str:
    """A cell's test id (and JUnit name): sender->receiver:function, then @hop+hop off the
    plain route."""
    return f"{sender}->{receiver}:{evidence_folder(function, route)}"


def parse_cell_id(text: str) -> tuple[str, str, str, tuple[str, ...]]:
    """cell_id's inverse (a crashed cell is rebuilt from its test id)."""
    head, _, route = text.partition(ROUTE_MARK)
    sender, _, rest = head.partition("->")
    receiver, _, function = rest.rpartition(":")
    return sender, receiver, function, tuple(route.split("+")) if route else ()


K = TypeVar("K", bound=tuple[Any, ...])


def slow_first(keys: list[K], profiles: Mapping[str, Profile]) -> list[K]:
    """The cells with the most external-tool sides first, the interop cells that a side's
    declared functions make `unsupported` (no exchange at all) last, stable otherwise: the
    run does not end on a long cell while the other workers idle, and its tail (what
    pytest-xdist's worksteal hands to an idle worker) is made of the shortest cells."""

    def tools(key: K) -> int:
        agents = key[:2] if len(key) >= 3 else key[:1]  # an interop cell, or a rejection
        return sum(profiles[a].engine.type in PROCESS_AGENTS for a in agents if a in profiles)

    def unsupported(key: K) -> bool:
        if len(key) < 3 or key[0] not in profiles or key[1] not in profiles:
            return False
        sender, receiver, function = key[:3]
        return (
            function not in profiles[sender].capabilities().send
            or function not in profiles[receiver].capabilities().receive
        )

    return sorted(keys, key=lambda key: -tools(key) if not unsupported(key) else 1)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("osm_matrix"):
        from conformance.errors import UserError

        try:
            plugin = _checked_plugin(config)
        except UserError as exc:
            raise pytest.UsageError(str(exc)) from None
        # From here a signal stops the run (a terminated worker stops what its cells
        # started) and no second one loses what it gathered.
        plugin.signals.install()
        config.pluginmanager.register(plugin, PLUGIN_NAME)
        if plugin.is_worker:
            config.pluginmanager.register(_StoppedWorker(plugin), f"{PLUGIN_NAME}-worker")


def _workers(config: pytest.Config) -> int:
    """The cells run at a time: pytest-xdist's workers (-n, a number once xdist has read
    `auto`), else one."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount", 1))
    count = config.getoption("numprocesses", default=None)
    return count if isinstance(count, int) and count > 0 else 1


def _checked_plugin(config: pytest.Config) -> MatrixPlugin:
    """The plugin, once what `run` refuses before any cell is refused here too: a bad
    option found later is an error in collection and a traceback at the session's end."""

    waivers = config.getoption("osm_waivers")
    if waivers:  # a bad waivers file fails now, not after the matrix
        from conformance.matrix.waivers import load_waivers

        load_waivers(Path(waivers))
    plugin = MatrixPlugin(config)  # --osm-via and --osm-transport read (spec_from) and checked
    plugin.spec.check("--osm-", workers=_workers(config))
    if plugin.spec.out_dir is not None:
        output_folder(plugin.spec.out_dir, "--osm-out")
    return plugin


def _matrix(config: pytest.Config) -> MatrixPlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is None:
        pytest.skip("the interop matrix runs only with --osm-matrix")
    assert isinstance(plugin, MatrixPlugin)
    return plugin


# Module-level fixtures (pytest 9 deprecates session fixtures defined on a plugin
# instance). Without --osm-matrix the matrix's test is skipped, not an error.


@pytest.fixture(scope="session")
def osm_spec(pytestconfig: pytest.Config) -> MatrixSpec:
    return _matrix(pytestconfig).spec


@pytest.fixture(scope="session")
def osm_cast(pytestconfig: pytest.Config) -> Iterator[Any]:
    from conformance.matrix.cast import Cast

    spec = _matrix(pytestconfig).spec
    # The agents' work files in memory when there is room, except for imaging-size
    # messages, which the real engines take whole.
    memory = memory_dir() if spec.large_attachment is None else None
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("agents"), dir=memory) as tmp:
        cast = Cast(
            spec.profiles(),
            workdir=Path(tmp),
            policy=spec.policy,
            transport=spec.transport,
            max_message_bytes=spec.max_message_bytes,
        )
        # What the run keeps to its end (modules, profiles, the cast) is made: the cyclic
        # collector stops walking it at every full collection, a few % of a cell's CPU.
        gc.freeze()
        yield cast
        cast.close()


@pytest.fixture
def osm_cell(pytestconfig: pytest.Config) -> Any:
    """Overridden by the matrix's parametrisation; reached only without --osm-matrix."""
    _matrix(pytestconfig)
    raise AssertionError("osm_cell is parametrised by the matrix plugin")


@pytest.fixture
def osm_rejection(pytestconfig: pytest.Config) -> Any:
    """Overridden by the rejection matrix's parametrisation; reached only without --osm-matrix."""
    _matrix(pytestconfig)
    raise AssertionError("osm_rejection is parametrised by the matrix plugin")


# The matrix's items among a session's (a vendor's own tests may run beside them).
CELL_TEST = "::test_cell["
CELL_PROPERTIES = ("osm_cell", "osm_rejection")  # a cell's result, which its test records
REJECTION_TEST = "::test_rejection_cell["
# A pytest-xdist worker's output: it collected the rejection matrix's test.
REJECTION_MATRIX = "osm_rejection_matrix"
# pytest's options that list the tests or fixtures without running any (--collect-only,
# --fixtures, --fixtures-per-test): no results to write over an earlier run's.
LISTING_ONLY = ("collectonly", "showfixtures", "show_fixtures_per_test")
NOT_COLLECTED = (
    "osm-conformance: --osm-matrix, but no cell of the matrix was collected: name its tests "
    "(--pyargs conformance.matrix.test_matrix, and conformance.matrix.test_rejections for the "
    "rejection matrix); no results written"
)


class _StoppedWorker:
    """A pytest-xdist worker a signal stopped ends as a session told to stop (as by -x),
    not as a keyboard interrupt: xdist takes that for a crash and starts a worker in its
    place, which a second Ctrl-C could kill while it starts (xdist's INTERNALERROR); the
    cell it was running is not done, and reported as nothing."""

    def __init__(self, plugin: MatrixPlugin) -> None:
        self.plugin = plugin

    def pytest_sessionfinish(self) -> None:
        # Between xdist's wrapper, which filled workeroutput, and its sending it.
        output: dict[str, Any] = getattr(self.plugin.config, "workeroutput", {})
        signum = self.plugin.signals.first
        if signum is not None and output.get("exitstatus") == pytest.ExitCode.INTERRUPTED:
            output["exitstatus"] = int(pytest.ExitCode.OK)
            output["shouldstop"] = f"interrupted ({signal.Signals(signum).name})"


class MatrixPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.spec = spec_from(config)
        self.is_worker = hasattr(config, "workerinput")
        self.cells: dict[str, Cell] = {}
        self.rejections: dict[str, RejectionCell] = {}
        self.rejection_total = 0
        self.rejection_matrix = False  # its test collected (_rejection_matrix_collected)
        self.no_cells: set[str] = set()  # the matrix's tests given no cell (_parametrize)
        self.rejection_span: tuple[float, float] | None = None  # first start, last stop
        self.started = time.time()
        self.total = 0
        self.progress: Progress | None = None  # made at the first cell (--osm-progress)
        self.show_progress = bool(config.getoption("osm_progress"))
        self.signals = RunSignals(soft=self._stop_workers)
        self.session: pytest.Session | None = None
        self.looping = False  # in the run's loop (the cells run, or the workers run them)
        self.stopped = False  # told to stop by its output closed (`_stop`)
        self.ready: set[Any] = set()  # the pytest-xdist workers whose session runs
        self.finished = False  # results written, or their failure said
        self.unwritten: str | None = None  # why results.json could not be written

    # --- collection (every process) ---

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "osm_cell" in metafunc.fixturenames:
            keys = slow_first(self.spec.routed_cells(), self.spec.profiles())
            self._parametrize(metafunc, "osm_cell", keys, [cell_id(*k) for k in keys])
        if "osm_rejection" in metafunc.fixturenames:
            self._rejection_matrix_collected()
            found = slow_first(self.spec.rejection_cells(), self.spec.profiles())
            self._parametrize(metafunc, "osm_rejection", found, [f"{r}:{c}" for r, c in found])

    def _parametrize(
        self, metafunc: pytest.Metafunc, name: str, keys: list[Any], ids: list[str]
    ) -> None:
        """One item per cell. No cell selected (`--agent X --receiver Y` leaves X no
        rejection cell): no item, where pytest's empty parameter set would make one
        skipped item, counted as a cell planned that never comes (an incomplete run)."""
        if keys:
            metafunc.parametrize(name, keys, ids=ids)
        else:
            self.no_cells.add(metafunc.definition.nodeid)  # deselected once collected

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        unselected = [item for item in items if item.nodeid in self.no_cells]
        if unselected:
            items[:] = [item for item in items if item.nodeid not in self.no_cells]
            config.hook.pytest_deselected(items=unselected)

    def _rejection_matrix_collected(self) -> None:
        """The rejection matrix is in the session, even with no cell: its section is
        written (no cell planned), not taken for --no-rejections. A pytest-xdist worker
        tells the controlling process, which collects nothing (pytest_testnodedown)."""
        self.rejection_matrix = True
        output: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if output is not None:
            output[REJECTION_MATRIX] = True

    def _count(self, ids: list[str]) -> None:
        # The progress line and cells_planned count the interop cells; the
        # rejection cells are counted apart.
        self.total = max(self.total, sum(CELL_TEST in i for i in ids))
        self.rejection_total = max(self.rejection_total, sum(REJECTION_TEST in i for i in ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._count([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Under pytest-xdist the controlling process collects nothing itself: the
        # workers' collections give the number of cells to expect.
        self._count(ids)

    # --- gathering (the controlling process) ---

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        props = dict(report.user_properties)
        if report.nodeid in self.cells or report.nodeid in self.rejections:
            return
        if report.failed and not any(p in props for p in CELL_PROPERTIES) and self.stopping():
            return  # a cell its worker was running when the run stopped: not done, not broken
        if REJECTION_TEST in report.nodeid:
            self._rejection(report, props)
            return
        if "osm_cell" in props:
            cell = Cell.model_validate_json(str(props["osm_cell"]))
            self.cells[report.nodeid] = cell
        elif report.failed and CELL_TEST in report.nodeid:
            # A crashed worker or a broken fixture: the harness broke, the cell is an error.
            sender, receiver, function, route = parse_cell_id(
                report.nodeid.rsplit("[", 1)[1].rstrip("]")
            )
            self.cells[report.nodeid] = Cell(
                sender=sender,
                receiver=receiver,
                function=function,
                transport=self.spec.transport,
                via=list(route),
                verdict="error",
                reason=f"harness error ({report.when}): {str(report.longrepr)[-400:]}",
            )
        else:
            return
        if self.show_progress:
            cell = self.cells[report.nodeid]
            hops = f" via {'+'.join(cell.via)}" if cell.via else ""
            self._progress(
                f"{cell.sender} -> {cell.receiver} {cell.function}{hops}: {cell.verdict}"
            )

    def _rejection(self, report: pytest.TestReport, props: dict[str, object]) -> None:
        if "osm_rejection" in props:
            cell = RejectionCell.model_validate_json(str(props["osm_rejection"]))
        elif report.failed:
            # A crashed worker or a broken fixture: the harness broke, the cell is an error.
            receiver, _, cls = report.nodeid.rsplit("[", 1)[1].rstrip("]").rpartition(":")
            reason = f"harness error ({report.when}): {str(report.longrepr)[-400:]}"
            cell = RejectionCell(receiver=receiver, cls=cls, verdict="error", reason=reason)
        else:
            return
        self.rejections[report.nodeid] = cell
        start, stop = getattr(report, "start", time.time()), getattr(report, "stop", time.time())
        if self.rejection_span is not None:
            start = min(start, self.rejection_span[0])
            stop = max(stop, self.rejection_span[1])
        self.rejection_span = (start, stop)
        if self.show_progress:
            self._progress(f"{cell.receiver} refusals {cell.cls}: {cell.verdict}")

    def _progress(self, last: str) -> None:
        if self.progress is None:
            self.progress = Progress(sys.stderr, started=self.started)
        done = len(self.cells)
        total = max(self.total, done)
        try:
            self.progress.update(done, total, len(self.rejections), self.rejection_total, last)
        except BrokenPipeError:  # `2>&1 | head` exited: the run ends as on Ctrl-C
            mute(sys.stderr)
            self.show_progress = False
            self._stop("its output was closed")

    # --- stopping: a signal, or a closed output (the controlling process) ---

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        self.looping = True
        try:
            return (yield)
        finally:
            self.looping = False

    def stopping(self) -> bool:
        """Whether the run was told to stop (a signal, its output closed)."""
        return self.signals.first is not None or self.stopped

    def _stop(self, reason: str) -> None:
        """The run stops: its workers are stopped as by a Ctrl-C, or without workers the
        session stops after the cell running now."""
        self.stopped = True
        if not self._stop_workers(signal.SIGINT) and self.session is not None:
            self.session.shouldstop = reason

    def _stop_workers(self, signum: int) -> bool:
        """Under pytest-xdist, while the workers run the cells: the loop told to stop, and
        the workers' reports gathered until each has ended its session (its servers
        stopped), instead of the workers torn down at once in the middle of that (results
        lost, pytest's warnings on stderr). False elsewhere: the signal is raised here.

        SIGINT is passed on when every child is a worker whose session runs (it stops on
        it, cleanly): one still starting would die with a traceback, and xdist with it;
        it gets xdist's shutdown instead, as do the others (a terminal's Ctrl-C has
        reached them all already). SIGTERM is passed on always: a CI runner's kill
        follows, and what the workers started must be stopped before it."""
        dsession = self.config.pluginmanager.get_plugin("dsession")
        if self.is_worker or not self.looping or dsession is None:
            return False
        if not getattr(dsession, "shouldstop", True):  # the loop ends once all have stopped
            dsession.shouldstop = f"interrupted ({signal.Signals(signum).name})"
        if signum == signal.SIGTERM or (self.ready and len(children()) == len(self.ready)):
            pass_on(signum)
        return True

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        self.ready.add(node)  # its session runs: it has our signal handlers

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        self.ready.discard(node)
        if getattr(node, "workeroutput", {}).get(REJECTION_MATRIX):
            self.rejection_matrix = True

    def pytest_keyboard_interrupt(self) -> None:
        self.signals.finishing()

    # --- the end: results.json (the controlling process) ---

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int
    ) -> Generator[None, object, object]:
        """First of all, the results (before the workers are torn down, before the cells'
        servers are stopped: neither can then lose them); then pytest's own end, which an
        error here must not skip (it stops the servers the cells started)."""
        self.signals.finishing()
        failed: Exception | None = None
        if not self.is_worker:
            interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
            try:
                if not self._nothing_collected(session, exitstatus):
                    self._finish(interrupted)
            except Exception as exc:  # a bug: raised once pytest's end has run
                failed = exc
        result = yield
        if failed is not None:
            raise failed
        return result

    def pytest_unconfigure(self) -> None:
        """The results of a session interrupted before it could end (while it started):
        written here, incomplete. The handlers are the caller's again; a worker keeps
        ours to its end, so that no signal interrupts its exit."""
        self.signals.finishing()
        if self.is_worker:
            return
        try:
            self._finish(interrupted=True)  # nothing when the session's end wrote them
        finally:
            self.signals.restore()

    def _nothing_collected(self, session: pytest.Session, exitstatus: int) -> bool:
        collected = self.total or self.rejection_total or self.cells or self.rejections
        if not collected and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            # Without the matrix's modules a vendor's job would pass having tested nothing.
            write(NOT_COLLECTED, sys.stderr)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            self.finished = True
            return True
        return False

    def _finish(self, interrupted: bool) -> None:
        """results.json and the report, once; a file that cannot be written is said in
        one line (`unwritten`), not raised through pytest's end."""
        from conformance.errors import UserError, os_reason
        from conformance.matrix.finish import finish_run

        if self.finished or any(self.config.getoption(o) for o in LISTING_ONLY):
            return  # a listing ran no cell
        self.finished = True
        if self.progress is not None:
            try:
                self.progress.close()
            except BrokenPipeError:
                mute(sys.stderr)
        try:
            finish_run(
                self.spec,
                list(self.cells.values()),
                started=self.started,
                complete=not interrupted
                and len(self.cells) >= self.total
                and len(self.rejections) >= self.rejection_total,
                lang=self.config.getoption("osm_lang"),
                rejections=self._rejection_section(),
            )
        except BrokenPipeError:  # a print not through `write`, on a closed stderr: written
            mute(sys.stderr)
        except (OSError, UserError) as exc:  # a full disk, the folder gone meanwhile
            self.unwritten = (  # a UserError names what was not written (the report)
                str(exc)
                if isinstance(exc, UserError)
                else f"results.json not written: {os_reason(exc)}"
            )
            write(f"osm-conformance: error: {self.unwritten}", sys.stderr)

    def _rejection_section(self) -> RejectionRun | None:
        """The rejection cells gathered, or None when the session had not the rejection
        matrix (--no-rejections)."""
        from conformance.matrix.finish import RejectionRun

        if not (self.rejection_matrix or self.rejection_total or self.rejections):
            return None
        span = self.rejection_span
        wall = round(span[1] - span[0], 2) if span is not None else 0.0
        return RejectionRun(list(self.rejections.values()), self.rejection_total, wall)
