"""The exact change behind a recommendation of the noise review, as a diff of one file.

A rule file is changed block by block, as `alertd fmt` writes the alert's block, every other
byte left as it was (rule_edit.py). The routing part of `alertd.yml` gets new routes and time
intervals inserted into its text (config_edit.py, sleep_hours.py; the YAML text itself in
routes_edit.py), never rewritten. Each result is loaded with alertd's own code before it is
returned: a rule file as `alertd check` checks it, a configuration with `parse_config` and
the compiled routing tree. What cannot be changed so raises EditError, saying why.

Imports go one way: edits -> rule_edit, config_edit; config_edit -> sleep_hours, routes_edit;
sleep_hours -> routes_edit; and each of them -> edit (Edit, EditError), which imports none.
"""

from __future__ import annotations

from alertd.whatif.config_edit import override_route, sleep_route
from alertd.whatif.edit import Edit, EditError
from alertd.whatif.rule_edit import delete_rule, set_rule_timing

__all__ = ["Edit", "EditError", "delete_rule", "override_route", "set_rule_timing",
           "sleep_route"]
