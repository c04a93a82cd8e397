"""``python -m fuzz.run TARGET [libFuzzer options] [CORPUS]``: run one fuzz target
with atheris (coverage-guided, libFuzzer's engine).

Without a corpus folder, the corpus is ``fuzz/corpus/TARGET``, started from
``fuzz.seeds`` when empty, and grows there; findings go to ``fuzz/findings/``.
libFuzzer options pass through (``-runs=N``, ``-max_total_time=S``,
``-max_len=N``). A finding is written as ``crash-…`` and the process exits
non-zero; each finding becomes a regression input in ``tests/fuzz/findings/``
(docs/reliability.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["nexthop"]):
    from fuzz.targets import TARGETS

from fuzz.seeds import seeds

HERE = Path(__file__).parent


def run(argv: list[str]) -> None:
    if not argv or argv[0] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.run {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    name, rest = argv[0], argv[1:]
    if not any(not a.startswith("-") for a in rest):  # no corpus folder given
        corpus = HERE / "corpus" / name
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for i, seed in enumerate(seeds()):
                (corpus / f"seed-{i:04d}").write_bytes(seed)
        findings = HERE / "findings"
        findings.mkdir(exist_ok=True)
        rest = [*rest, f"-artifact_prefix={findings}/{name}-", str(corpus)]
    atheris.Setup([sys.argv[0], *rest], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    run(sys.argv[1:])
