import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here rather than in pyproject.toml: only the deploy tests use it. Slow tests still run
    # by default (CI keeps them); deselect with -m "not slow" for a quick pass.
    config.addinivalue_line("markers", "slow: takes tens of seconds (e.g. builds a venv)")
