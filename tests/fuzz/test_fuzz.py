"""The fuzz targets (``fuzz/``): a bounded coverage-guided run of each in CI, and
every finding kept in ``tests/fuzz/findings/`` replayed as a regression test.

A target raises only on a finding (``fuzz/targets.py`` says what is documented
behaviour); atheris exits non-zero and writes the input on one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FINDINGS = Path(__file__).parent / "findings"
SMOKE_RUNS = 20_000

sys.path.insert(0, str(ROOT))
from fuzz.seeds import seeds  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402


def _atheris() -> bool:
    try:
        import atheris  # noqa: F401, PLC0415
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        return False
    return True


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_seed_is_handled(target: str) -> None:
    """The real messages the fuzzers start from are themselves no finding."""
    for seed in seeds():
        TARGETS[target](seed)


@pytest.mark.parametrize("finding", sorted(p.name for p in FINDINGS.glob("*-*")))
def test_past_findings_stay_fixed(finding: str) -> None:
    data = (FINDINGS / finding).read_bytes()
    for target in TARGETS.values():  # a finding of one target must not hide in another
        target(data)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_bounded_fuzz_run_finds_nothing(target: str, tmp_path: Path) -> None:
    if not _atheris():
        pytest.skip("atheris is not installed (pip install atheris; CI installs it)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i:04d}").write_bytes(seed)
    command = [
        sys.executable,
        "-c",
        "import sys; from fuzz.run import run; run(sys.argv[1:])",
        target,
        f"-runs={SMOKE_RUNS}",
        "-max_len=8192",
        "-seed=1",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0, f"{target}: {crashes}\n{done.stderr[-3000:]}"
    assert "Done " in done.stderr or "DONE" in done.stderr
