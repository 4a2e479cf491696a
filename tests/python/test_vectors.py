"""Runs run_vectors.py's checks on the repository's vector files."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run_vectors  # noqa: E402


class VectorTests(unittest.TestCase):
    def test_every_shared_test_vector_passes(self):
        files = run_vectors.default_files()
        runner = run_vectors.Runner(verbose=False)
        for path in files:
            self.assertTrue(runner.file(path), f"{path}: unknown format")
        failed = {p: f for p, (_, f) in runner.counts.items() if f}
        self.assertEqual(failed, {})
        self.assertGreater(sum(p for p, _ in runner.counts.values()), 0)


if __name__ == "__main__":
    unittest.main()
