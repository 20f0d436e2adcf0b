"""Routes and time intervals added to the text of `alertd.yml`, where a person would add them.

The changed text is shown as a diff and pasted into pull requests, so every line the
change does not need stays as it was: comments, quoting, flow lists, blank lines and the
indentation the file uses. Reading and writing the whole document with a round-trip YAML
library would rewrite lines it did not need to touch (ruamel.yaml, for one, rewrites
`[{url: ...}]` as `[url: ...]` and applies one indentation to the whole file). Instead the
file is composed with PyYAML, whose nodes carry their positions, and the new lines are
inserted at those positions, indented as the lines around them are.

Nothing here checks what the result means: the caller loads it with alertd's own loader.
Problems with the text itself raise ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import yaml

from alertd import yamlfile

__all__ = ["Value", "add_last_item", "compose", "placeholder_env", "prepend_routes",
           "top_level"]

# A value to write: a scalar, a list or a mapping (written in this key order).
Value = str | bool | list["Value"] | dict[str, "Value"]

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
# Plain scalars that Alertmanager's YAML 1.1 parser reads as booleans, PyYAML's as strings.
_GO_YAML_NOT_STRINGS = frozenset({"y", "Y", "n", "N"})
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose list values are lists of names or matchers: their style is the file's style.
_LIST_KEYS = frozenset({"matchers", "group_by", "mute_time_intervals", "active_time_intervals"})
# Placeholders valid wherever a secret may stand: a URL, or a webhook signing secret.
_URL_PLACEHOLDER = "https://placeholder.invalid/"
_SIGNING_PLACEHOLDER = "whsec_cGxhY2Vob2xkZXI="


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the file indents a block list's dash (relative to its key) and an item's keys
    (relative to its dash), and how it writes lists of names (`[a, b]` or `- a` a line)."""

    dash: int = 2
    item: int = 2
    flow_lists: bool = True


# A node found by _walk: the key it is the value of, the node, and the key's own node.
_Visit = tuple[str | None, yaml.Node, yaml.Node | None]


@dataclass(frozen=True, slots=True)
class _Splice:
    start: int
    end: int
    text: str


# --- reading ---------------------------------------------------------------------------------


