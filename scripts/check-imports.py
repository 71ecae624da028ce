#!/usr/bin/env python3
"""Finds import cycles between the files of runtime/src and codegen/src.

A file is a module (`a/b.rs` or `a/b/mod.rs`; `lib.rs` is the crate root). A path to a crate
item (`use crate::a::b::{X, Y}`, `super::b::X`, `crate::a::b::X::new()` in code, or a child
module's name in lib.rs and mod.rs) makes an edge from the file to the file defining it: the
longest prefix of the path that is a module file, or, when the next name is one that file
re-exports (`pub use`, `pub(crate) use`), wherever that re-export leads. A file's own `pub use`
re-exports are no edges unless it uses the name itself; `mod x;` is none either. `#[cfg(test)]`
items and self-edges are left out. Exits 1 when there is a cycle.

Usage: scripts/check-imports.py [--graph] [SRC_DIR ...]   (default: runtime/src codegen/src)
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
USE = re.compile(r"\b((?:pub(?:\s*\([^)]*\))?\s+)?)use\s+([^;]+);")
INLINE = re.compile(rf"\b(?:crate|super|self|{IDENT})(?:\s*::\s*{IDENT})+")
MOD_DECL = re.compile(rf"\b(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+{IDENT}\s*;")
EXTERNAL = "external"  # a re-export of another crate's item


def strip(text):
    """The code with comments, string and char literals blanked out."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                depth += text.startswith("/*", i) - text.startswith("*/", i)
                i += 2 if text.startswith(("/*", "*/"), i) else 1
        elif m := re.compile(r'b?r(#*)"').match(text, i):
            if i and (text[i - 1].isalnum() or text[i - 1] == "_"):
                out.append(text[i])
                i += 1
                continue
            end = text.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif m := re.compile(r"'(\\.[^']*|[^\\'])'").match(text, i):
            i = m.end()
            out.append("' '")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def drop_test_items(code):
    """The code without `#[cfg(test)]` items (up to their `;` or matching `}`)."""
    while (start := code.find("#[cfg(test)]")) >= 0:
        i = start + len("#[cfg(test)]")
        while i < len(code) and code[i] not in "{;":
            i += 1
        depth = 0
        while i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0 and code[i] in "};":
                break
            i += 1
        code = code[:start] + code[i + 1 :]
    return code


def use_paths(tree, prefix=()):
    """(path, alias) for each leaf of a use tree, e.g. `a::{b, c as d}`."""
    tree = tree.strip()
    if tree.endswith("}"):
        head, _, body = tree.partition("{")
        head = tuple(s.strip() for s in head.split("::") if s.strip())
        parts, depth, start = [], 0, 0
        for i, ch in enumerate(body[:-1]):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                parts.append(body[start:i])
                start = i + 1
        parts.append(body[start:-1])
        return [leaf for part in parts if part.strip() for leaf in use_paths(part, prefix + head)]
    path, _, alias = tree.partition(" as ")
    segs = prefix + tuple(s.strip() for s in path.split("::"))
    if segs[-1] == "self":
        segs = segs[:-1]
    return [(segs, alias.strip() or segs[-1])]


class Crate:
    def __init__(self, src):
        self.src, self.modules, self.code, self.uses = src, {}, {}, {}
        for file in sorted(src.rglob("*.rs")):
            rel = file.relative_to(src)
            if rel.parts[0] == "bin" or rel.name == "main.rs":
                continue
            parts = rel.with_suffix("").parts
            mod = parts[:-1] if rel.name in ("mod.rs", "lib.rs") else parts
            code = drop_test_items(strip(file.read_text()))
            self.modules[mod] = rel.as_posix()
            # (public, outside any inline `mod x { }`, the use's leaves)
            self.uses[mod] = [
                (bool(m.group(1)), code.count("{", 0, m.start()) == code.count("}", 0, m.start()), use_paths(m.group(2)))
                for m in USE.finditer(code)
            ]
            self.code[mod] = MOD_DECL.sub(";", USE.sub(";", code))
        self.reexports = {
            mod: {
                alias: self.absolute(mod, path) or EXTERNAL
                for public, top, leaves in uses
                if public and top
                for path, alias in leaves
            }
            for mod, uses in self.uses.items()
        }

    def absolute(self, mod, segs):
        """`segs` as a path from the crate root, or None for another crate's."""
        if segs[0] == "crate":
            return segs[1:]
        if segs[0] in ("self", "super"):
            base = list(mod)
            while segs and segs[0] in ("self", "super"):
                base = base[:-1] if segs[0] == "super" else base
                segs = segs[1:]
            return tuple(base) + segs
        return mod + segs if mod + segs[:1] in self.modules else None

    def resolve(self, segs, seen=()):
        """The file defining the item at `segs` (a path from the crate root)."""
        k = max(k for k in range(len(segs) + 1) if segs[:k] in self.modules)
        mod = segs[:k]
        target = self.reexports[mod].get(segs[k]) if k < len(segs) else None
        if target is None:
            return self.modules[mod]
        if target == EXTERNAL or target in seen:
            return None
        return self.resolve(target + segs[k + 1 :], seen + (target,))

    def edges(self):
        graph = {}
        for mod, file in self.modules.items():
            deps, code = set(), self.code[mod]
            for public, _, leaves in self.uses[mod]:
                for segs, alias in leaves:
                    used_here = not public or re.search(rf"\b{re.escape(alias)}\b", code)
                    if used_here and segs and (path := self.absolute(mod, segs)) is not None:
                        deps.add(self.resolve(path))
            for m in INLINE.finditer(code):
                segs = tuple(s.strip() for s in m.group(0).split("::"))
                if (path := self.absolute(mod, segs)) is not None:
                    deps.add(self.resolve(path))
            graph[file] = sorted(deps - {file, None})
        return graph


def cycles(graph):
    """Every elementary cycle, each once, starting at its smallest file."""
    found = []

    def walk(start, node, path):
        for nxt in graph.get(node, []):
            if nxt == start:
                found.append(path + [start])
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return found


def main(args):
    show_graph = "--graph" in args
    dirs = [a for a in args if a != "--graph"] or ["runtime/src", "codegen/src"]
    root = Path(__file__).resolve().parent.parent
    failed = False
    for d in dirs:
        path = root / d if not Path(d).is_absolute() else Path(d)
        if not (path / "lib.rs").is_file():
            # Checking nothing must not pass.
            print(f"{d}: no crate here ({path / 'lib.rs'} is missing)", file=sys.stderr)
            return 2
        graph = Crate(path).edges()
        if show_graph:
            for file, deps in sorted(graph.items()):
                for dep in deps:
                    print(f"{d}: {file} -> {dep}")
        for cycle in cycles(graph):
            failed = True
            print(f"{d}: cycle: {' -> '.join(cycle)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
