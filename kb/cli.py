"""The ``kb`` command line. Thin: it parses options, calls the library, prints.

Results go to stdout (``--json``: UTF-8 JSON, not ASCII-escaped); progress bars and
logs go to stderr. Exit status 0 when everything succeeded, 1 when any input failed
or the request was wrong (one line per failure: ``file: reason``).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import click

from .errors import KBError
from .knowledge import KnowledgeBase, default_home
from .models import AUTHORITY_TIERS, DOC_TYPES, IP_CATEGORIES, Filters

_TYPE_BY_LABEL = {v: k for k, v in DOC_TYPES.items()}


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def one_line(text: str) -> str:
    """Escape control, zero-width and bidi characters (a file may be named with a newline or
    a right-to-left mark): one failure stays one line and cannot rewrite the terminal."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                            else f"\\u{ord(m.group()):04x}", text)


def _fail(message: str) -> None:
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(1)


class _Ctx:
    def __init__(self, home: Path, embedder: str | None):
        self.home, self.embedder = home, embedder

    def open(self, *, create: bool = False) -> KnowledgeBase:
        return KnowledgeBase.open(self.home, embedder=self.embedder, create=create)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="KB_HOME",
              help="Knowledge-base directory (default: $KB_HOME or ./.kb).")
@click.option("--embedder", default=None, envvar="IPKB_EMBEDDER",
              help="e5-small (default), st:PATH for a sentence-transformers model, fake, or none.")
@click.option("-v", "--verbose", count=True, help="More logging on stderr.")
@click.pass_context
def main(ctx: click.Context, home: Path | None, embedder: str | None, verbose: int) -> None:
    """ipkb: knowledge base and similar-case search for IP protection."""
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        _quiet_third_party()
    ctx.obj = _Ctx(home or default_home(), embedder)


def _quiet_third_party() -> None:
    """Model-loading chatter (weight-loading bars, prompt notices, pypdf's repair warnings)
    is noise to a clerk; ``-v`` shows it again."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for name in ("sentence_transformers", "transformers", "pypdf", "jieba"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _run(fn):
    """Turn library errors into one-line messages and exit status 1."""
    try:
        return fn()
    except KBError as exc:
        _fail(str(exc))


def _filters(types, categories, courts, years, authorities, include_superseded) -> Filters:
    codes = []
    for t in types:
        code = t if t in DOC_TYPES else _TYPE_BY_LABEL.get(t)
        if code is None:
            raise click.BadParameter(f"unknown type {t!r}; use one of {', '.join(list(DOC_TYPES) + list(_TYPE_BY_LABEL))}")
        codes.append(code)
    for c in categories:
        if c not in IP_CATEGORIES:
            raise click.BadParameter(f"unknown category {c!r}; use one of {', '.join(IP_CATEGORIES)}")
    return Filters(doc_types=tuple(codes), categories=tuple(categories), courts=tuple(courts),
                   years=tuple(years), authorities=tuple(authorities), include_superseded=include_superseded)


_filter_options = [
    click.option("--type", "types", multiple=True, help="Document type: guiding_case/指导性案例, statute/法律, …"),
    click.option("--category", "categories", multiple=True, help="IP category: " + "、".join(IP_CATEGORIES)),
    click.option("--court", "courts", multiple=True, help="Court name."),
    click.option("--year", "years", multiple=True, type=int, help="Year of decision or promulgation."),
    click.option("--authority", "authorities", multiple=True, type=click.IntRange(1, 3),
                 help="; ".join(f"{k}={v}" for k, v in AUTHORITY_TIERS.items())),
    click.option("--include-superseded", is_flag=True, help="Also return superseded and repealed texts."),
]


def filter_options(fn):
    for opt in reversed(_filter_options):
        fn = opt(fn)
    return fn


from . import cli_commands, cli_eval  # noqa: E402,F401  (register the commands on `main`)

if __name__ == "__main__":  # python -m kb.cli: run the registered group, not this module's copy
    from kb.cli import main as _registered_main
    _registered_main()
