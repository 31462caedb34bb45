#!/usr/bin/env python3
"""check_layout.py SRC_DIR: the layering rules of docs/HACKING.md, checked.

1. A program's folder (src/engine, src/collect, src/cli, src/ins, src/chaff)
   includes headers of its own folder, src/common and src/proto only. The
   engine may use src/collect: moatd is built on the collection library.
   src/common includes nothing of moat but itself; src/proto only common/.
2. No include cycle between modules. A module is a .c and its .h (one
   prefix, one folder); a header-only .h is a module of its own. Module A
   depends on module B when A's .c or .h includes B's header.
3. No process-wide instance pointer in the engine: a file-scope
   `static struct X *name;` (module state lives in the engine's slots).

Prints every violation and exits 1 if there is one; prints a one-line
summary otherwise.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
INSTANCE = re.compile(r'^static\s+(?:const\s+)?struct\s+\w+\s*\*\s*\w+\s*(?:=[^;]*)?;', re.M)

# who may include whom, by top folder under src/
ALLOWED = {
    "common": {"common"},
    "proto": {"common", "proto"},
    "collect": {"collect", "common", "proto"},
    "engine": {"engine", "collect", "common", "proto"},
    "cli": {"cli", "common", "proto"},
    "ins": {"ins", "common", "proto"},
    "chaff": {"chaff", "common", "proto"},
}


def sources(src):
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(root, f), src)


def module_of(path):
    return os.path.splitext(path)[0]


def find_cycles(graph):
    """Tarjan's strongly connected components; returns those of size > 1
    and self-loops."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    errors = []
    graph = {}
    files = sorted(sources(src))
    known = set(files)
    for path in files:
        top = path.split(os.sep)[0]
        text = open(os.path.join(src, path), encoding="utf-8", errors="replace").read()
        mod = module_of(path)
        graph.setdefault(mod, set())
        for inc in INCLUDE.findall(text):
            itop = inc.split("/")[0]
            if inc not in known:
                continue        # a header beside the file (xdp_maps.h) or generated
            if itop not in ALLOWED.get(top, {top}):
                errors.append("%s: includes %s (another program's folder)" % (path, inc))
            dep = module_of(inc)
            if dep != mod:
                graph[mod].add(dep)
        if top == "engine" and path.endswith(".c"):
            for m in INSTANCE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                errors.append("%s:%d: process-wide instance pointer: %s" % (path, line, m.group(0)))
    for comp in find_cycles(graph):
        errors.append("include cycle between modules: " + " -> ".join(comp))
    for e in errors:
        print(e)
    if errors:
        print("layout: %d violation(s)" % len(errors))
        return 1
    print("layout: %d files, %d modules, no cross-program include, no cycle, no instance pointer"
          % (len(files), len(graph)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
