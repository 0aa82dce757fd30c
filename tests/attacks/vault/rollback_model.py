#!/usr/bin/env python3
"""Exhaustive model check of the vault's rollback protocol (docs/vault.md,
"Rollback"; docs/vault-format.md, "Rollback protocol").

The attacker keeps every authentic entry the vault ever wrote (commits and
checkpoints, each with its vault id, version and content; records are named
by their sequence number), cuts the power before or after any flash write or
counter increment, and at every mount presents any chain the mount would
build from them: any checkpoint, then commits one version apart (a session
commit two with --protocol current), each fitting the state (a put's old
record live under its name, its new sequence number not live; a delete's
record live). The HSM counter only rises. The device mounts what the
counter check accepts, then makes changes (put, delete, wipe, garbage
collection, format), one write or increment at a time.

Checked at every mount the device accepts, against the state the vault last
acknowledged (a change that returned WARD_OK, or a format/wipe):
  - every live record is one acknowledged there, or one whose put was tried
    after that acknowledgement (nothing from before it comes back: neither an
    older value nor a change that was never acknowledged);
  - every record live there is still live, unless a delete, a put of the
    same name or a wipe was tried after the acknowledgement;
and, with --protocol current, that no put/delete/wipe version (so no
record sequence number) is ever written twice with different content.

  rollback_model.py [--protocol current|old|session-first] [--depth N]
                    [--expect-violations]

'old' is the protocol before the hidden-write fix (session commit one above,
only puts open a session, sequence numbers from the log), 'session-first'
the fix that only makes every change open a session: both are refuted within
depth 4 (even with sequence numbers that never repeat, which the old log-based
numbering did not guarantee), which shows the check can find the attack. 'current' is what
src/vault does. Depth counts mounts and changes; 5 takes about 20 s.
Exit status 0 if the outcome is the expected one.
"""
import argparse
import sys

KEYS = (0, 1)


