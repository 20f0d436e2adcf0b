"""Counting a page once it is done: in the totals, its rules and its owners, in the band
of hours it came in (each owner's own zone), and by local day for the report's chart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, tzinfo

from alertd.noise.bands import band, local_band, local_date, zone
from alertd.noise.figures import TOTAL, PageFigures, Tallies, Tally, owner_scope, rule_scope
from alertd.noise.inputs import CURRENT, Settings
from alertd.noise.pages import Page

# The tally of one period, rule and owner (stats.Aggregator._cell).
CellTallies = Callable[[int, str, str | None], Tally]


class PageCounter:
    def __init__(self, settings: Settings, tallies: Tallies, cell: CellTallies,
                 on_page: Callable[[Page], None] | None) -> None:
        self.settings = settings
        self.tallies = tallies
        self.cell = cell
        self.on_page = on_page
        self.days: Counter[tuple[date, str]] = Counter()  # pages by local date and band
        self._zones: dict[str | None, tzinfo] = {}
        self._report_zone = zone(settings.report_zone())

    def _zone(self, owner: str | None) -> tzinfo:
        found = self._zones.get(owner)
        if found is None:
            found = self._zones[owner] = zone(self.settings.zones.get(owner or ""))
        return found

    def count(self, page: Page) -> None:
        """A page whose alerts all resolved (or the period ended): counted once in the
        totals, once for each rule and each owner of the alerts it carried."""
        if self.on_page is not None:
            self.on_page(page)
        owners = list(page.owners) if len(page.owners) < 2 else sorted(
            page.owners, key=lambda o: (o is None, o or ""))
        # The band of the totals and of the rules: in the zone of the page's owner (the
        # first by name, when it carried alerts of several).
        main_zone = self._zone(owners[0] if owners else None)
        local = datetime.fromtimestamp(page.at, main_zone)
        main = local_band(local)
        period = page.period
        figures = PageFigures(page)
        if len(page.rules) == 1 and len(owners) == 1:  # most pages: the tallies of one alert
            figures.add(self.cell(period, next(iter(page.rules)), owners[0]), main)
        else:
            figures.add(self.tallies(period, TOTAL), main)
            for rule in sorted(page.rules):
                figures.add(self.tallies(period, rule_scope(rule)), main)
            for owner in owners:
                where = self._zone(owner)
                figures.add(self.tallies(period, owner_scope(owner)),
                            main if where is main_zone else band(page.at, where))
        if period == CURRENT:
            day = local.date() if self._report_zone is main_zone else local_date(
                page.at, self._report_zone)
            self.days[(day, main)] += 1
