"""Compiled workflow modules kept in memory for the sandbox.

The workflow sandbox imports each workflow's module afresh for every new workflow instance (each
new project, each replay after a cache eviction). Python reads that module's bytecode from
`__pycache__` when it can; with PYTHONDONTWRITEBYTECODE (set in the image) there is none, so every
instance compiled `workflows/project.py` from source again: about 6 ms of the worker's CPU per
new project. This finder hands the import machinery the same module, loaded from a code object
compiled once. The module body still runs for each instance, as the sandbox requires; only the
compilation is shared, so workflow behaviour is unchanged.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from types import CodeType, ModuleType
from typing import ClassVar


class CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """A source loader that compiles each file once per process (again only if the file changes)."""

    compiled: ClassVar[dict[tuple[str, int], CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        key = (path, os.stat(path).st_mtime_ns)
        code = self.compiled.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is None:
                raise ImportError(f"no code for {fullname}", name=fullname)
            self.compiled[key] = code
        return code


class CachedModuleFinder:
    """A meta-path finder for the named modules only; every other import goes on as usual."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is None or found.origin is None or not found.origin.endswith(".py"):
            return None
        loader = CachedSourceLoader(fullname, found.origin)
        return importlib.util.spec_from_file_location(fullname, found.origin, loader=loader)


def cache_workflow_code(workflows: Iterable[type]) -> None:
    """Compile the modules defining these workflow classes once, for every sandboxed import of them."""
    names = {cls.__module__ for cls in workflows}
    if not any(isinstance(f, CachedModuleFinder) and f.names >= names for f in sys.meta_path):
        sys.meta_path.insert(0, CachedModuleFinder(names))
