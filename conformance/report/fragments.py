"""The few HTML fragments repeated thousands of times in a large matrix.

Hand-written rather than Jinja macros for speed only: a macro call costs tens
of microseconds in Jinja (Markup.format more still), and a 15x15x5 matrix
shows each verdict mark three times (matrix, sender's sheet, receiver's
sheet). Every argument goes through markupsafe's escape, as in the templates;
each fragment is cached per value, since marks, badges and service lists repeat.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from markupsafe import Markup, escape

from conformance.report.i18n import Translator
from conformance.report.views import (
    INTEROP_SYMBOLS,
    SERVICE_SYMBOLS,
    VERDICT_SYMBOLS,
    FunctionView,
)


def _mark(verdict: str, extra: str, fn: str, title: str, symbol: str) -> Markup:
    title_ = escape(title)
    return Markup(
        f'<span class="mark v-{escape(verdict)}{extra}" data-fn="{escape(fn)}" '
        f'title="{title_}" aria-label="{title_}">{escape(symbol)}</span>'
    )


def _badge(kind: str, prefix: str, value: str, symbol: str, word: str) -> Markup:
    return Markup(
        f'<span class="{kind} {prefix}-{escape(value)}"><span class="sym" aria-hidden="true">'
        f"{escape(symbol)}</span> {escape(word)}</span>"
    )


def _service(state: str, symbol: str, name: str, state_word: str) -> Markup:
    return Markup(
        f'<li class="svc svc-{escape(state)}"><span aria-hidden="true">{escape(symbol)}</span> '
        f'{escape(name)}<span class="sr"> ({escape(state_word)})</span></li>'
    )


# The source's French words an English reason quotes: the profiles' convention is straight
# double quotes (`reason` of receive.smime.key_transports in profiles/osm-2008-base.yaml).
_QUOTED = re.compile(r'"([^"]+)"')


def reason_html(text: str, lang: str) -> Markup:
    """An assumed fact's reason in a page's body: on an English page, each quoted span is
    the source's French, marked `<q lang="fr">` (the quotes are the element's). A French
    reason (reason_fr) quotes French: left as written, and so is a title attribute."""
    if lang != "en":
        return escape(text)
    parts = _QUOTED.split(text)  # plain, quoted, plain, ...
    return Markup("").join(
        Markup('<q lang="fr">{}</q>').format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    )


def filters(t: Translator) -> dict[str, Callable[..., Markup]]:
    """The Jinja filters for one language: `fv|mark`, `v|verdict_badge`,
    `v|interop_badge`, `fv|services_list`, `text|reason` (reason_html)."""

    cached_mark = functools.cache(_mark)  # a title depends on few things: it repeats

    def mark(fv: FunctionView) -> Markup:
        extra = (
            (" contra" if fv.contradiction else "")
            + (" changed" if fv.change else "")
            + (" expected" if fv.expected_outcome else "")
            + (" assumed" if fv.assumed else "")
        )
        return cached_mark(fv.verdict, extra, fv.function, fv.title, fv.symbol)

    @functools.cache
    def verdict_badge(value: str) -> Markup:
        return _badge("verdict", "v", value, VERDICT_SYMBOLS[value], t(f"verdict.{value}"))

    @functools.cache
    def interop_badge(value: str) -> Markup:
        return _badge("interop", "i", value, INTEROP_SYMBOLS[value], t(f"interop.{value}"))

    @functools.cache
    def _services(states: tuple[tuple[str, str], ...]) -> Markup:
        return Markup("").join(
            _service(state, SERVICE_SYMBOLS[state], t(f"svc.{name}"), t(f"svc.{state}"))
            for name, state in states
        )

    def services_list(fv: FunctionView) -> Markup:
        return _services(tuple((name, state) for name, state, _ in fv.services))

    def reason(text: str) -> Markup:
        return reason_html(text, t.lang)

    return {
        "reason": reason,
        "mark": mark,
        "verdict_badge": verdict_badge,
        "interop_badge": interop_badge,
        "services_list": services_list,
    }
