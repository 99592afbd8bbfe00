#!/usr/bin/env python3
"""Every test a document cites as evidence exists: the `Suite.Name` names in backticks in the
threat-model table of docs/security.md and in docs/reliability.md must be defined by a TEST,
TEST_F, TEST_P or TYPED_TEST in tests/. usage: cited_tests.py SOURCE_DIR"""
import os
import re
import sys

root = sys.argv[1]
defined = set()
for d, _, files in os.walk(os.path.join(root, "tests")):
    for f in files:
        if f.endswith((".cc", ".h")):
            text = open(os.path.join(d, f), encoding="utf-8", errors="replace").read()
            for m in re.finditer(r"\b(?:TEST|TEST_F|TEST_P|TYPED_TEST)\(\s*(\w+)\s*,\s*(\w+)\s*\)", text):
                defined.add(m.group(1) + "." + m.group(2))
            for m in re.finditer(r"add_test\(NAME\s+([\w.]+)", text):
                defined.add(m.group(1))
for d, _, files in os.walk(os.path.join(root, "tests")):
    for f in files:
        if f == "CMakeLists.txt":
            for m in re.finditer(r"add_test\(NAME\s+([\w.]+)", open(os.path.join(d, f)).read()):
                defined.add(m.group(1))

missing = []
cited = 0
for doc in ("docs/security.md", "docs/reliability.md"):
    path = os.path.join(root, doc)
    if not os.path.exists(path):
        continue
    text = open(path, encoding="utf-8").read()
    # `Suite.Name`, `prefix.Suite.Name` (a ctest prefix), `Suite.*` (every test of a suite), or a
    # ctest name defined in a CMakeLists (`cli.refuses_planted_files`).
    for m in re.finditer(r"`((?:[a-z_]+\.)?[A-Z]\w+\.(?:[A-Z]\w+|\*)|[a-z_]+\.[a-z_]+)`", text):
        name = m.group(1)
        if name[0].islower() and name.split(".")[0] not in ("cli", "docs_reader", "soak", "drill", "fuzz"):
            name = name.split(".", 1)[1] if name.count(".") == 2 else name
        if name[0].islower() and name.split(".")[0] not in ("cli", "docs_reader", "soak", "drill", "fuzz"):
            continue
        cited += 1
        if name.endswith(".*"):
            ok = any(d.startswith(name[:-1]) for d in defined)
        else:
            ok = name in defined
        if not ok:
            missing.append(f"{doc}: {name}")
print(f"tests cited by docs: {cited}, defined in tests/: {cited - len(missing)}")
for m in missing:
    print("cited but not defined:", m)
sys.exit(1 if missing or cited == 0 else 0)
