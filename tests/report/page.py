"""A small DOM of an HTML page (stdlib html.parser), enough to check the report page: its
elements with their attributes, text and parents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "link", "input", "br", "img", "hr", "option", "source", "wbr", "col"}
SVG_LEAVES = {"rect", "line", "path", "circle"}  # written self-closed inside SVG


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self._texts()).strip()

    def _texts(self) -> Iterator[str]:
        yield from self.chunks
        for child in self.children:
            yield from child._texts()

    def iter(self, tag: str | None = None, **attrs: str) -> Iterator[Element]:
        for child in self.children:
            # class_ stands for class, data_rule for data-rule.
            wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
            if (tag is None or child.tag == tag) and all(
                    child.attrs.get(k) == v for k, v in wanted.items()):
                yield child
            yield from child.iter(tag, **attrs)

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = next(self.iter(tag, **attrs), None)
        assert found is not None, f"no <{tag} {attrs}> in <{self.tag}>"
        return found

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.open)
        self.open.children.append(element)
        if tag not in VOID:
            self.open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.open))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.open = node.parent

    def handle_data(self, data: str) -> None:
        self.open.chunks.append(data)


def parse(text: str) -> Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root
