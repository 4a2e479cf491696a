#!/usr/bin/env python3
"""Runs every command of a guide and checks its exit code and output, so the guide cannot rot.

usage: tests/guide/check.py [GUIDE.md ...]   (default: docs/guide/*.md)

In a guide, a ```console block holds commands (lines starting with "$ ") each followed by the
output lines it must print. A command ending in "# exits N" must exit with N (0 otherwise).
The output lines shown must appear in the command's stdout+stderr in the same order (other
lines may come between them; "..." lines are only a visual marker). Lines are compared after
stripping surrounding whitespace; a shown line matches an output line that contains it.
Commands run with bash from the repository root, one after the other.
"""
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks(text):
    """Yields (line number, command, expected exit code, expected output lines)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```console":
            i += 1
            cmd = None
            while i < len(lines) and lines[i].strip() != "```":
                line = lines[i]
                if line.startswith("$ "):
                    if cmd:
                        yield cmd
                    c = line[2:]
                    m = re.search(r"\s+#\s*exits\s+(\d+)\s*$", c)
                    code = int(m.group(1)) if m else 0
                    if m:
                        c = c[: m.start()]
                    cmd = (i + 1, c.strip(), code, [])
                elif cmd and line.strip() != "...":
                    cmd[3].append(line.rstrip())
                i += 1
            if cmd:
                yield cmd
        i += 1


def check(path):
    failures = 0
    for lineno, cmd, code, expected in blocks(open(path, encoding="utf-8").read()):
        start = time.time()
        p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True)
        secs = time.time() - start
        out = (p.stdout + "\n" + p.stderr).splitlines()
        problems = []
        if p.returncode != code:
            problems.append(f"exit code {p.returncode}, the guide says {code}")
        j = 0
        for want in expected:
            while j < len(out) and want.strip() not in out[j]:
                j += 1
            if j == len(out):
                problems.append(f"output line not found (in order): {want!r}")
                break
            j += 1
        where = f"{os.path.relpath(path, ROOT)}:{lineno}"
        if problems:
            failures += 1
            print(f"FAIL {where}: {cmd} ({secs:.0f} s)")
            for pr in problems:
                print(f"     {pr}")
            print("     --- output ---")
            for line in out[-60:]:
                print(f"     | {line}")
        else:
            print(f"ok   {where}: {cmd} ({secs:.0f} s)")
    return failures


def main():
    os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)  # guides write traces there
    guides = sys.argv[1:] or sorted(glob.glob(os.path.join(ROOT, "docs", "guide", "*.md")))
    failures = sum(check(g) for g in guides)
    if failures:
        print(f"{failures} guide command(s) failed")
        sys.exit(1)
    print("every guide command ran as documented")


if __name__ == "__main__":
    main()
