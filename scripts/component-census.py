#!/usr/bin/env python3
"""Counts what instantiating a WebAssembly component creates: core instances,
linear memories and tables (those its core modules define, per instantiation).

    scripts/component-census.py target/plugins/wasm32-wasip2/release/*.wasm

The numbers behind cam's per-component limits (host/src/runtime/wasm_limits.rs)
come from this script run over the example plugins in Rust, JavaScript and
Python. Standard library only; nested components are counted once each.
"""

import sys


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def name(data, pos):
    length, pos = leb(data, pos)
    return data[pos:pos + length], pos + length


def sections(data, pos, end):
    while pos < end:
        section_id = data[pos]
        size, pos = leb(data, pos + 1)
        yield section_id, pos, pos + size
        pos += size


def module_counts(data, start, end):
    """Memories and tables a core module defines (imports not counted)."""
    memories = tables = 0
    for section_id, pos, _ in sections(data, start + 8, end):
        if section_id == 5:
            memories, _ = leb(data, pos)
        elif section_id == 4:
            tables, _ = leb(data, pos)
    return memories, tables


def component_counts(data, start, end):
    modules = []
    instances = memories = tables = 0
    for section_id, pos, section_end in sections(data, start + 8, end):
        if section_id == 1:
            modules.append(module_counts(data, pos, section_end))
        elif section_id == 4:
            nested = component_counts(data, pos, section_end)
            instances += nested[0]
            memories += nested[1]
            tables += nested[2]
        elif section_id == 2:
            count, pos = leb(data, pos)
            for _ in range(count):
                kind = data[pos]
                pos += 1
                if kind == 0x00:
                    module, pos = leb(data, pos)
                    args, pos = leb(data, pos)
                    for _ in range(args):
                        _, pos = name(data, pos)
                        pos += 1  # sort: instance
                        _, pos = leb(data, pos)
                    instances += 1
                    if module < len(modules):
                        memories += modules[module][0]
                        tables += modules[module][1]
                else:
                    exports, pos = leb(data, pos)
                    for _ in range(exports):
                        _, pos = name(data, pos)
                        pos += 1  # core sort
                        _, pos = leb(data, pos)
    return instances, memories, tables


def main(paths):
    print(f"{'component':40} {'bytes':>10} {'core instances':>15} {'memories':>9} {'tables':>7}")
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"\0asm" or data[6:8] != b"\x01\x00":
            print(f"{path}: not a component", file=sys.stderr)
            continue
        instances, memories, tables = component_counts(data, 0, len(data))
        label = path.rsplit("/", 1)[-1]
        print(f"{label:40} {len(data):>10} {instances:>15} {memories:>9} {tables:>7}")


if __name__ == "__main__":
    main(sys.argv[1:])
