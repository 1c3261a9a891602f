"""`flint usage`: the usage dashboard's headline figures (staff and team owners)."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from .client import Api
from .common import json_option, with_api
from .output import out, print_json
from .rooms import team_resolve


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:.0f} ms"


@click.command()
@click.option("--range", "range_", type=click.Choice(["24h", "7d", "30d"]), default="7d")
@click.option("--team", "team_ref", help="One team (id or slug); default: all you may see.")
@json_option
@with_api
def usage(api: Api, range_: str, team_ref: str | None, as_json: bool) -> None:
    """Requests, tokens, cost, errors and latency of the models (staff and team owners)."""
    params: dict[str, Any] = {"range": range_}
    if team_ref:
        params["team"] = team_resolve(api, team_ref)["id"]
    data = api.get("/usage", params=params)
    if as_json:
        print_json(data)
        return
    totals = data["totals"]
    out.print(f"[bold]Usage, last {data['range']}[/]" + (f" (team {data['team']})"
                                                          if data["team"] else ""))  # fmt: skip
    out.print(f"  requests   {totals['requests']:,} ({totals['errors']:,} failed, "
              f"{totals['refused']:,} refused)")  # fmt: skip
    out.print(f"  tokens     {totals['tokens']:,} ({totals['prompt_tokens']:,} prompt, "
              f"{totals['completion_tokens']:,} completion)")  # fmt: skip
    cost = f"  est. cost  ${totals['cost']:.2f}"
    if totals["unpriced_models"]:
        cost += f" (no price for {', '.join(totals['unpriced_models'])})"
    out.print(cost)
    rate = data["acceptance"]["rate"]
    out.print("  completions accepted " + ("—" if rate is None else f"{rate:.0%}"))
    out.print(f"  active now {data['now'].get('people', 0)} people in "
              f"{data['now'].get('rooms', 0)} rooms")  # fmt: skip
    if data["latency"]:
        table = Table("tier", "model", "first token p50", "p95", "tokens/s p50")
        for row in data["latency"]:
            tps = "—" if row["tps_p50"] is None else f"{row['tps_p50']:.0f}"
            table.add_row(row["tier"], row["model"], _ms(row["ttft_p50"]), _ms(row["ttft_p95"]),
                          tps)  # fmt: skip
        out.print(table)
    if data["top_users"]:
        out.print("  top people: " + ", ".join(f"{row['name']} ({row['tokens']:,})"
                                               for row in data["top_users"][:5]))  # fmt: skip


def register(cli: click.Group) -> None:
    cli.add_command(usage)
