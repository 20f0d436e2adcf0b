"""The configuration keys the report reads: an owner's `timezone`, a receiver's `paging`."""

from __future__ import annotations

import pytest

from alertd.config import parse_config
from alertd.errors import ConfigError


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "alertd.yml", env={})
    return str(info.value).splitlines()


def test_an_owner_has_an_iana_time_zone() -> None:
    config = parse_config("owners:\n  - {name: ml, timezone: Europe/Berlin}\n  - {name: sre}\n",
                          env={})
    assert [o.timezone for o in config.owners] == ["Europe/Berlin", None]


def test_an_unknown_time_zone_is_an_error_naming_the_key() -> None:
    text = "owners:\n  - {name: ml, timezone: Europe/Berlín}\n  - {name: sre, timezone: Local}\n"
    assert problems(text) == [
        'alertd.yml: owners[0].timezone: unknown time zone "Europe/Berlín": write an IANA '
        "name such as Europe/Berlin, or UTC",
        'alertd.yml: owners[1].timezone: unknown time zone "Local": write an IANA name such '
        "as Europe/Berlin, or UTC",
    ]


def test_receivers_page_unless_they_say_otherwise() -> None:
    config = parse_config("""\
route: {receiver: oncall}
receivers:
  - name: oncall
  - name: low
    paging: false
""", env={})
    assert {r.name: r.paging for r in config.receivers} == {"oncall": True, "low": False}
    assert problems("route: {receiver: a}\nreceivers:\n  - {name: a, paging: sometimes}\n")[
        0].startswith("alertd.yml: receivers[0].paging:")
