"""Tables that fit the terminal without ever cutting an identifier.

An operator copies IDs out of tables (`backup verify ID`, `rollback code --to vN`); an ID cut
to `20261129T0…` is worse than no table. So identifiers always print whole, free text folds
onto more lines, and when the terminal is still too narrow the least important columns are
left out, with a note that says which (`--json` always has everything)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

GAP = 2  # the space rich puts between two columns of a borderless table
FOLDED_MIN = 12  # free text is never squeezed narrower than this


@dataclass(frozen=True)
class Column:
    header: str
    drop_order: int = 0  # 0: always shown; when too narrow, the highest numbers go first
    identifier: bool = False  # printed whole, never truncated or folded
    folds: bool = False  # free text: may wrap onto several lines
    justify: str = "left"


def print_table(console: Console, columns: list[Column], rows: list[list[str]]) -> None:
    shown = _fit(columns, rows, console.width)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for i in shown:
        column = columns[i]
        if column.folds:
            table.add_column(column.header, overflow="fold", min_width=FOLDED_MIN,
                             justify=column.justify)  # type: ignore[arg-type]
        else:
            table.add_column(column.header, no_wrap=True, min_width=_natural(i, columns, rows),
                             justify=column.justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    console.print(table)
    hidden = [c.header for i, c in enumerate(columns) if i not in shown]
    if hidden:
        console.print(f"[dim]hidden at this width: {', '.join(hidden)} (see --json)[/]")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _natural(index: int, columns: list[Column], rows: list[list[str]]) -> int:
    cells = [Text.from_markup(row[index]).cell_len for row in rows]
    return max([len(columns[index].header), *cells])


def _fit(columns: list[Column], rows: list[list[str]], width: int) -> list[int]:
    shown = list(range(len(columns)))

    def needed() -> int:
        widths = [FOLDED_MIN if columns[i].folds else _natural(i, columns, rows) for i in shown]
        return sum(widths) + GAP * (len(shown) - 1)

    droppable = sorted((i for i, c in enumerate(columns) if c.drop_order),
                       key=lambda i: -columns[i].drop_order)
    for index in droppable:
        if needed() <= width:
            break
        shown.remove(index)
    return shown
