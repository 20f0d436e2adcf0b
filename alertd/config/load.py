"""Reading `alertd.yml`: YAML, then the models, with every problem reported at once.

Each problem is one line that names the file and the key path, as in
`alertd.yml: sources.mqtt.topics[0].qos: must be 0, 1 or 2, got 3`, or the place of a YAML
syntax error, as in `alertd.yml:3:5: invalid YAML: ...`. Pydantic's errors are turned into
these lines here, so its wording (and the rejected values, which may be secrets) never
reaches the user.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from typing import Annotated, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from alertd import yamlfile
from alertd.config.model import Config
from alertd.config.types import SECRET_KEYS, ValueChecks, describe, load_context
from alertd.errors import ConfigError
from alertd.suggest import did_you_mean

__all__ = ["config_problems", "load_config", "parse_config"]

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "mapping_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def load_config(path: str | None, env: Mapping[str, str] | None = None, *,
                checks: ValueChecks | None = None) -> Config:
    """The configuration in the file at `path`, or every default when `path` is None.

    `${NAME}` secrets are read from `env` (default: the process environment); values
    that need code this package does not import are checked with `checks` when given.
    Raises ConfigError whose message lists every problem, one per line.
    """
    if path is None:
        return Config()
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the file: {reason}") from None
    return parse_config(text, path, env=env, checks=checks)


def parse_config(text: str, path: str = "alertd.yml", *,
                 env: Mapping[str, str] | None = None,
                 checks: ValueChecks | None = None) -> Config:
    """The configuration in `text`, read from `path`: relative paths in it are relative to
    the directory of `path`, and messages name `path`."""
    data = _parse_yaml(text, path)
    if data is None:  # an empty file, or only comments
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {describe(data)}")
    context = load_context(os.path.dirname(os.path.abspath(path)),
                           os.environ if env is None else env, checks)
    try:
        return Config.model_validate(data, context=context)
    except ValidationError as exc:
        problems = config_problems(exc)
    # Raised outside the handler: pydantic's error, which quotes inputs, must not be chained.
    raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))


def config_problems(exc: ValidationError) -> list[str]:
    """`key.path: message` for each error of a validation of Config, in order, each once."""
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        key, model = _key_path(err["loc"])
        for message in _messages(err, model):
            line = f"{key}: {message}" if key else message
            if line not in problems:
                problems.append(line)
    return problems


def _parse_yaml(text: str, path: str) -> object:
    try:
        return yamlfile.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = exc.problem or exc.context or "syntax error"
        message = f"{where}: invalid YAML: {problem}"
    except yaml.YAMLError as exc:
        message = f"{path}: invalid YAML: {exc}"
    raise ConfigError(message)





def _key_path(loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None]:
    """The key path of `loc` as written in alertd.yml (`a.b[0].c`), and the model that
    holds its last key (None when the last step is a list item or a mapping entry)."""
    text = ""
    annotation: object = Config
    model: type[BaseModel] | None = None
    for step in loc:
        if step == "[key]":  # pydantic's mark for an error in a mapping's key
            continue
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        model = None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            field = _fields_by_key(annotation).get(str(step))
            annotation = field.annotation if field is not None else None
        elif origin is list:
            annotation = get_args(annotation)[0]
        elif origin is dict:
            annotation = get_args(annotation)[1]
        else:
            annotation = None
        if isinstance(step, int) and origin is list:
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text, model


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The fields of `model` by the key that names them in the file (`global`, not
    `global_`)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _unwrap(annotation: object) -> object:
    """The type inside Annotated[...] and `X | None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            kept = [a for a in get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                return annotation
            annotation = kept[0]
        else:
            return annotation


def _messages(err: ErrorDetails, model: type[BaseModel] | None) -> list[str]:
    kind = err["type"]
    loc = err["loc"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    secret = any(isinstance(step, str) and step in SECRET_KEYS for step in loc)
    if kind == "extra_forbidden":
        names = list(_fields_by_key(model)) if model is not None else []
        return ["unknown key" + did_you_mean(str(loc[-1]), names)]
    if kind == "invalid_key":
        return ["unknown key (keys are strings: quote it)"]
    if kind == "missing":
        return ["required key missing"]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]).splitlines()
    if loc and loc[-1] == "[key]":
        return [f"keys must be strings, got {describe(value)}"]
    if kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {describe(value, secret=secret)}"
        if kind == "string_type" and isinstance(value, int | float):
            message += "; quote it"
        return [message]
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        shown = describe(value, secret=True) if secret else str(value)
        return [f"must be {words} {ctx.get(name)}, got {shown}"]
    msg = err["msg"]
    return [msg[:1].lower() + msg[1:]]
