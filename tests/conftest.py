"""Fixtures shared by the kernel-model tests: the H100 SXM and its shipped profile."""
import pytest

from hardware.catalog import get_device
from hardware.perf import profile_for


@pytest.fixture(scope="module")
def h100():
    return get_device("h100-sxm")


@pytest.fixture(scope="module")
def prof(h100):
    return profile_for(h100)
