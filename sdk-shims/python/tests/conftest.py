"""Shared fixtures: a factory of real sidecars, stopped at the end of each test."""

from __future__ import annotations

import itertools
import sys
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from sidecar import Sidecar

SidecarFactory = Callable[..., Sidecar]


@pytest.fixture
def start_sidecar() -> Iterator[SidecarFactory]:
    # A short private directory of our own: socket paths must stay under 108 bytes.
    work = Path(tempfile.mkdtemp(prefix="axpy-"))
    started: List[Sidecar] = []
    counter = itertools.count()

    def start(
        secrets: Dict[str, object],
        overrides: Optional[Dict[str, object]] = None,
        token: Optional[str] = None,
    ) -> Sidecar:
        sidecar = Sidecar(work / f"s{next(counter)}", secrets, overrides, token)
        started.append(sidecar)
        sidecar.start()
        return sidecar

    try:
        yield start
    finally:
        for sidecar in started:
            sidecar.stop()
        shutil.rmtree(work, ignore_errors=True)


# The conformance program is imported by the mock tests to run the scenarios in process.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conformance"))
