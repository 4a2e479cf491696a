"""Interop over real UDP with the Rust `gossipd` (skipped unless GOSSIPD names its binary):

    GOSSIPD=target/release/gossipd python3 -m unittest tests/python/test_interop.py
"""
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GOSSIPD = os.environ.get("GOSSIPD")


@unittest.skipUnless(GOSSIPD and os.path.exists(GOSSIPD), "set GOSSIPD to a gossipd binary")
class InteropTests(unittest.TestCase):
    def test_python_nodes_and_gossipd_converge_on_writes_and_deletes_both_ways(self):
        self.converge(compressed=False)

    def test_compressed_frames_interoperate_between_python_nodes_and_gossipd(self):
        # gossipd compresses, py0 compresses, py1 does not: every pair mixes the two forms.
        outs = self.converge(compressed=True)
        self.assertGreater(outs[0]["compressed_out"], 0, outs[0])
        self.assertEqual(outs[1]["compressed_out"], 0, outs[1])
        for out in outs:
            self.assertGreater(out["compressed_in"], 0, out)

    def converge(self, compressed):
        # (--insecure-plaintext: gossipd refuses to start without a key otherwise.)
        extra = ["--insecure-plaintext", *(["--compression"] if compressed else [])]
        gd = subprocess.Popen([GOSSIPD, "--bind", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                               "--node-name", "rs", "--gossip-interval", "100ms", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            ready = gd.stdout.readline().split()
            fields = dict(x.split("=", 1) for x in ready[1:])
            gossip, admin = fields["gossip"], fields["admin"]

            def cli(*a):
                return subprocess.run([GOSSIPD, a[0], "--admin", admin, *a[1:]],
                                      capture_output=True, text=True, timeout=10).stdout.strip()
            cli("set", "color", "red")
            cli("set", "tmp", "x")
            cli("delete", "tmp")
            py = [subprocess.Popen([sys.executable, os.path.join(HERE, "udp_node.py"),
                                    "--seed", gossip, "--name", f"py{i}", "--interval", "0.1",
                                    "--set", f"k{i}=v{i}", "--run-for", "3", "--dump",
                                    *(["--compression"] if compressed and i == 0 else [])],
                                   stdout=subprocess.PIPE, text=True) for i in range(2)]
            time.sleep(1.5)
            self.assertEqual(cli("get", "py0", "k0"), "v0")
            self.assertEqual(cli("get", "py1", "k1"), "v1")
            members = cli("members")
            outs = [json.loads(p.communicate(timeout=20)[0].splitlines()[-1]) for p in py]
            for i, out in enumerate(outs):
                self.assertEqual(out["view"]["rs"], {"color": "red", "tmp": None}, out)
                self.assertEqual(out["view"][f"py{1 - i}"], {f"k{1 - i}": f"v{1 - i}"}, out)
                self.assertEqual(out["rejected"], {})
            self.assertIn("py0", members)
            self.assertIn("py1", members)
            if compressed:
                stats = json.loads(subprocess.run(
                    ["curl", "-s", f"http://{admin}/stats"], capture_output=True, text=True,
                    timeout=10).stdout or "{}")
                self.assertEqual(stats.get("rejected", {}).get("malformed", 0), 0, stats)
            return outs
        finally:
            gd.kill()
            gd.wait(timeout=10)


if __name__ == "__main__":
    unittest.main()
