#!/usr/bin/env python3
"""Checks the shape of the source tree (issue #21): no import circles between modules, and no
file in server/src over MAX_LINES lines unless ARCHITECTURE.md's "Large files" section names
it with a reason (a line "- `server/src/…`: why").

A module is a source file (`a/b.rs` or `a/b/mod.rs` is `a::b`). Module A depends on module B
when A names a path into B: `crate::b::…`, `super::…` or a `use` of either. A module naming its
own ancestor or descendant does not count: a parent declares its children and children read
their parent's shared items by design; what the check is for is siblings (and cousins) that
need each other, where neither can be understood or tested below the other.

Usage: scripts/structure.py app/src server/src   (exit 1 when a check fails)
"""
import re
import sys
from pathlib import Path

MAX_LINES = 900
SIZE_CHECKED_ROOT = "server/src"
LARGE_FILE_RE = re.compile(r"^- `(server/src/[^`]+)`: \S", re.M)

PATH_RE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\}", re.S)
COMMENT_RE = re.compile(r"//[^\n]*")


def module_of(root: Path, file: Path) -> tuple:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def resolve(modules: set, base: tuple, segments: list) -> tuple:
    """The longest known module that `base::segments` reaches into."""
    best = base
    path = list(base)
    for segment in segments:
        path.append(segment)
        if tuple(path) in modules:
            best = tuple(path)
    return best


def is_file_module_of(file: Path) -> bool:
    return file.name not in ("mod.rs", "lib.rs", "main.rs")


def dependencies(root: Path, modules: set, file: Path) -> set:
    me = module_of(root, file)
    text = COMMENT_RE.sub("", file.read_text())
    found = set()

    def add(kind: str, tail: str):
        segments = [s for s in tail.split("::") if s]
        if kind == "crate":
            base = ()
        else:
            base = me[:-1]
            while segments and segments[0] == "super":
                segments.pop(0)
                base = base[:-1]
        found.add(resolve(modules, base, segments))

    for kind, tail in PATH_RE.findall(text):
        add(kind, tail)
    for kind, prefix, group in USE_GROUP_RE.findall(text):
        for item in re.split(r"[,\s]+", group):
            head = item.split("::")[0].strip("{} ")
            if head and head not in ("self",):
                add(kind, prefix + "::" + head)
    return {d for d in found if not related(me, d)}


def related(a: tuple, b: tuple) -> bool:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[: len(shorter)] == shorter


def strongly_connected(graph: dict) -> list:
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in list(graph):
        if node not in index:
            visit(node)
    return result


def oversized_files(root_arg: str) -> list:
    architecture = Path(__file__).resolve().parent.parent / "ARCHITECTURE.md"
    allowed = set(LARGE_FILE_RE.findall(architecture.read_text())) if architecture.exists() else set()
    found = []
    for file in sorted(Path(root_arg).rglob("*.rs")):
        lines = len(file.read_text().splitlines())
        if lines > MAX_LINES and file.as_posix() not in allowed:
            found.append((file.as_posix(), lines))
    return found


def main() -> int:
    circles = 0
    too_long = 0
    for root_arg in sys.argv[1:] or ["app/src", "server/src"]:
        root = Path(root_arg)
        files = sorted(root.rglob("*.rs"))
        modules = {module_of(root, f) for f in files}
        graph = {}
        for file in files:
            graph.setdefault(module_of(root, file), set()).update(dependencies(root, modules, file))
        for component in strongly_connected(graph):
            circles += 1
            names = ["::".join(m) or "crate" for m in component]
            print(f"{root_arg}: circle between {', '.join(names)}")
            for module in component:
                needs = sorted("::".join(d) for d in graph[module] if d in component)
                print(f"    {'::'.join(module)} uses {', '.join(needs)}")
        if root_arg.rstrip("/") == SIZE_CHECKED_ROOT:
            for name, lines in oversized_files(SIZE_CHECKED_ROOT):
                too_long += 1
                print(f"{name}: {lines} lines (over {MAX_LINES}; split it by job, or say why in ARCHITECTURE.md's Large files)")
    if circles == 0:
        print("no import circles")
    if too_long == 0:
        print(f"no file in {SIZE_CHECKED_ROOT} over {MAX_LINES} lines but those ARCHITECTURE.md explains")
    return 1 if circles or too_long else 0


if __name__ == "__main__":
    sys.exit(main())
