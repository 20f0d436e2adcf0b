"""One bad alert in a storm costs only itself: the daemon, run as a process, is sent 300
alerts at once, one of them with text that cannot be stored (a lone surrogate, which JSON
allows); that one is refused with a 400 naming it, the other 299 are delivered at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.daemon.storm import (  # noqa: F401 (the receiver fixture)
    Receiver,
    batch,
    eventually,
    receiver_fixture,
    start,
)


async def test_a_poisoned_alert_in_a_storm_of_300_blocks_none_of_the_others(
        tmp_path: Path, receiver: Receiver) -> None:
    alertd = await asyncio.to_thread(start, tmp_path, "sqlite:///data/alertd.db", receiver.url)
    bodies = [batch(0, 100), batch(100, 100), batch(200, 100)]
    # json.dumps writes it as the escape "\ud800": valid JSON, as a careless client sends.
    bodies[1][42]["annotations"] = {"summary": "\ud800 broken"}
    try:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for body in bodies:
                async with session.post(alertd.url + "/api/v2/alerts", data=json.dumps(body),
                                        headers={"Content-Type": "application/json"}) as resp:
                    statuses.append((resp.status, await resp.text()))
        assert [s for s, _ in statuses] == [200, 400, 200]
        assert "[42].annotations.summary" in statuses[1][1]
        expected = {str(i) for i in range(300)} - {"142"}
        # group_interval is 5m: anything held back would not arrive within the bound.
        await eventually(lambda: set(receiver.got) == expected, "the 299 others", timeout=20)
    finally:
        await asyncio.to_thread(alertd.stop)
    log = (tmp_path / "alertd.out").read_text()
    assert "Traceback" not in log
