"""The load-tests/ scripts as modules (the directory's name is not importable)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LOAD_TESTS = Path(__file__).resolve().parents[2] / "load-tests"


def load(name: str) -> ModuleType:
    """Import ``load-tests/<name>.py`` (once; later calls return the same module)."""
    module_name = f"vigil_load_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, LOAD_TESTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
