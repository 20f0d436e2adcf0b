"""Message templates: Jinja2 in an immutable sandbox, checked before they are ever rendered.

A template sees `value`, `labels`, `owner` and `runbook`, and the filters `duration`,
`percent` and `humanize` (Prometheus's number formats). Rendering never raises: like
Prometheus, a failure renders as `<error expanding template: ...>` so that a page still
goes out with whatever else it carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alertd.errors import AlertdError
from alertd.suggest import did_you_mean
from alertd.templates.filters import FILTERS

__all__ = [
    "CONTEXT_VARIABLES",
    "ENVIRONMENT",
    "LabelMap",
    "Template",
    "TemplateError",
    "TemplateProblem",
    "check_template",
    "compile_template",
    "find_template_problems",
]

CONTEXT_VARIABLES = ("value", "labels", "owner", "runbook")


class TemplateError(AlertdError):
    """A template cannot be compiled; `line` is 1-based within the template when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


ProblemKind = Literal["syntax", "filter", "test", "variable"]


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    line: int | None  # 1-based within the template
    message: str
    kind: ProblemKind
    focus: str | None = None  # the name at fault, so a checker can point at it in the source


class _LabelMap(dict[str, str]):
    """The `labels` of the context: `labels.items` reads a label named "items" if there is one."""


class _Environment(ImmutableSandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # Labels come first: a label called `values` must not turn into dict.values.
        if isinstance(obj, _LabelMap) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _finalize(value: Any) -> Any:
    # `labels.get("x")` of a missing label prints nothing rather than "None".
    return "" if value is None else value


def _placeholder_test(value: Any) -> bool:
    return False


def _make_environment(extra_filters: frozenset[str] = frozenset(),
                      extra_tests: frozenset[str] = frozenset()) -> _Environment:
    env = _Environment(
        autoescape=False,
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=False,
        finalize=_finalize,
    )
    env.filters.update(FILTERS)
    # Placeholders let jinja2.meta analyse a template whose unknown names were reported.
    for name in extra_filters:
        env.filters[name] = _finalize
    for name in extra_tests:
        env.tests[name] = _placeholder_test
    return env


_ENV = _make_environment()
# For receiver templates (notify, MQTT topics): the same sandbox, filters and label map.
ENVIRONMENT = _ENV
LabelMap = _LabelMap
# Names Jinja itself defines inside loops and macros.
_IMPLICIT_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "self"})
_ALLOWED_NAMES = frozenset(CONTEXT_VARIABLES) | frozenset(_ENV.globals) | _IMPLICIT_NAMES


class Template:
    """A compiled template; `render` never raises."""

    __slots__ = ("_template", "text")

    def __init__(self, text: str, template: jinja2.Template | None) -> None:
        self.text = text
        self._template = template  # None for plain text, which renders as itself

    def render(self, value: float, labels: Mapping[str, str], owner: str, runbook: str) -> str:
        if self._template is None:
            return self.text
        try:
            return self._template.render(
                value=value, labels=_LabelMap(labels), owner=owner, runbook=runbook
            )
        except Exception as exc:  # a template must never stop a notification
            return f"<error expanding template: {_describe(exc)}>"

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=4096)
def find_template_problems(text: str, variables: tuple[str, ...] = CONTEXT_VARIABLES,
                           ) -> tuple[TemplateProblem, ...]:
    """Every problem of `text`: syntax, unknown filters and tests, unknown variables (those
    neither in `variables`, rule templates' by default, nor defined by the template)."""
    if not _has_markup(text):
        return ()
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        message = f"template syntax error: {_lower_first(exc.message or '')}"
        return (TemplateProblem(exc.lineno, message, "syntax"),)
    except Exception as exc:  # e.g. nesting too deep for the parser
        return (TemplateProblem(None, f"template cannot be parsed: {_describe(exc)}", "syntax"),)

    problems = [*_unknown_filters_and_tests(tree), *_unknown_variables(tree, variables)]
    problems.sort(key=lambda p: (p.line or 0))
    return tuple(problems)


def _unknown_filters_and_tests(tree: nodes.Template) -> list[TemplateProblem]:
    """One problem per filter or test name the sandbox does not define, at its first use."""
    problems: list[TemplateProblem] = []
    seen: set[tuple[str, str]] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        kind: ProblemKind = "filter" if isinstance(node, nodes.Filter) else "test"
        known = _ENV.filters if kind == "filter" else _ENV.tests
        name = node.name
        if name in known or (kind, name) in seen:
            continue
        seen.add((kind, name))
        hint = did_you_mean(name, known)
        problems.append(TemplateProblem(node.lineno, f'unknown template {kind} "{name}"{hint}',
                                        kind, name))
    return problems


def _unknown_variables(tree: nodes.Template,
                       variables: tuple[str, ...]) -> list[TemplateProblem]:
    # A name the template reads but never sets (in a for loop, {% set %} or a macro) must
    # come from the context. Walking the tree is much cheaper than jinja2.meta, which
    # generates the template's code to find out.
    first_line: dict[str, int] = {}
    declared: set[str] = set()
    for name_node in tree.find_all(nodes.Name):
        if name_node.ctx == "load":
            first_line.setdefault(name_node.name, name_node.lineno)
        else:
            declared.add(name_node.name)
    undeclared = set(first_line) - declared
    allowed = _ALLOWED_NAMES if variables is CONTEXT_VARIABLES else (
        frozenset(variables) | frozenset(_ENV.globals) | _IMPLICIT_NAMES)
    problems: list[TemplateProblem] = []
    for name in sorted(undeclared - allowed, key=lambda n: (first_line.get(n, 0), n)):
        hint = did_you_mean(name, variables)
        message = f'unknown template variable "{name}"{hint}'
        problems.append(TemplateProblem(first_line.get(name), message, "variable", name))
    return problems


def _has_markup(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def check_template(text: str) -> list[tuple[int | None, str]]:
    """Problems of `text` as (line within the template or None, message)."""
    return [(p.line, p.message) for p in find_template_problems(text)]


@lru_cache(maxsize=4096)
def compile_template(text: str) -> Template:
    """Compile `text`; raises TemplateError on a syntax error or an unknown filter or test.

    Unknown variables are not fatal here (they render empty); `check_template` reports them.
    """
    for problem in find_template_problems(text):
        if problem.kind != "variable":
            raise TemplateError(problem.message, problem.line)
    if not _has_markup(text):
        return Template(text, None)
    try:
        return Template(text, _ENV.from_string(text))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {_lower_first(exc.message or '')}",
                            exc.lineno) from None
    except Exception as exc:
        raise TemplateError(f"template cannot be compiled: {_describe(exc)}") from None