def compose(text: str) -> yaml.MappingNode:
    """The document's top-level mapping, with positions. Raises ValueError."""
    try:
        root = yamlfile.compose(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("the top level is not a mapping of keys")
    return root


def top_level(root: yaml.MappingNode, key: str) -> yaml.Node | None:
    found = _entry(root, key)
    return None if found is None else found[1]


def _entry(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _walk(node: yaml.Node, key: str | None = None) -> Iterator[_Visit]:
    """Every node below `node` with the key it is the value of (a list item: its list's
    key) and, for a value of a mapping, the key node."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else None
            yield name, v, k
            yield from _walk(v, name)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield key, item, None
            yield from _walk(item, key)


def placeholder_env(root: yaml.MappingNode) -> dict[str, str]:
    """A value for every `${NAME}` the file reads, valid for the key it stands at, so that
    the file can be loaded to check its routing without the real secrets."""
    env: dict[str, str] = {}
    for key, node, _ in _walk(root):
        if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
            found = _ENV_REF.fullmatch(node.value)
            if found is not None:
                signing = key == "signing_secrets"
                env[found[1]] = _SIGNING_PLACEHOLDER if signing else _URL_PLACEHOLDER
    return env


def _layout(route: yaml.Node, root: yaml.MappingNode) -> _Layout:
    """The file's indentation, read from the routing tree first, then from anywhere; with
    no block list to go by, a list's dash is indented as the route's keys are."""
    dash = item = flow_lists = None
    for _, node, key_node in [*_walk(route), *_walk(root)]:
        if key_node is not None and isinstance(node, yaml.SequenceNode) \
                and not node.flow_style:
            dash = node.start_mark.column - key_node.start_mark.column if dash is None else dash
            item = _item_offset(node) if item is None else item
    for key, node, _ in _walk(route):
        if flow_lists is None and key in _LIST_KEYS and isinstance(node, yaml.SequenceNode):
            flow_lists = bool(node.flow_style)
    if dash is None:
        keys = route.value if isinstance(route, yaml.MappingNode) and not route.flow_style \
            else []
        dash = keys[0][0].start_mark.column if keys else 2
    return _Layout(dash=int(dash), item=item or 2, flow_lists=flow_lists is not False)


def _item_offset(seq: yaml.SequenceNode) -> int | None:
    """Where the keys of the first item sit, relative to its dash (None: no such item)."""
    first = seq.value[0] if seq.value else None
    if isinstance(first, yaml.MappingNode) and first.start_mark.line == seq.start_mark.line:
        return int(first.start_mark.column - seq.start_mark.column)
    return None


# --- writing ---------------------------------------------------------------------------------


def _scalar(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    plain = (_PLAIN.fullmatch(value) is not None and value not in _GO_YAML_NOT_STRINGS
             and yaml.safe_load(value) == value)
    if plain:
        return value
    if not re.search(r'["\\\x00-\x1f\x7f]', value):
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _flow(value: Value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _block_mapping(mapping: dict[str, Value], column: int, layout: _Layout) -> list[str]:
    lines: list[str] = []
    pad = " " * column
    for key, value in mapping.items():
        if isinstance(value, list) and not (layout.flow_lists and _flat(value)):
            lines.append(f"{pad}{key}:")
            lines += _block_items(value, column + layout.dash, layout.item, layout)
        else:
            lines.append(f"{pad}{key}: {_flow(value)}")
    return lines


def _flat(items: list[Value]) -> bool:
    """Whether a list reads well in flow style: scalars, or mappings of scalars
    (`[{start_time: "22:00", end_time: "24:00"}]`)."""
    def scalar(v: Value) -> bool:
        return not isinstance(v, list | dict)

    return all(scalar(v) or (isinstance(v, dict) and all(map(scalar, v.values())))
               for v in items)


def _block_items(items: Sequence[Value], dash: int, item: int, layout: _Layout) -> list[str]:
    lines: list[str] = []
    for value in items:
        if isinstance(value, dict):
            body = _block_mapping(value, dash + item, layout)
            lines.append(" " * dash + "-" + " " * (item - 1) + body[0].lstrip(" "))
            lines += body[1:]
        else:
            lines.append(" " * dash + "- " + _flow(value))
    return lines


def _apply(text: str, splices: list[_Splice]) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    for s in sorted(splices, key=lambda s: s.start, reverse=True):
        piece = s.text.replace("\n", newline)
        if s.start == len(text) and text and not text.endswith("\n") and piece:
            piece = newline + piece  # the last line had no line break of its own
        text = text[: s.start] + piece + text[s.end :]
    return text


def _lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# --- positions -------------------------------------------------------------------------------


def _next_line(text: str, index: int) -> int:
    """The start of the line after the one holding `index` (the end of the text at most)."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _content_end(text: str, node: yaml.Node) -> int:
    """The start of the line after the last line that holds part of `node`."""
    leaf = node
    while isinstance(leaf, yaml.MappingNode | yaml.SequenceNode) and not leaf.flow_style \
            and leaf.value:
        last = leaf.value[-1]
        leaf = last[1] if isinstance(leaf, yaml.MappingNode) else last
    end = int(leaf.end_mark.index)
    if isinstance(leaf, yaml.ScalarNode) and leaf.style in ("|", ">"):
        # A block scalar ends at the start of a line, after the blank lines that follow it;
        # those belong to what comes next, unless `+` keeps them in the value.
        header = text[leaf.start_mark.index : _next_line(text, leaf.start_mark.index)]
        if "+" not in header.split("#")[0]:
            while end > 0 and text[text.rfind("\n", 0, end - 1) + 1 : end].strip() == "":
                end = text.rfind("\n", 0, end - 1) + 1
        return end
    return _next_line(text, end)


def _drop_value(text: str, node: yaml.Node) -> _Splice:
    """Removes an empty value (`[]`, `null`) and the blanks before it, so that a block list
    can follow its key."""
    start = int(node.start_mark.index)
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return _Splice(start, int(node.end_mark.index), "")


# --- edits -----------------------------------------------------------------------------------


def prepend_routes(text: str, root: yaml.MappingNode, items: Sequence[dict[str, Value]]) -> str:
    """`items` as the first children of the top-level route. Raises ValueError."""
    route = top_level(root, "route")
    if not isinstance(route, yaml.MappingNode):
        raise ValueError("the top-level route is not a mapping")
    layout = _layout(route, root)
    return _apply(text, _add_items(text, route, "routes", items, layout, first=True))


def add_last_item(text: str, root: yaml.MappingNode, key: str, item: dict[str, Value]) -> str:
    """`item` as the last item of the top-level list `key`, which is added at the end of the
    file when the file has none. Raises ValueError."""
    route = top_level(root, "route")
    layout = _layout(route if route is not None else root, root)
    if _entry(root, key) is None:
        blank = _blank_between_sections(text, root)
        lines = [f"{key}:", *_block_items([item], layout.dash, layout.item, layout)]
        prefix = "\n" if blank and text.strip() and not text.endswith("\n\n") else ""
        return _apply(text, [_Splice(len(text), len(text), prefix + _lines(lines))])
    return _apply(text, _add_items(text, root, key, [item], layout, first=False))


def _blank_between_sections(text: str, root: yaml.MappingNode) -> bool:
    """Whether the file sets its top-level sections apart with blank lines."""
    lines = text.split("\n")
    return any(k.start_mark.line > 0 and lines[k.start_mark.line - 1].strip() == ""
               for k, _ in root.value[1:])


def _add_items(text: str, owner: yaml.MappingNode, key: str, items: Sequence[dict[str, Value]],
               layout: _Layout, *, first: bool) -> list[_Splice]:
    """Splices that put `items` first or last in the list `key` of the mapping `owner`."""
    if owner.flow_style:
        return [_flow_add_key(owner, key, items)]
    key_column = int(owner.value[0][0].start_mark.column) if owner.value else 0
    found = _entry(owner, key)
    if found is None:
        at = _content_end(text, owner)
        lines = [" " * key_column + f"{key}:",
                 *_block_items(items, key_column + layout.dash, layout.item, layout)]
        return [_Splice(at, at, _lines(lines))]
    key_node, value = found
    if isinstance(value, yaml.SequenceNode) and value.value:
        if value.flow_style:
            return [_flow_add_items(value, items, first=first)]
        dash = int(value.start_mark.column)
        offset = _item_offset(value) or layout.item
        at = (_next_line(text, key_node.end_mark.index) if first
              else _content_end(text, value))
        return [_Splice(at, at, _lines(_block_items(items, dash, offset, layout)))]
    if isinstance(value, yaml.SequenceNode) or _is_null(value):
        at = _next_line(text, key_node.end_mark.index)
        lines = _block_items(items, key_column + layout.dash, layout.item, layout)
        return [_drop_value(text, value), _Splice(at, at, _lines(lines))]
    raise ValueError(f'"{key}" is not a list')


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _flow_add_items(seq: yaml.SequenceNode, items: Sequence[dict[str, Value]], *,
                    first: bool) -> _Splice:
    written = ", ".join(_flow(item) for item in items)
    if first:
        at = int(seq.start_mark.index) + 1  # after the `[`
        return _Splice(at, at, written + ", ")
    at = int(seq.end_mark.index) - 1  # before the `]`
    return _Splice(at, at, ", " + written)


def _flow_add_key(owner: yaml.MappingNode, key: str, items: Sequence[dict[str, Value]]
                  ) -> _Splice:
    found = _entry(owner, key)
    if found is not None:
        value = found[1]
        if isinstance(value, yaml.SequenceNode) and value.value:
            return _flow_add_items(value, items, first=True)
        if not (isinstance(value, yaml.SequenceNode) or _is_null(value)):
            raise ValueError(f'"{key}" is not a list')
        return _Splice(int(value.start_mark.index), int(value.end_mark.index),
                       _flow(list(items)))
    at = int(owner.end_mark.index) - 1  # before the `}`
    separator = ", " if owner.value else ""
    return _Splice(at, at, f"{separator}{key}: {_flow(list(items))}")
