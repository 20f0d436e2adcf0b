"""Block Kit as Slack validates it, for the Slack double: message blocks and modal views.

Violations are worded `<message> [json-pointer:<path>]`, as Slack words them in
`invalid_blocks` errors and in `invalid_arguments` answers to views.open (section 1.7 of
/work/shared/reference/integrations.md; modal limits from docs.slack.dev/reference/views
and the block and element references: title, submit and close 24 characters, 100 blocks,
private_metadata 3,000, callback_id 255, input label and hint 2,000, radio buttons 10
options, static select 100, option text 75 and value 150, plain_text_input lengths up to
3,000 and placeholder 150). See tests/fakes/slack.py for the wordings that are this
double's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

Block = dict[str, Any]

BLOCK_TYPES = ("section", "header", "context", "actions", "divider", "image", "rich_text",
               "markdown")
TEXT_TYPES = ("plain_text", "mrkdwn")
BUTTON_STYLES = ("primary", "danger")


class BlockChecker:
    """Collects Block Kit violations, worded `<message> [json-pointer:<path>]`."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._markdown_chars = 0

    block_types: tuple[str, ...] = BLOCK_TYPES
    most_blocks = 50

    def check(self, blocks: list[Any], at: str = "/blocks") -> list[str]:
        if len(blocks) > self.most_blocks:
            self._add(f"no more than {self.most_blocks} items allowed", at)
        for index, block in enumerate(blocks):
            self._block(block, f"{at}/{index}")
        return self.errors

    def _add(self, message: str, at: str) -> None:
        self.errors.append(f"{message} [json-pointer:{at}]")

    def _block(self, block: Any, at: str) -> None:
        if not isinstance(block, dict):
            self._add("must provide an object", at)
            return
        kind = block.get("type")
        if kind not in self.block_types:
            self._add(f"unsupported type: {kind}", f"{at}/type")
            return
        if "block_id" in block:
            self._string(block["block_id"], f"{at}/block_id", limit=255)
        getattr(self, f"_{kind}")(block, at)

    def _section(self, block: Block, at: str) -> None:
        if "text" not in block and "fields" not in block:
            self._add("must define either `text` or `fields`", at)
        if "text" in block:
            self._text(block["text"], f"{at}/text", limit=3000)
        if "fields" in block:
            self._items(block["fields"], f"{at}/fields", limit=10,
                        check=lambda item, where: self._text(item, where, limit=2000))
        if "accessory" in block:
            self._element(block["accessory"], f"{at}/accessory", set())

    def _header(self, block: Block, at: str) -> None:
        self._text(block.get("text"), f"{at}/text", limit=150, plain_only=True)

    def _context(self, block: Block, at: str) -> None:
        self._items(block.get("elements"), f"{at}/elements", limit=10,
                    check=self._context_element)

    def _context_element(self, element: Any, at: str) -> None:
        if isinstance(element, dict) and element.get("type") == "image":
            self._string(element.get("image_url"), f"{at}/image_url", limit=3000)
            self._string(element.get("alt_text"), f"{at}/alt_text", limit=2000)
        else:
            self._text(element, at, limit=None)

    def _actions(self, block: Block, at: str) -> None:
        seen: set[str] = set()
        self._items(block.get("elements"), f"{at}/elements", limit=25,
                    check=lambda element, where: self._element(element, where, seen))

    def _divider(self, block: Block, at: str) -> None:
        pass

    def _image(self, block: Block, at: str) -> None:
        if "slack_file" not in block:
            self._string(block.get("image_url"), f"{at}/image_url", limit=3000)
        self._string(block.get("alt_text"), f"{at}/alt_text", limit=2000)
        if "title" in block:
            self._text(block["title"], f"{at}/title", limit=2000, plain_only=True)

    def _rich_text(self, block: Block, at: str) -> None:
        if not isinstance(block.get("elements"), list):
            self._add("must provide an array", f"{at}/elements")

    def _markdown(self, block: Block, at: str) -> None:
        text = block.get("text")
        if self._string(text, f"{at}/text", limit=12_000):
            self._markdown_chars += len(text)
            if self._markdown_chars > 12_000:
                self._add("must be less than 12001 characters", f"{at}/text")

    def _element(self, element: Any, at: str, seen: set[str]) -> None:
        if not isinstance(element, dict):
            self._add("must provide an object", at)
            return
        action_id = element.get("action_id")
        if "action_id" in element and self._string(action_id, f"{at}/action_id", limit=255):
            if action_id in seen:
                self._add("must be unique", f"{at}/action_id")
            seen.add(action_id)
        if element.get("type") == "button":
            self._button(element, at)

    def _button(self, button: Block, at: str) -> None:
        self._text(button.get("text"), f"{at}/text", limit=75, plain_only=True)
        if "value" in button:
            self._string(button["value"], f"{at}/value", limit=2000)
        if "url" in button:
            self._string(button["url"], f"{at}/url", limit=3000)
        if "style" in button and button["style"] not in BUTTON_STYLES:
            self._add("must be a valid enum value", f"{at}/style")
        if "accessibility_label" in button:
            self._string(button["accessibility_label"], f"{at}/accessibility_label", limit=75)

    def _items(self, items: Any, at: str, *, limit: int,
               check: Callable[[Any, str], None]) -> None:
        if not isinstance(items, list):
            self._add("must provide an array", at)
            return
        if not items:
            self._add("must provide at least 1 item", at)
        if len(items) > limit:
            self._add(f"no more than {limit} items allowed", at)
        for index, item in enumerate(items):
            check(item, f"{at}/{index}")

    def _text(self, obj: Any, at: str, *, limit: int | None, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self._add("must provide an object", at)
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self._add(f"unsupported type: {kind}", f"{at}/type")
        elif plain_only and kind != "plain_text":
            self._add("must be a valid enum value", f"{at}/type")
        self._string(obj.get("text"), f"{at}/text", limit=limit)

    def _string(self, value: Any, at: str, *, limit: int | None) -> TypeGuard[str]:
        """Check a required non-blank string; True when it is valid."""
        if not isinstance(value, str):
            self._add("must provide a string", at)
            return False
        if not value.strip():
            self._add("must be more than 0 characters", at)
            return False
        if limit is not None and len(value) > limit:
            self._add(f"must be less than {limit + 1} characters", at)
            return False
        return True


def validate_blocks(blocks: list[Any]) -> list[str]:
    """Slack's `errors` for a blocks array (empty when valid)."""
    return BlockChecker().check(blocks)


# --- modal views ----------------------------------------------------------------------

VIEW_TEXT_MAX = 24  # title, submit, close
VIEW_BLOCKS_MAX = 100
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255
INPUT_ELEMENTS = ("plain_text_input", "radio_buttons", "static_select", "checkboxes")


class ViewChecker(BlockChecker):
    """A modal view: its own fields, up to 100 blocks, and input blocks."""

    block_types = (*BLOCK_TYPES, "input")
    most_blocks = VIEW_BLOCKS_MAX

    def __init__(self) -> None:
        super().__init__()
        self._block_ids: set[str] = set()

    def view(self, view: Any, at: str = "/view") -> list[str]:
        if not isinstance(view, dict):
            self._add("must provide an object", at)
            return self.errors
        if view.get("type") != "modal":
            self._add("must be a valid enum value", f"{at}/type")
        self._text(view.get("title"), f"{at}/title", limit=VIEW_TEXT_MAX, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                self._text(view[key], f"{at}/{key}", limit=VIEW_TEXT_MAX, plain_only=True)
        for key, limit in (("callback_id", CALLBACK_ID_MAX), ("external_id", CALLBACK_ID_MAX),
                           ("private_metadata", PRIVATE_METADATA_MAX)):
            if key in view:
                self._optional_string(view[key], f"{at}/{key}", limit)
        blocks = view.get("blocks")
        if not isinstance(blocks, list):
            self._add("must provide an array", f"{at}/blocks")
            return self.errors
        self.check(blocks, f"{at}/blocks")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            self._add("must provide `submit` when the view has input blocks", f"{at}/submit")
        return self.errors

    def _block(self, block: Any, at: str) -> None:
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in self._block_ids:
                self._add("must be unique", f"{at}/block_id")
            self._block_ids.add(block_id)
        super()._block(block, at)

    def _input(self, block: Block, at: str) -> None:
        self._text(block.get("label"), f"{at}/label", limit=2000, plain_only=True)
        if "hint" in block:
            self._text(block["hint"], f"{at}/hint", limit=2000, plain_only=True)
        if "optional" in block and not isinstance(block["optional"], bool):
            self._add("must provide a boolean", f"{at}/optional")
        element = block.get("element")
        if not isinstance(element, dict):
            self._add("must provide an object", f"{at}/element")
            return
        kind = element.get("type")
        if kind not in INPUT_ELEMENTS:
            self._add(f"unsupported type: {kind}", f"{at}/element/type")
            return
        self._string(element.get("action_id"), f"{at}/element/action_id", limit=255)
        if "placeholder" in element:
            self._text(element["placeholder"], f"{at}/element/placeholder", limit=150,
                       plain_only=True)
        if kind == "plain_text_input":
            self._text_input(element, f"{at}/element")
        else:
            most = 100 if kind == "static_select" else 10
            self._items(element.get("options"), f"{at}/element/options", limit=most,
                        check=lambda option, where: self._option(
                            option, where, plain_only=kind == "static_select"))

    def _text_input(self, element: dict[str, Any], at: str) -> None:
        for key, low in (("min_length", 0), ("max_length", 1)):
            value = element.get(key)
            if key in element and not (isinstance(value, int) and low <= value <= 3000):
                self._add(f"must be between {low} and 3000", f"{at}/{key}")
        if "multiline" in element and not isinstance(element["multiline"], bool):
            self._add("must provide a boolean", f"{at}/multiline")
        if "initial_value" in element and not isinstance(element["initial_value"], str):
            self._add("must provide a string", f"{at}/initial_value")

    def _option(self, option: Any, at: str, *, plain_only: bool) -> None:
        if not isinstance(option, dict):
            self._add("must provide an object", at)
            return
        self._text(option.get("text"), f"{at}/text", limit=75, plain_only=plain_only)
        self._string(option.get("value"), f"{at}/value", limit=150)
        if "description" in option:
            self._text(option["description"], f"{at}/description", limit=75)

    def _optional_string(self, value: Any, at: str, limit: int) -> None:
        """A string that may be empty (private_metadata, callback_id)."""
        if not isinstance(value, str):
            self._add("must provide a string", at)
        elif len(value) > limit:
            self._add(f"must be less than {limit + 1} characters", at)


def validate_view(view: Any) -> list[str]:
    """The violations of a modal view, as views.open reports them (empty when valid)."""
    return ViewChecker().view(view)


def input_elements(view: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any], bool]]:
    """block_id -> (action_id, element, optional) of each input block of a valid view."""
    return {block["block_id"]: (block["element"]["action_id"], block["element"],
                                bool(block.get("optional")))
            for block in view.get("blocks", []) if block.get("type") == "input"}
