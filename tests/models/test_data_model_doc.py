"""docs/data-model.md documents every model of ``vigil.models``, field by field."""

import re
from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import BaseModel

import vigil.models

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"

MODELS = sorted(
    (
        obj
        for name in vigil.models.__all__
        if isinstance(obj := getattr(vigil.models, name), type)
        and issubclass(obj, BaseModel)
        and obj is not vigil.models.StrictModel
    ),
    key=lambda model: model.__name__,
)
ENUMS = [
    obj
    for name in vigil.models.__all__
    if isinstance(obj := getattr(vigil.models, name), type) and issubclass(obj, StrEnum)
]


def _documented_fields() -> dict[str, list[str]]:
    """``### Model`` heading -> the backticked names in the first column of its table."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = re.fullmatch(r"### (\w+)", line)
            current = sections.setdefault(heading.group(1), []) if heading else None
        elif current is not None and (cell := re.match(r"\| `(\w+)` \|", line)):
            current.append(cell.group(1))
    return sections


def test_the_models_are_found() -> None:
    assert len(MODELS) >= 20
    assert len(ENUMS) >= 8


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    """Each model has a ``### Name`` section whose table lists exactly its fields."""
    sections = _documented_fields()
    assert model.__name__ in sections, f"add a '### {model.__name__}' section to {DOC.name}"
    documented = sections[model.__name__]
    fields = list(model.model_fields)
    missing = [field for field in fields if field not in documented]
    stale = [field for field in documented if field not in fields]
    assert missing == [], f"{model.__name__}: document these fields in {DOC.name}"
    assert stale == [], f"{model.__name__}: these documented fields do not exist"
    assert len(documented) == len(set(documented)), f"{model.__name__}: a field is listed twice"


@pytest.mark.parametrize("enum", ENUMS, ids=lambda enum: enum.__name__)
def test_every_enum_value_is_documented(enum: type[StrEnum]) -> None:
    text = DOC.read_text()
    missing = [member.value for member in enum if f"`{member.value}`" not in text]
    assert missing == [], f"{enum.__name__}: document these values in {DOC.name}"
