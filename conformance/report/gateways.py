"""View model of the "Passerelles" / "Gateways" page: which gateways a product's messages
survive, per function (a run over SMTP with `--via`).

A message survives a gateway when a cell that passes on the plain route (SMTP, no
rewriting hop) passes through that gateway too: the same sender, receiver, function and
examples, the hop the only difference. Per sender and function, the receivers compared
are those whose plain-route cell passed. Computed from results.json alone, like every page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from conformance.report.i18n import Translator
from conformance.results import Cell, NotObserved, Results

PAGE = "gateways.html"
# The store's key in hops_not_run: the suite's Dovecot, there but not started (a cell's
# NotObserved kind store-missing). No hop has this id (a results.json of the version
# before the kind, which said hop-missing with hop "dovecot", reads the same).
STORE = "dovecot"
Survival = Literal["survives", "breaks", "partly", "not-compared", "not-run", "error"]
SURVIVAL_SYMBOLS: dict[Survival, str] = {
    "survives": "✓",
    "partly": "◐",
    "breaks": "✗",
    "not-compared": "–",
    "not-run": "·",
    "error": "!",
}
SURVIVAL_CSS: dict[Survival, str] = {
    "survives": "v-pass",
    "partly": "v-partial",
    "breaks": "v-fail",
    "not-compared": "v-unsupported",
    "not-run": "v-missing",
    "error": "v-error",
}


@dataclass(frozen=True)
class HopView:
    id: str
    stands_for: str
    simulated: bool
    version: str | None
    not_run: str | None = None  # why it ran in no cell here (the suite's English words)


@dataclass(frozen=True)
class RouteView:
    """A column: one variant of --via (its hops in order)."""

    id: str  # hop ids joined by "+"
    hops: list[HopView]


@dataclass
class Crossing:
    """One sender's function through one variant: the receivers compared and what happened."""

    id: str  # the anchor of its detail
    route: RouteView
    survived: list[Cell] = field(default_factory=list)
    broken: list[tuple[Cell, Cell]] = field(default_factory=list)  # (plain, through the hop)
    errors: list[Cell] = field(default_factory=list)
    not_run: list[Cell] = field(default_factory=list)

    @property
    def outcome(self) -> Survival:
        if self.broken and self.survived:
            return "partly"
        if self.broken:
            return "breaks"
        if self.survived:
            return "survives"
        if self.errors:
            return "error"
        if self.not_run:
            return "not-run"
        return "not-compared"

    @property
    def symbol(self) -> str:
        return SURVIVAL_SYMBOLS[self.outcome]

    @property
    def css(self) -> str:
        return SURVIVAL_CSS[self.outcome]


@dataclass
class GatewayRow:
    sender: str
    name: str
    function: str
    crossings: list[Crossing]


def hops_not_run(cells: Iterable[Cell]) -> dict[str, str]:
    """Why each server of the routes that ran in none of `cells` did not: a hop (by its id)
    not installed or not started, the store (STORE) not started; the detail its not-run
    cells quote. A server that carried any cell observed over SMTP is left out: neither
    the page nor the run's delivery fields (finish.mail_settings) describe as started a
    server that was not, nor as not started one that served cells (another worker's)."""
    cells = list(cells)
    ran = {
        hop
        for cell in cells
        if cell.observed and cell.transport == "smtp"
        for hop in (*cell.via, STORE)
    }
    found: dict[str, str] = {}
    for cell in cells:
        why = cell.not_observed
        server = _server(why)
        if why is not None and server and server not in ran:
            found.setdefault(server, why.detail or "")
    return found


def _server(why: NotObserved | None) -> str | None:
    """The server of the routes a cell was not run for: its hop, or the store."""
    if why is not None and why.kind == "store-missing":
        return STORE
    return why.hop if why is not None and why.kind == "hop-missing" else None


def hop_views(settings: Mapping[str, Any], lang: str) -> dict[str, HopView]:
    """The hops results.json describes (run.settings.hops), in the page's language."""
    found = {}
    for hop_id, data in (settings.get("hops") or {}).items():
        text = data.get("stands_for_fr") if lang == "fr" else None
        found[hop_id] = HopView(
            hop_id,
            text or data.get("stands_for") or hop_id,
            bool(data.get("simulated", True)),
            data.get("version"),
        )
    return found


