#!/usr/bin/env python3
"""Summary of a tests/mutants/run.sh run: later stages override earlier ones per mutant.

Usage: summary.py OUT_DIR [-v]   (-v: also list the survivors and timeouts)
Also merges any OUT_DIR/stage2-N directories (batches run by hand), in order of N."""
import collections, glob, json, os, sys

out = sys.argv[1]
runs = [f'{out}/stage1', f'{out}/stage2'] + sorted(
    [d for d in glob.glob(f'{out}/stage2-[0-9]*') if os.path.isdir(d)], key=lambda p: int(p.rsplit('-', 1)[1]))
final = {}
for r in runs:
    p = f'{r}/mutants.out/outcomes.json'
    if not os.path.exists(p):
        continue
    for o in json.load(open(p))['outcomes']:
        sc = o['scenario']
        if isinstance(sc, dict) and 'Mutant' in sc:
            final[sc['Mutant']['name']] = (o['summary'], os.path.basename(r))
listing = [l for l in open(f'{out}/list.txt').read().split('\n') if l]
tab = collections.defaultdict(collections.Counter)
notrun = []
for m in listing:
    if m not in final:
        notrun.append(m)
        continue
    c = tab[m.split(':')[0].rsplit('/', 1)[-1]]
    c['mutants'] += 1
    c[final[m][0]] += 1
total = collections.Counter()
for c in tab.values():
    total.update(c)
print('| module | mutants | caught | missed | timeout | unviable | caught / viable | (caught + timeout) / viable |')
print('|---|---|---|---|---|---|---|---|')
for name, c in sorted(tab.items(), key=lambda kv: -kv[1]['mutants']) + [('**all**', total)]:
    v = c['mutants'] - c['Unviable']
    print(f"| {name} | {c['mutants']} | {c['CaughtMutant']} | {c['MissedMutant']} | {c['Timeout']} "
          f"| {c['Unviable']} | {c['CaughtMutant']} / {v} = {100 * c['CaughtMutant'] / max(v, 1):.1f} % "
          f"| {100 * (c['CaughtMutant'] + c['Timeout']) / max(v, 1):.1f} % |")
print(f'\n{len(listing) - len(notrun)} of {len(listing)} mutants run')
if '-v' in sys.argv:
    for kind in ('MissedMutant', 'Timeout'):
        print(f'\n{kind}:')
        for m in listing:
            if final.get(m, ('',))[0] == kind:
                print(f'  {m}   [{final[m][1]}]')
