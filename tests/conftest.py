"""Shared fixtures."""

import dataclasses
import sys

import pytest


@pytest.fixture
def tune(monkeypatch):
    """``tune(field=value, ...)``: the engine runs with these settings (optimizer.settings) for the
    rest of the test, in every module that reads them."""
    from optimizer import settings

    def apply(**changes):
        old = settings.SETTINGS
        new = dataclasses.replace(old, **changes)
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] == "optimizer" and getattr(module, "SETTINGS", None) is old:
                monkeypatch.setattr(module, "SETTINGS", new)

    return apply