class GatewayModel:
    """The variant cells laid out per sender and function, one column per variant."""

    def __init__(self, results: Results, t: Translator, names: dict[str, tuple[str, str]]):
        """`names`: agent id -> (display name, product page)."""
        self.t = t
        settings = results.run.settings
        self.present = settings.get("transport") == "smtp"
        self.delivery_method = str(settings.get("delivery") or "")
        # The page says the method in its own language, then what is not language: the
        # server's version ("Dovecot 2.3.19.1"), or the system's reason, quoted.
        detail = str(settings.get("delivery_detail") or "")
        not_run = hops_not_run(results.cells)
        # Dovecot there but not started in any worker (delivery "none"): the page says why,
        # from the cells, as the run's delivery fields do; never that it read the mail.
        self.delivery_not_run = not_run.get(STORE)
        imap = self.delivery_method == "imap" and self.delivery_not_run is None
        self.delivery_version = detail if imap else ""
        self.delivery = detail if self.delivery_method == "maildir" else ""
        self.hops = {
            hop_id: replace(view, not_run=not_run.get(hop_id))
            for hop_id, view in hop_views(settings, t.lang).items()
        }
        variants = list(dict.fromkeys(tuple(c.via) for c in results.variant_cells()))
        for via in settings.get("via") or []:
            if tuple(via) not in variants:
                variants.append(tuple(via))
        self.routes = [
            RouteView("+".join(v), [self.hops.get(h, HopView(h, h, True, None)) for h in v])
            for v in variants
        ]
        plain = {(c.sender, c.receiver, c.function): c for c in results.plain_cells()}
        through: dict[tuple[str, str, tuple[str, ...]], list[Cell]] = {}
        for cell in results.variant_cells():
            through.setdefault((cell.sender, cell.function, tuple(cell.via)), []).append(cell)
        functions = list(
            dict.fromkeys([*results.run.functions, *(c.function for c in results.cells)])
        )
        senders = list(dict.fromkeys(c.sender for c in results.cells))
        ordered = [s for s in names if s in senders] + [s for s in senders if s not in names]
        self.rows: list[GatewayRow] = []
        for sender in ordered:
            for function in functions:
                crossings: list[Crossing] = []
                seen = False
                for route in self.routes:
                    key = (sender, function, tuple(h.id for h in route.hops))
                    crossing = Crossing(f"g-{len(self.rows)}-{len(crossings)}", route)
                    for cell in through.get(key, []):
                        seen = True
                        before = plain.get((cell.sender, cell.receiver, cell.function))
                        _place(crossing, before, cell)
                    crossings.append(crossing)
                if seen:  # a function that went through a hop (none: a sender's gap)
                    name = names.get(sender, (sender, ""))[0]
                    self.rows.append(GatewayRow(sender, name, function, crossings))

    def details(self) -> list[tuple[GatewayRow, Crossing]]:
        """The crossings with something to say: a break, an error, a hop not run."""
        return [
            (row, c)
            for row in self.rows
            for c in row.crossings
            if c.broken or c.errors or c.not_run
        ]

    def survival(self) -> list[tuple[str, str, list[tuple[int, int]]]]:
        """Per sender (id, name): per variant, (cells that survived, cells compared)."""
        found: dict[str, tuple[str, list[list[int]]]] = {}
        for row in self.rows:
            _, counts = found.setdefault(row.sender, (row.name, [[0, 0] for _ in self.routes]))
            for i, crossing in enumerate(row.crossings):
                counts[i][0] += len(crossing.survived)
                counts[i][1] += len(crossing.survived) + len(crossing.broken)
        return [
            (sender, name, [(a, b) for a, b in counts]) for sender, (name, counts) in found.items()
        ]


def _place(crossing: Crossing, before: Cell | None, cell: Cell) -> None:
    """One receiver's cell through the hop, judged against its plain-route twin. A cell not
    observed (a hop or an engine not installed here, the route's own size limit: its
    `observed`, whatever its reason says) is listed as not run, never compared."""
    if cell.verdict == "error":
        crossing.errors.append(cell)
    elif not cell.observed:
        crossing.not_run.append(cell)
    elif before is None or before.verdict != "pass":
        return  # nothing passes on the plain route: nothing to survive
    elif cell.verdict == "pass":
        crossing.survived.append(cell)
    else:
        crossing.broken.append((before, cell))


def survival_lines(results: Results) -> list[str]:
    """The survival table for the terminal: products x gateways, survived/compared."""
    model = GatewayModel(results, Translator("en"), {})
    if not model.present or not model.routes:
        return []
    width = max([len(s) for s, _, _ in model.survival()] + [6])
    heads = [r.id for r in model.routes]
    lines = ["", "gateway survival (cells that pass on the plain route and through the hop):"]
    lines.append(f"  {'sender':<{width}}  " + "  ".join(heads))
    for sender, _, counts in model.survival():
        cells = [f"{f'{a}/{b}':>{len(h)}}" for (a, b), h in zip(counts, heads, strict=True)]
        lines.append(f"  {sender:<{width}}  " + "  ".join(cells))
    return lines
