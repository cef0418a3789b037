#!/usr/bin/env python3
"""What is in the wasm bundle: the biggest functions and data, and the size per crate.

    scripts/wasm-top.py FILE.wasm [--top N]

FILE.wasm must still carry its `name` section: `make wasm-top` builds one the way the shipped
bundle is built (same cargo profile, wasm-bindgen, wasm-opt -Oz) but with `-g`, which keeps
the names and leaves the code the same. Sizes are bytes of the code section's function bodies
(what twiggy calls shallow size) and of the data segments; the section table shows where the
rest of the file goes. Names are demangled Rust paths; the crate is the first path segment
(`<T as core::fmt::Debug>::fmt` is counted under the crate of the trait's implementor).
"""

import re
import sys
from collections import Counter


def leb128(data, offset):
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, offset


def sections(data):
    if data[:4] != b"\0asm":
        sys.exit("not a wasm file")
    offset = 8
    while offset < len(data):
        section_id = data[offset]
        size, start = leb128(data, offset + 1)
        yield section_id, data[start : start + size]
        offset = start + size


def name_of(payload):
    length, offset = leb128(payload, 0)
    return payload[offset : offset + length].decode("utf-8", "replace"), offset + length


def imported_function_count(payload):
    count, offset = leb128(payload, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module, field
            length, offset = leb128(payload, offset)
            offset += length
        kind = payload[offset]
        offset += 1
        if kind == 0:  # function: type index
            functions += 1
            _, offset = leb128(payload, offset)
        elif kind == 1:  # table: elem type, limits
            offset += 1
            flags, offset = leb128(payload, offset)
            _, offset = leb128(payload, offset)
            if flags & 1:
                _, offset = leb128(payload, offset)
        elif kind == 2:  # memory: limits
            flags, offset = leb128(payload, offset)
            _, offset = leb128(payload, offset)
            if flags & 1:
                _, offset = leb128(payload, offset)
        elif kind == 3:  # global: type, mutability
            offset += 2
        elif kind == 4:  # tag
            offset += 1
            _, offset = leb128(payload, offset)
    return functions


def function_bodies(payload):
    count, offset = leb128(payload, 0)
    sizes = []
    for _ in range(count):
        size, body = leb128(payload, offset)
        sizes.append(body + size - offset)
        offset = body + size
    return sizes


def data_segments(payload):
    count, offset = leb128(payload, 0)
    sizes = []
    for _ in range(count):
        start = offset
        flags, offset = leb128(payload, offset)
        if flags == 2:
            _, offset = leb128(payload, offset)
        if flags in (0, 2):  # active: an init expression ending in `end` (0x0b)
            offset = payload.index(b"\x0b", offset) + 1
        length, offset = leb128(payload, offset)
        offset += length
        sizes.append(offset - start)
    return sizes


def function_names(payload):
    names = {}
    offset = 0
    while offset < len(payload):
        kind = payload[offset]
        size, start = leb128(payload, offset + 1)
        if kind == 1:
            count, cursor = leb128(payload, start)
            for _ in range(count):
                index, cursor = leb128(payload, cursor)
                length, cursor = leb128(payload, cursor)
                names[index] = payload[cursor : cursor + length].decode("utf-8", "replace")
                cursor += length
        offset = start + size
    return names


SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "data count"}


def crate_of(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    name = re.sub(r"\[[0-9a-f]{16}\]", "", name)  # `core[c5930c85a12de822]::fmt` → `core::fmt`
    if name.endswith("externref shim") or name.startswith("__wbg") or name.startswith("__wbindgen"):
        return "(wasm-bindgen glue and island entry points)"
    if re.match(r"^<?(f32|f64|u8|u16|u32|u64|i32|i64|usize|isize|char|str|bool)\b", name):
        return "core"  # primitives' impls live in core
    # `<a::B as c::D>::f` belongs to a (the implementor); `<&T as …>` to T.
    inner = re.match(r"^<+&?(?:mut |dyn )?([A-Za-z_][A-Za-z0-9_]*)", name)
    if inner:
        return inner.group(1)
    head = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)::", name)
    return head.group(1) if head else "(other: " + name.split("::")[0][:24] + ")"


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    top = 20
    if "--top" in args:
        top = int(args[args.index("--top") + 1])
    data = open(args[0], "rb").read()
    imported = 0
    bodies, segments, names = [], [], {}
    section_sizes = Counter()
    for section_id, payload in sections(data):
        label = SECTION_NAMES.get(section_id, str(section_id))
        if section_id == 0:
            custom, _ = name_of(payload)
            label = f"custom {custom}"
            if custom == "name":
                names = function_names(payload[name_of(payload)[1] :])
        elif section_id == 2:
            imported = imported_function_count(payload)
        elif section_id == 10:
            bodies = function_bodies(payload)
        elif section_id == 11:
            segments = data_segments(payload)
        section_sizes[label] += len(payload)
    if not names:
        sys.exit("no name section: build with names kept (make wasm-top)")
    total = len(data)
    print(f"{args[0]}: {total:,} bytes, {len(bodies):,} functions, {len(segments)} data segments")
    print("\nsections:")
    for label, size in section_sizes.most_common():
        print(f"  {size:>10,}  {100 * size / total:5.1f} %  {label}")
    items = [(size, re.sub(r"\[[0-9a-f]{16}\]|::h[0-9a-f]{16}$", "",
                           names.get(imported + i, f"func[{imported + i}]")))
             for i, size in enumerate(bodies)]
    items += [(size, f"data[{i}]") for i, size in enumerate(segments)]
    items.sort(reverse=True)
    print(f"\ntop {top} items (shallow bytes):")
    for size, name in items[:top]:
        shown = name if len(name) <= 110 else name[:107] + "..."
        print(f"  {size:>8,}  {100 * size / total:5.2f} %  {shown}")
    per_crate = Counter()
    for size, name in items:
        per_crate["(data segments)" if name.startswith("data[") else crate_of(name)] += size
    print(f"\ntop {top} crates (code + data, bytes):")
    for crate, size in per_crate.most_common(top):
        print(f"  {size:>8,}  {100 * size / total:5.1f} %  {crate}")


if __name__ == "__main__":
    main()
