"""YAML as alertd reads it: safe, and strict about keys written twice.

Read by libyaml's parser where PyYAML was built with it (its wheels are): a configuration
is read several times faster, and the recommendations load a changed configuration for
every routing change they try. A document libyaml refuses is read again by PyYAML's own
parser, so that what a user is told is wrong is said the same way everywhere.
"""

from __future__ import annotations

from typing import Any

import yaml

_CSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoDuplicateKeys:
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f'duplicate key "{key_node.value}"', key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)  # type: ignore[misc,no-any-return]


class StrictLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """A safe loader that rejects duplicate keys (PyYAML would let the last one win)."""


class _FastStrictLoader(_NoDuplicateKeys, _CSafeLoader):  # type: ignore[valid-type,misc]
    pass


def load(text: str) -> Any:
    """The document `text`, read with StrictLoader's rules; raises yaml.YAMLError."""
    try:
        return yaml.load(text, Loader=_FastStrictLoader)
    except yaml.YAMLError:
        return yaml.load(text, Loader=StrictLoader)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree, with positions; raises yaml.YAMLError."""
    try:
        return yaml.compose(text, Loader=_CSafeLoader)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)
