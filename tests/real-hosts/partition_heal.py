#!/usr/bin/env python3
"""Real-host fault test: gossipd processes in separate network namespaces over real UDP.

Topology: two bridges (in a hub namespace) joined by a veth "trunk"; nodes n0, n1 hang off
bridge A and n2, n3 off bridge B, each in its own namespace with a veth link. Cutting the trunk
(`ip link set down`) partitions {n0, n1} from {n2, n3}; restoring it heals.

Scenario: join, writes everywhere, partition, writes and deletes on both sides, crash and
restart (new generation, from --data-dir) of n3 while partitioned, heal; then every node must
converge (same /kv everywhere), no acknowledged write may be lost, no deleted key may come
back, no old generation of n3 may remain; finally n2 leaves and must never reappear as alive.

Needs root and iproute2; exits 0 with "SKIP" otherwise. Usage (from the repository root):

    cargo build --release -p gossip-node --bin gossipd
    sudo python3 tests/real-hosts/partition_heal.py [--gossipd PATH] [--rounds N] [--no-heal]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PREFIX = "gnt"
HUB = f"{PREFIX}-hub"
NODES = 4
IP = lambda i: f"10.77.0.{i + 1}"
PORT = 7946
ADMIN = "127.0.0.1:8946"


def sh(*args, check=True, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def cleanup():
    for i in range(NODES):
        sh("ip", "netns", "del", f"{PREFIX}-n{i}", check=False)
    sh("ip", "netns", "del", HUB, check=False)


def setup():
    cleanup()
    sh("ip", "netns", "add", HUB)
    sh("ip", "-n", HUB, "link", "set", "lo", "up")
    for br in ("brA", "brB"):
        sh("ip", "-n", HUB, "link", "add", br, "type", "bridge")
        sh("ip", "-n", HUB, "link", "set", br, "up")
    sh("ip", "-n", HUB, "link", "add", "trunkA", "type", "veth", "peer", "name", "trunkB")
    sh("ip", "-n", HUB, "link", "set", "trunkA", "master", "brA")
    sh("ip", "-n", HUB, "link", "set", "trunkB", "master", "brB")
    set_trunk(True)
    for i in range(NODES):
        ns = f"{PREFIX}-n{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"{PREFIX}{i}", "type", "veth", "peer", "name", f"{PREFIX}{i}h")
        sh("ip", "link", "set", f"{PREFIX}{i}", "netns", ns)
        sh("ip", "link", "set", f"{PREFIX}{i}h", "netns", HUB)
        sh("ip", "-n", ns, "link", "set", f"{PREFIX}{i}", "name", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"{IP(i)}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        br = "brA" if i < 2 else "brB"
        sh("ip", "-n", HUB, "link", "set", f"{PREFIX}{i}h", "master", br)
        sh("ip", "-n", HUB, "link", "set", f"{PREFIX}{i}h", "up")


def set_trunk(up):
    for t in ("trunkA", "trunkB"):
        sh("ip", "-n", HUB, "link", "set", t, "up" if up else "down")


class Cluster:
    def __init__(self, gossipd, workdir):
        self.gossipd = gossipd
        self.workdir = workdir
        self.procs = {}
        help_text = subprocess.run([gossipd, "--help"], capture_output=True, text=True).stdout
        self.extra = ["--insecure-plaintext"] if "--insecure-plaintext" in help_text else []
        self.writes = []  # (node, key, value or None, ok)

    def start(self, i):
        ns = f"{PREFIX}-n{i}"
        data = os.path.join(self.workdir, f"n{i}")
        os.makedirs(data, exist_ok=True)
        log = open(os.path.join(self.workdir, f"n{i}.log"), "a")
        cmd = ["ip", "netns", "exec", ns, self.gossipd,
               "--bind", f"{IP(i)}:{PORT}", "--admin", ADMIN, "--node-name", f"n{i}",
               "--seed", f"{IP(0)}:{PORT}", "--seed", f"{IP(2)}:{PORT}",
               "--cluster-id", "netns", "--gossip-interval", "200ms",
               "--data-dir", data, "--leave-timeout", "2s"] + self.extra
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.api(i, "/health") is not None:
                return
            time.sleep(0.1)
        raise RuntimeError(f"n{i} did not start; see {log.name}")

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs.pop(i)
        p.send_signal(sig)
        p.wait(timeout=15)

    def api(self, i, path, method="GET", body=None):
        args = ["curl", "-s", "-f", "-m", "2", "-X", method, f"http://{ADMIN}{path}"]
        if body is not None:
            args += ["--data-binary", body]
        r = sh(*args, ns=f"{PREFIX}-n{i}", check=False)
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout) if r.stdout.strip() else {}
        except json.JSONDecodeError:
            return r.stdout

    def write(self, i, key, value):
        if value is None:
            r = self.api(i, f"/kv/{key}", "DELETE")
        else:
            r = self.api(i, f"/kv/{key}", "PUT", value)
        self.writes.append((i, key, value, r is not None))

    def generations(self, i):
        m = self.api(i, "/members") or []
        return {x["name"]: (x["generation"], x["status"]) for x in m}

    def converged(self, live):
        kvs = [self.api(i, "/kv") for i in live]
        if any(k is None for k in kvs):
            return False
        want = {f"n{i}": kvs[live.index(i)].get(f"n{i}", {}) for i in live}
        return all({n: kv.get(n, {}) for n in want} == want for kv in kvs)

    def wait_converged(self, live, limit):
        t = time.time()
        while time.time() - t < limit:
            if self.converged(live):
                return time.time() - t
            time.sleep(0.2)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gossipd", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "gossipd"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-heal", action="store_true",
                    help="never restore the link (a broken run: must FAIL)")
    args = ap.parse_args()
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("curl") is None:
        print("SKIP: needs root, iproute2 and curl")
        return 0
    if not os.path.exists(args.gossipd):
        print(f"SKIP: no gossipd at {args.gossipd} (cargo build --release -p gossip-node)")
        return 0
    problems = []
    for rnd in range(args.rounds):
        workdir = tempfile.mkdtemp(prefix="gossip-netns-")
        c = None
        try:
            setup()
            c = Cluster(os.path.abspath(args.gossipd), workdir)
            for i in range(NODES):
                c.start(i)
            all_nodes = list(range(NODES))
            for i in all_nodes:
                c.write(i, "shared", f"v{i}")
                c.write(i, "doomed", f"d{i}")
            t_join = c.wait_converged(all_nodes, 30)
            assert t_join is not None, "no convergence after join"
            old_gen3 = c.generations(0)["n3"][0]

            set_trunk(False)  # partition {n0, n1} | {n2, n3}
            for i in all_nodes:
                c.write(i, "during", f"p{i}")
            c.write(0, "doomed", None)
            c.write(2, "doomed", None)
            time.sleep(2)
            c.kill(3)  # crash ...
            c.start(3)  # ... and restart: a new generation from --data-dir
            c.write(3, "after-restart", "r3")
            time.sleep(2)
            # The partition is real: n0 has not heard of n2's write on the other side.
            seen = (c.api(0, "/kv") or {}).get("n2", {}).get("during")
            if seen is not None:
                problems.append(f"round {rnd}: partition ineffective: n0 saw n2/during={seen}")
            if not args.no_heal:  # --no-heal: a broken run the checks must catch
                set_trunk(True)  # heal
            t_heal = c.wait_converged(all_nodes, 20 if args.no_heal else 60)
            assert t_heal is not None, "no convergence after healing"

            # Outcomes, over the admin API of every node.
            kvs = {i: c.api(i, "/kv") for i in all_nodes}
            gen3 = c.generations(3)["n3"][0]
            assert gen3 > old_gen3, "n3 restarted with a higher generation"
            last = {}
            for (i, key, value, ok) in c.writes:
                if ok:
                    last[(i, key)] = value
            for i in all_nodes:
                for (o, key), value in last.items():
                    if o == 3 and key in ("shared", "doomed", "during"):
                        continue  # n3's first generation is superseded by its restart
                    held = kvs[i].get(f"n{o}", {}).get(key)
                    if value is None and held is not None:
                        problems.append(f"round {rnd}: deleted n{o}/{key} back at n{i}: {held}")
                    if value is not None and held != value:
                        problems.append(f"round {rnd}: write n{o}/{key}={value} lost at n{i}: {held}")
                if set(kvs[i].get("n3", {})) != {"after-restart"}:
                    problems.append(f"round {rnd}: n{i} holds n3's old generation: {kvs[i].get('n3')}")
                gens = c.generations(i)
                if gens.get("n3", (0,))[0] != gen3:
                    problems.append(f"round {rnd}: n{i} has n3 at {gens.get('n3')}")

            # A graceful leave: n2 must never be seen alive again.
            c.kill(2, signal.SIGTERM)
            time.sleep(3)
            for i in (0, 1, 3):
                st = c.generations(i).get("n2", (None, "absent"))[1]
                if st not in ("left", "absent"):
                    problems.append(f"round {rnd}: n{i} sees n2 as {st} after its leave")
            print(f"round {rnd}: join {t_join:.1f}s, heal {t_heal:.1f}s, "
                  f"{sum(1 for w in c.writes if w[3])}/{len(c.writes)} writes acknowledged, "
                  f"n3 generation {old_gen3} -> {gen3}, problems {len(problems)}")
        except AssertionError as e:
            problems.append(f"round {rnd}: {e}")
        finally:
            if c:
                for i in list(c.procs):
                    c.kill(i)
            cleanup()
            shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        print("FAIL")
        for p in problems:
            print("  " + p)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
