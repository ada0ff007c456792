"""Loading a YAML mapping file into a pydantic model; errors name the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from courierd.domain.errors import MappingError

M = TypeVar("M", bound=BaseModel)


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def describe_validation_error(path: Path, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        key = _key_path(tuple(error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a key this mapping knows (misspelt?)"
        elif error["type"] == "missing":
            message = "is required"
        problems.append(f"{path}: key {key!r} {message}")
    return problems


def load_mapping(path: Path, model: type[M]) -> M:
    """Parse and validate `path`; raises MappingError naming the file and each bad key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MappingError(path, [f"{path}: the mapping file does not exist"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(path, [f"{path}: the mapping file cannot be read: {exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(path, [f"{path}: not valid YAML{where}: {problem}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(path, [f"{path}: the top level must be a mapping of keys"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MappingError(path, describe_validation_error(path, exc)) from None