class Model:
    def __init__(self, protocol, depth):
        self.protocol = protocol
        self.depth = depth
        self.step = 2 if protocol == "current" else 1  # session commit above the state
        self.burn = 2 if protocol == "current" else (1 if protocol == "session-first" else 0)
        self.seen = set()
        self.states = 0
        self.violations = []

    # ---- what a mount can build ---------------------------------------------------------

    def chains(self, U, vid):
        """Every (state, version, ends_with_session) a chain of entries gives."""
        out = set()
        commits = [e for e in U if e[0] == "C" and e[1] == vid]

        def extend(state, ver, sess):
            if (state, ver, sess) in out:
                return
            out.add((state, ver, sess))
            for (_, _, op, cv, key, nseq, oseq) in commits:
                if op == "S":
                    if cv == ver + self.step:
                        extend(state, cv, True)
                    continue
                if cv != ver + 1:
                    continue
                live = {s for (_, s) in state}
                if op == "put":
                    if nseq in live or (self.protocol == "current" and nseq != cv):
                        continue
                    if oseq and (key, oseq) not in state:
                        continue
                    new = (state - {(key, oseq)}) | {(key, nseq)} if oseq else state | {(key, nseq)}
                else:
                    if (key, oseq) not in state:
                        continue
                    new = state - {(key, oseq)}
                extend(frozenset(new), cv, False)

        for e in U:
            if e[0] == "P" and e[1] == vid:
                extend(e[3], e[2], False)
        return out

    def accepts(self, L, C, sess):
        return L == C or L == C + 1 or (self.protocol == "current" and sess and L == C + 2)

    # ---- the oracle --------------------------------------------------------------------------

    def check(self, state, w):
        tried = [a for a in w["tried"] if a[0] > w["t_ack"]]
        for (k, s) in state:
            if w["acked"].get(k) == s:
                continue
            if any(a[1] == "put" and a[2] == k and a[3] == s for a in tried):
                continue
            return "key %d: record %d was neither acknowledged last nor tried since" % (k, s)
        for k, s in w["acked"].items():
            if (k, s) not in state and not any(
                a[1] == "wipe" or (a[1] in ("put", "del") and a[2] == k) for a in tried
            ):
                return "key %d: the acknowledged record %d is gone" % (k, s)
        return None

    # ---- exploration -------------------------------------------------------------------------

    def write(self, U, e):
        if self.protocol == "current" and e[0] == "C" and e[2] != "S":
            for f in U:
                if f[0] == "C" and f[1] == e[1] and f[2] != "S" and f[3] == e[3] and f != e:
                    self.violations.append(("version %d written twice" % e[3], []))
        return U | {e}

    def power_up(self, U, C, w, depth, trace):
        """The device starts: it mounts a vault, or formats."""
        key = (U, C, w["vids"], tuple(sorted(w["acked"].items())), w["t_ack"], w["tried"], depth)
        if key in self.seen or len(self.violations) > 2:
            return
        self.seen.add(key)
        self.states += 1
        if depth == 0:
            return
        for vid in range(w["vids"]):
            for (state, L, sess) in self.chains(U, vid):
                if not self.accepts(L, C, sess):
                    continue
                t = trace + [("mount", vid, L, C, sorted(state))]
                why = self.check(state, w)
                if why:
                    self.violations.append((why, t))
                    continue
                self.device(U, L, w, vid, state, False, depth - 1, t)
        self.format(U, C, w, depth - 1, trace)

    def cut(self, U, C, w, depth, trace, where):
        self.power_up(U, C, w, depth, trace + [("cut", where)])

    def format(self, U, C, w, depth, trace):
        t = w["t"] + 1
        w = dict(w, t=t, tried=w["tried"] + ((t, "wipe", None, None),))
        for b in range(1, self.burn + 1):
            self.cut(U, C + b, dict(w, vids=w["vids"] + 1), depth, trace, "format burn %d" % b)
        C += self.burn
        vid = w["vids"]
        w = dict(w, vids=vid + 1)
        U = self.write(U, ("P", vid, C + 1, frozenset()))
        self.cut(U, C, w, depth, trace, "format written")
        w = dict(w, acked={}, t_ack=t)
        tr = trace + [("format", vid, C + 1)]
        self.device(U, C + 1, w, vid, frozenset(), False, depth, tr)

    def device(self, U, C, w, vid, state, sess, depth, trace):
        """Mounted at counter C == version of state: power off, or change."""
        self.power_up(U, C, w, depth, trace + [("off",)])
        if depth == 0:
            return
        ops = [("gc", None), ("wipe", None)] + [("put", k) for k in KEYS]
        ops += [("del", k) for k in KEYS if any(kk == k for (kk, _) in state)]
        for kind, k in ops:
            self.change(U, C, w, vid, state, sess, depth - 1, trace, kind, k)

    def change(self, U, C, w, vid, state, sess, depth, trace, kind, k):
        tr = trace + [(kind, k, C)]
        if kind == "gc":
            U = self.write(U, ("P", vid, C, state))
            self.device(U, C, w, vid, state, sess, depth, tr)
            return
        opens = not sess and (kind == "put" or self.protocol != "old")
        if opens:
            U = self.write(U, ("C", vid, "S", C + self.step, None, 0, 0))
            for c in range(C, C + self.step):
                self.cut(U, c, w, depth, tr, "session written, counter %d" % c)
            C += self.step
        t = w["t"] + 1
        if kind == "put":
            if self.protocol == "current":
                s = C + 1  # the put's version
            else:  # never reused: kinder to these protocols than the log was
                s = 1 + max([a[3] for a in w["tried"] if a[1] == "put"] + [0])
            old = next((x for (kk, x) in state if kk == k), 0)
            entry = ("C", vid, "put", C + 1, k, s, old)
            new = (state - {(k, old)}) | {(k, s)}
            w = dict(w, t=t, tried=w["tried"] + ((t, "put", k, s),))
        elif kind == "del":
            old = next(x for (kk, x) in state if kk == k)
            entry = ("C", vid, "del", C + 1, k, 0, old)
            new = state - {(k, old)}
            w = dict(w, t=t, tried=w["tried"] + ((t, "del", k, old),))
        else:  # wipe: an empty checkpoint, then a new vault
            entry = ("P", vid, C + 1, frozenset())
            new = frozenset()
            w = dict(w, t=t, tried=w["tried"] + ((t, "wipe", None, None),))
        U = self.write(U, entry)
        self.cut(U, C, w, depth, tr, "written")
        self.cut(U, C + 1, w, depth, tr, "raised, not acknowledged")
        C += 1
        if kind == "wipe":
            nv = w["vids"]
            w = dict(w, vids=nv + 1)
            U = self.write(U, ("P", nv, C + 1, frozenset()))
            self.cut(U, C, w, depth, tr, "new vault written")
            self.cut(U, C + 1, w, depth, tr, "new vault raised")
            C += 1
            vid, sess = nv, False
        else:
            sess = True
        w = dict(w, acked={kk: x for (kk, x) in new}, t_ack=t)
        self.device(U, C, w, vid, new, sess, depth, tr + [("ack",)])

    def run(self):
        w = dict(vids=1, acked={}, t_ack=0, tried=(), t=0)
        first = self.burn + 1
        U = frozenset([("P", 0, first, frozenset())])
        self.device(U, first, w, 0, frozenset(), False, self.depth, [("format", 0, first)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", default="current", choices=["current", "old", "session-first"])
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--expect-violations", action="store_true")
    a = ap.parse_args()
    sys.setrecursionlimit(100000)
    m = Model(a.protocol, a.depth)
    m.run()
    print("rollback model, protocol %s, depth %d: %d states, %s" % (
        a.protocol, a.depth, m.states,
        "%d violations" % len(m.violations) if m.violations else "no violation"))
    for why, trace in m.violations[:1]:
        print("  " + why)
        for step in trace:
            print("    %s" % (step,))
    ok = bool(m.violations) == a.expect_violations
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
