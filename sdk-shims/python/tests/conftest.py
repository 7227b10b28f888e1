"""Shared fixtures: a factory of real sidecars, stopped at the end of each test."""

from __future__ import annotations

import itertools
import sys
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

from fake_sidecar import FakeSidecar, Peer
from sidecar import Sidecar

SidecarFactory = Callable[..., Sidecar]
Script = Callable[[int, Peer], None]


@pytest.fixture
def fake() -> Iterator[Callable[[Script], FakeSidecar]]:
    """A factory of scripted fake sidecars, closed (and their failures raised) at the end."""
    made: List[FakeSidecar] = []

    def make(script: Script) -> FakeSidecar:
        made.append(FakeSidecar(script))
        return made[-1]

    yield make
    for sidecar in made:
        sidecar.close()


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
