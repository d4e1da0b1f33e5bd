"""The one error tree: every error kind of every package is a SohoaError, and codes map to one HTTP status
and one exit code each, in one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from api.console import EXIT_INFRASTRUCTURE, EXIT_NOTHING_RAN, exit_code
from api.errors import http_status
from errors import INTERNAL, SohoaError, error_code, error_message
from ocr.errors import InputError
from storage.errors import StorageUnavailable

PACKAGES = ("ingest", "ocr", "classifiers", "storage", "api")


def _modules() -> list[ModuleType]:
    modules = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if info.name.startswith("storage.migrations."):
                continue  # Alembic's scripts run only inside a migration
            modules.append(importlib.import_module(info.name))
    return modules


MODULES = _modules()


def _error_kinds() -> list[type[BaseException]]:
    kinds = []
    for module in MODULES:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                kinds.append(value)
    return kinds


def _codes() -> dict[str, str]:
    """Every code constant the packages' `errors` modules define: NAME → code."""
    codes = {}
    for module in MODULES:
        if not module.__name__.endswith("errors"):
            continue
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and "." in value and " " not in value:
                codes[f"{module.__name__}.{name}"] = value
    return codes


def test_every_error_kind_of_every_package_is_a_sohoa_error() -> None:
    kinds = _error_kinds()
    assert len(kinds) >= 10  # the walk found the packages' errors, not nothing
    strays = [f"{kind.__module__}.{kind.__qualname__}" for kind in kinds if not issubclass(kind, SohoaError)]
    assert strays == []


def test_every_code_is_family_dot_reason_and_has_an_error_status() -> None:
    codes = _codes()
    assert len(codes) >= 30
    for name, code in codes.items():
        head, _, reason = code.partition(".")
        assert head.isidentifier() and reason.replace("_", "").isalnum(), name
        assert 400 <= http_status(code) <= 599, name
        assert exit_code(code) in (EXIT_INFRASTRUCTURE, EXIT_NOTHING_RAN), name


@pytest.mark.parametrize(
    ("code", "status", "exit"),
    [
        ("auth.required", 401, EXIT_NOTHING_RAN),
        ("auth.forbidden", 403, EXIT_NOTHING_RAN),
        ("document.not_found", 404, EXIT_NOTHING_RAN),
        ("batch.not_found", 404, EXIT_NOTHING_RAN),
        ("storage.not_found", 404, EXIT_INFRASTRUCTURE),
        ("input.too_large", 413, EXIT_NOTHING_RAN),
        ("input.too_many_files", 413, EXIT_NOTHING_RAN),
        ("input.unreadable", 422, EXIT_NOTHING_RAN),
        ("input.bad_dossier_code", 422, EXIT_NOTHING_RAN),
        ("manifest.missing_column", 422, EXIT_NOTHING_RAN),
        ("review.bad_field", 422, EXIT_NOTHING_RAN),
        ("review.busy", 409, EXIT_NOTHING_RAN),
        ("document.not_ready", 409, EXIT_NOTHING_RAN),
        ("document.not_withdrawn", 409, EXIT_NOTHING_RAN),
        ("unit.exists", 409, EXIT_NOTHING_RAN),
        ("storage.unavailable", 503, EXIT_INFRASTRUCTURE),
        ("processing.retry_later", 503, EXIT_INFRASTRUCTURE),
        ("ocr.unavailable", 503, EXIT_INFRASTRUCTURE),
        ("storage.corrupt", 500, EXIT_INFRASTRUCTURE),
        ("audit.broken", 500, EXIT_INFRASTRUCTURE),
        ("catalog.invalid", 422, EXIT_INFRASTRUCTURE),
        ("model.invalid", 422, EXIT_NOTHING_RAN),
        (INTERNAL, 500, EXIT_INFRASTRUCTURE),
    ],
)
def test_codes_map_to_one_http_status_and_one_exit_code(code: str, status: int, exit: int) -> None:
    assert (http_status(code), exit_code(code)) == (status, exit)


def test_a_more_precise_code_stays_in_its_kind_and_anything_else_is_internal() -> None:
    precise = InputError("the file is empty", code="input.empty")
    assert (error_code(precise), error_message(precise)) == ("input.empty", "the file is empty")
    assert error_code(StorageUnavailable("S3 is down")) == "storage.unavailable"
    assert error_code(ValueError("a bug")) == INTERNAL
    assert error_message(ValueError("two\n  lines")) == "two lines"
