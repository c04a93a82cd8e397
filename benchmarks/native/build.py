"""Build the native UPDATE decoder prototype (``update_decoder.c``) with the C compiler.

Usage: ``python -m benchmarks.native.build`` (from the repository root, with the
project virtualenv) builds ``benchmarks/native/update_decoder<EXT_SUFFIX>`` in
place. One direct compiler call with this interpreter's ``sysconfig`` settings
(its ``CC``, include directory and extension suffix), so no setuptools is needed.
The extension is benchmark material only: the ``nexthop`` package stays pure Python.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

__all__ = ["HERE", "MODULE", "SOURCE", "build", "load"]

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "update_decoder.c"
MODULE = "update_decoder"
FLAGS = ("-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing")


def build(out_dir: Path = HERE) -> Path:
    """Compile the extension into ``out_dir``; returns its path. Raises
    ``FileNotFoundError`` without a compiler, ``CalledProcessError`` on a build error."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = out_dir / f"{MODULE}{suffix}"
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    command = [*compiler, *FLAGS, f"-I{include}", str(SOURCE), "-o", str(target)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target


def load(path: Path) -> ModuleType:
    """Import the built extension from ``path`` (it needs ``nexthop`` importable)."""
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {path}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.native.build")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args(argv)
    try:
        target = build(args.out)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"build failed:\n{' '.join(exc.cmd)}\n{exc.stderr}") from None
    load(target)  # fail here, not in the benchmark, if the classes changed
    print(target)


if __name__ == "__main__":
    main()
