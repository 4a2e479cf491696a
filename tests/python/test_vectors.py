"""Runs run_vectors.py's checks on every vector file found (skipped when none is present)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run_vectors  # noqa: E402


class VectorTests(unittest.TestCase):
    def test_every_shared_test_vector_passes(self):
        files = run_vectors.default_files()
        if not files:
            self.skipTest("no vector files")
        runner = run_vectors.Runner(verbose=False)
        for path in files:
            import json
            with open(path) as fh:
                d = json.load(fh)
            fmt = d.get("format", "")
            if fmt.startswith("gossip-vectors/wire/"):
                runner.wire(path, d)
            elif fmt.startswith("gossip-vectors/deltas/"):
                runner.deltas(path, d)
            elif fmt.startswith("gossip-security-vectors/"):
                runner.security(path, d)
        failed = {p: f for p, (_, f) in runner.counts.items() if f}
        self.assertEqual(failed, {})
        self.assertGreater(sum(p for p, _ in runner.counts.values()), 0)


if __name__ == "__main__":
    unittest.main()
