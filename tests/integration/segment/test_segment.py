#!/usr/bin/python3
"""The IoT segment's ruleset (deploy/nftables/ward-iot.nft) on a router made
of network namespaces, shown with real connections.

    test_segment.py --ward PATH/TO/ward --ruleset deploy/nftables/ward-iot.nft

Five namespaces, joined by veth pairs to the router (docs/network.md has the
picture):

  iot       a ward device (192.168.30.20, 2001:db8:30::20) behind the router's
            br-iot; a telnet/web listener stands for a device's open ports
  lan       the home LAN (192.168.1.10, 2001:db8:1::10): SSH, HTTPS, 8883
  broker    a home server (192.168.40.10, fd00:40::10): Mosquitto with the
            configuration `ward factory init` wrote (TLS on 8883), and a
            plain listener on 1883 standing for a forgotten clear-text port
  internet  the provider and everything behind it: nginx with the factory's
            configuration serving the update repository (updates.example.com,
            198.51.100.10:443), a public DNS resolver and NTP server, plain
            80/1883/8883 listeners, an ISP modem's admin page (192.168.100.1)
  router    forwards between them (ip_forward), masquerades IPv4 out of
            "wan" (standing for the router's own firewall), serves DNS
            (home.arpa, example.com), DHCP and NTP to the IoT segment, and has
            SSH/HTTP/SSDP listeners of its own

Every probe runs twice: without the ruleset (everything must pass: the probe
can pass, the topology routes it) and with it (the flows seed 004 allows pass,
the others time out: dropped, not rejected). With the ruleset the device also
does its real work: `ward cloud publish` to the broker by name (DNS from the
router), mutual TLS 1.3, acknowledged; `ward ota check` and `ward ota apply`
from nginx over HTTPS. The probes run in groups, one per drop reason, and
the ruleset's named counters are read around each group: the group's own
counter rises by at least one packet per probe, no other counter moves, and
the allowed flows (the device's included) move none. A table of every flow,
expected and measured, is printed.

Skipped (exit 77, with the reason) where the machine cannot do it: no
network namespaces (not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN), no nft or no
nf_tables in the kernel, no Mosquitto, nginx, openssl or unshare. Everything it
starts (namespaces, processes, files) is removed on exit, also on failure or
SIGTERM; namespaces left by a run that was killed (SIGKILL) are removed by
the next run. Uses Debian's /usr/bin/python3 and its standard library only.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PROBE_TIMEOUT = 2.0        # a dropped SYN: connect() gives up after this
PREFIX = "ward-seg-"       # namespaces: ward-seg-<pid>-<role>
ROLES = ("router", "iot", "lan", "broker", "internet")
NTP_EPOCH = 2208988800     # 1900 -> 1970

# Names the router's resolver (and the outside one) answer.
ZONE = {"broker.home.arpa": "192.168.40.10", "updates.example.com": "198.51.100.10"}


def log(msg):
    print(msg, flush=True)


def die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL when the test dies.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


# ---- the servers and probes that run inside the namespaces --------------------

def dns_answer(q, zone):
    """A DNS response to query q: A records from zone, an empty answer for
    other types of a known name (so resolvers do not wait for AAAA), else
    NXDOMAIN."""
    if len(q) < 12:
        return None
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    if i + 5 > len(q):
        return None
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    name = ".".join(labels)
    addr = zone.get(name)
    rcode = 0 if addr is not None else 3
    answers = b""
    if addr is not None and qtype == 1:
        answers = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr))
    head = q[:2] + struct.pack(">HHHHH", 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
    return head + question + answers


def serve(specs, tag):
    """Listen on every spec ({"kind", "addr", "port"}), answer until killed.
    tcp: sends "<tag> <port>\\n" and closes; udp: echoes; dns: the zone;
    ntp: an SNTP server reply with the current time."""
    socks = []
    for s in specs:
        fam = socket.AF_INET6 if ":" in s["addr"] else socket.AF_INET
        kind = socket.SOCK_STREAM if s["kind"] == "tcp" else socket.SOCK_DGRAM
        so = socket.socket(fam, kind)
        so.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            so.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            so.bind((s["addr"], s["port"]))
        except OSError as e:
            raise SystemExit("bind %s:%d: %s" % (s["addr"], s["port"], e))
        if kind == socket.SOCK_STREAM:
            so.listen(16)
        socks.append((s, so))

    def tcp_loop(s, so):
        while True:
            c, _ = so.accept()
            try:
                c.sendall(("%s %d\n" % (tag, s["port"])).encode())
            except OSError:
                pass
            c.close()

    def udp_loop(s, so):
        while True:
            data, peer = so.recvfrom(2048)
            if s["kind"] == "dns":
                out = dns_answer(data, ZONE)
            elif s["kind"] == "ntp":
                now = time.time() + NTP_EPOCH
                ts = struct.pack(">II", int(now), int((now % 1) * 2**32))
                out = (bytes([0x24, 2, 0, 0xEC]) + bytes(8) + b"WARD" + ts + data[40:48]
                       + ts + ts) if len(data) >= 48 else None
            else:
                out = data
            if out:
                so.sendto(out, peer)

    for s, so in socks:
        loop = tcp_loop if s["kind"] == "tcp" else udp_loop
        threading.Thread(target=loop, args=(s, so), daemon=True).start()
    print("ready", flush=True)
    while True:         # until the test's SIGTERM
        time.sleep(3600)


def synfin(src, dst, port):
    """One TCP segment with SYN and FIN both set (no connection has that:
    conntrack calls it invalid), from src, by a raw socket."""
    so = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    try:
        so.bind((src, 0))
        seg = struct.pack(">HHIIBBHHH", 40000 + os.getpid() % 20000, port, 1, 0, 5 << 4,
                          0x03, 1024, 0, 0)
        data = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">BBH", 0, 6, len(seg)) + seg
        total = sum(struct.unpack(">%dH" % (len(data) // 2), data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        seg = seg[:16] + struct.pack(">H", ~total & 0xFFFF) + seg[18:]
        so.sendto(seg, (dst, 0))
        return "sent"
    finally:
        so.close()


def probe_one(p):
    """One flow. Returns "open"/"answered", "timeout", "refused", or
    "wrong: ..." / "error: ..."."""
    if p["kind"] == "synfin":
        return synfin(p["src"], p["dst"], p["port"])
    fam = socket.AF_INET6 if ":" in p["dst"] else socket.AF_INET
    if p["kind"] == "tcp":
        so = socket.socket(fam, socket.SOCK_STREAM)
    else:
        so = socket.socket(fam, socket.SOCK_DGRAM)
    so.settimeout(PROBE_TIMEOUT)
    try:
        if p.get("src"):
            so.bind((p["src"], 0))
        if p["kind"] == "tcp":
            so.connect((p["dst"], p["port"]))
            if p.get("banner") is None:     # a TLS server: it waits for us
                return "open"
            got = so.recv(100).decode(errors="replace").strip()
            want = "%s %d" % (p["banner"], p["port"])
            return "open" if got == want else "wrong: %r (want %r)" % (got, want)
        so.connect((p["dst"], p["port"]))
        if p["kind"] == "dns":
            q = (struct.pack(">HHHHHH", 0x5757, 0x0100, 1, 0, 0, 0)
                 + b"".join(bytes([len(x)]) + x.encode() for x in p["name"].split("."))
                 + b"\x00\x00\x01\x00\x01")
            so.send(q)
            r = so.recv(512)
            if len(r) >= 16 and r[:2] == b"\x57\x57" and r[-4:] == socket.inet_aton(p["want"]):
                return "answered"
            return "wrong: DNS answer %s" % r.hex()
        if p["kind"] == "ntp":
            so.send(bytes([0x23]) + bytes(47))          # SNTP v4, client
            r = so.recv(100)
            if len(r) >= 48 and r[0] & 7 == 4:
                t = struct.unpack(">I", r[40:44])[0] - NTP_EPOCH
                if abs(t - time.time()) < 60:
                    return "answered"
            return "wrong: NTP reply %s" % r[:48].hex()
        so.send(b"ward-probe")
        r = so.recv(100)
        return "answered" if r == b"ward-probe" else "wrong: %r" % r
    except socket.timeout:
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return "error: %s" % e
    finally:
        so.close()


def probe(specs):
    out = [None] * len(specs)

    def run(i):
        out[i] = probe_one(specs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(specs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(out), flush=True)


# ---- the test ----------------------------------------------------------------

class Skip(Exception):
    pass


class Fail(Exception):
    pass


def sh(args, check=True, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise Fail("%s -> exit %d\n%s%s" % (" ".join(str(a) for a in args), p.returncode,
                                            p.stdout, p.stderr))
    return p


class Lab:
    def __init__(self, args):
        self.a = args
        self.ns = {r: "%s%d-%s" % (PREFIX, os.getpid(), r) for r in ROLES}
        self.procs = []
        self.made = []
        self.work = None
        self.rows = []
        self.failures = []

    # -- preconditions and cleanup
    def preflight(self):
        for prog in ("ip", "nft", "mosquitto", "nginx", "openssl", "unshare", "mount"):
            if shutil.which(prog, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
                pkg = {"nft": "nftables", "ip": "iproute2", "mosquitto": "mosquitto",
                       "nginx": "nginx-light", "openssl": "openssl"}.get(prog, "util-linux")
                raise Skip("%s not found (Debian package %s; scripts/bootstrap.sh installs it)"
                           % (prog, pkg))
        probe_ns = "%s%d-probe" % (PREFIX, os.getpid())
        p = sh(["ip", "netns", "add", probe_ns], check=False)
        if p.returncode != 0:
            raise Skip("cannot make a network namespace (needs root, or CAP_SYS_ADMIN and "
                       "CAP_NET_ADMIN): %s" % p.stderr.strip())
        try:
            p = sh(["ip", "netns", "exec", probe_ns, "nft", "-f", self.a.ruleset], check=False)
            if p.returncode != 0:
                if "Could not process rule" in p.stderr and "Operation not supported" in p.stderr:
                    raise Skip("the kernel has no nf_tables (or a module the ruleset needs): %s"
                               % p.stderr.strip())
                raise Fail("nft -f %s: %s" % (self.a.ruleset, p.stderr.strip()))
        finally:
            sh(["ip", "netns", "del", probe_ns], check=False)

    @staticmethod
    def remove_ns(name):
        p = sh(["ip", "netns", "pids", name], check=False)
        for pid in p.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh(["ip", "netns", "del", name], check=False)

    def remove_stale(self):
        """Namespaces and work directories of an earlier run that was killed
        (SIGKILL) before it could clean; its processes died with it."""
        tmp = tempfile.gettempdir()
        for where in ("/run/netns", tmp):
            try:
                names = os.listdir(where)
            except FileNotFoundError:
                continue
            for n in names:
                if not n.startswith(PREFIX):
                    continue
                try:
                    pid = int(n[len(PREFIX):].split("-")[0])
                except ValueError:
                    continue
                if pid == os.getpid() or os.path.exists("/proc/%d" % pid):
                    continue
                log("removing %s/%s, left by a killed run" % (where, n))
                if where == tmp:
                    shutil.rmtree(os.path.join(tmp, n), ignore_errors=True)
                else:
                    self.remove_ns(n)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for n in reversed(self.made):
            self.remove_ns(n)
        if self.work and not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- namespaces
    def ip(self, role, *args):
        return sh(["ip", "-n", self.ns[role], *args])

    def nsexec(self, role, *args, **kw):
        return sh(["ip", "netns", "exec", self.ns[role], *args], **kw)

    def link(self, peer, rname, v4, v6, peer_v4, peer_v6, bridge=None):
        """A veth pair: rname on the router, eth0 in peer; addresses; the peer's
        default routes through the router."""
        self.ip("router", "link", "add", rname, "type", "veth", "peer", "name", "eth0",
                "netns", self.ns[peer])
        dev = rname
        if bridge:
            self.ip("router", "link", "add", bridge, "type", "bridge")
            self.ip("router", "link", "set", rname, "master", bridge)
            self.ip("router", "link", "set", bridge, "up")
            dev = bridge
        self.ip("router", "link", "set", rname, "up")
        self.ip("router", "addr", "add", v4, "dev", dev)
        self.ip("router", "-6", "addr", "add", v6, "dev", dev, "nodad")
        self.ip(peer, "link", "set", "eth0", "up")
        self.ip(peer, "addr", "add", peer_v4, "dev", "eth0")
        self.ip(peer, "-6", "addr", "add", peer_v6, "dev", "eth0", "nodad")
        if peer != "internet":
            self.ip(peer, "route", "add", "default", "via", v4.split("/")[0])
            self.ip(peer, "-6", "route", "add", "default", "via", v6.split("/")[0])

    def topology(self):
        for r in ROLES:
            sh(["ip", "netns", "add", self.ns[r]])
            self.made.append(self.ns[r])
            self.ip(r, "link", "set", "lo", "up")
            self.nsexec(r, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                        "net.ipv6.conf.default.accept_dad=0")
        self.nsexec("router", "sysctl", "-qw", "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.all.forwarding=1")
        self.link("iot", "iot0", "192.168.30.1/24", "2001:db8:30::1/64",
                  "192.168.30.20/24", "2001:db8:30::20/64", bridge="br-iot")
        self.link("lan", "lan", "192.168.1.1/24", "2001:db8:1::1/64",
                  "192.168.1.10/24", "2001:db8:1::10/64")
        self.link("broker", "srv", "192.168.40.1/24", "fd00:40::1/64",
                  "192.168.40.10/24", "fd00:40::10/64")
        self.link("internet", "wan", "203.0.113.1/24", "2001:db8:ff::1/64",
                  "203.0.113.2/24", "2001:db8:ff::2/64")
        self.ip("router", "route", "add", "default", "via", "203.0.113.2")
        self.ip("router", "-6", "route", "add", "default", "via", "2001:db8:ff::2")
        # Behind the provider: the services, a resolver, a time server, an ISP
        # modem's admin page on a private address.
        for a in ("198.51.100.10", "198.51.100.20", "198.51.100.53", "198.51.100.123",
                  "192.168.100.1"):
            self.ip("internet", "addr", "add", a + "/32", "dev", "lo")
        self.ip("internet", "-6", "addr", "add", "2001:db8:100::10/128", "dev", "lo")
        # The provider routes the delegated IPv6 prefixes to the router (no
        # NAT in IPv6: the IoT segment is addressable from the Internet). For
        # IPv4, a neighbour on the provider's segment routes the home's private
        # ranges to the router's WAN address: NAT alone does not stop it.
        self.ip("internet", "route", "add", "192.168.0.0/16", "via", "203.0.113.1")
        for pfx in ("2001:db8:30::/64", "2001:db8:1::/64"):
            self.ip("internet", "-6", "route", "add", pfx, "via", "2001:db8:ff::1")
        # Source addresses on the device that are not the segment's (one
        # outside every home range, one of the LAN's IPv6 prefix): probes
        # spoof them.
        self.ip("iot", "addr", "add", "10.99.0.20/32", "dev", "eth0")
        # (deprecated at once, preferred_lft 0: the kernel never picks it as a source
        # on its own, a probe binds it)
        self.ip("iot", "-6", "addr", "add", "2001:db8:1::99/128", "dev", "eth0", "nodad",
                "preferred_lft", "0")
        # The Internet side counts what arrives of the probes whose answer
        # cannot come back (spoofed sources) or that have none (SYN+FIN).
        watch = ("table inet watch {\n"
                 " counter spoof4 {}\n counter spoof6 {}\n counter synfin {}\n"
                 " chain pre {\n  type filter hook prerouting priority raw - 10; policy accept;\n"
                 "  ip daddr 198.51.100.20 tcp dport 443 counter name spoof4\n"
                 "  ip6 saddr 2001:db8:1::99 tcp dport 443 counter name spoof6\n"
                 "  tcp flags & (syn | fin) == syn | fin counter name synfin\n }\n}\n")
        sh(["ip", "netns", "exec", self.ns["internet"], "nft", "-f", "-"], input=watch)
        # IPv6 addresses usable at once (no duplicate address detection).
        end = time.time() + 5
        while any(self.ip(r, "-6", "addr", "show", "tentative").stdout.strip() for r in ROLES):
            if time.time() > end:
                raise Fail("IPv6 addresses still tentative after 5 s")
            time.sleep(0.1)
        # The router's own firewall, as far as this test needs it: NAT out of wan.
        nat = ("table ip router_nat {\n chain postrouting {\n"
               "  type nat hook postrouting priority srcnat; policy accept;\n"
               "  oifname \"wan\" masquerade\n }\n}\n")
        sh(["ip", "netns", "exec", self.ns["router"], "nft", "-f", "-"], input=nat)

    # -- processes
    def start(self, role, args, log_path, ready=None):
        """Start args in role's namespace, stdout and stderr to log_path (stdout
        piped when it must say `ready` first)."""
        out = open(log_path, "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], *[str(a) for a in args]],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE if ready else out, stderr=out,
                             text=True, preexec_fn=die_with_parent)
        self.procs.append(p)
        if ready:
            line = p.stdout.readline().strip()
            if line != ready:
                p.wait(timeout=5)
                raise Fail("%s in %s did not start (%r):\n%s"
                           % (args[0], role, line, open(log_path).read()))
        return p

    def wait_tcp(self, role, addr, port, proc, what):
        end = time.time() + 10
        spec = [{"kind": "tcp", "dst": addr, "port": port}]
        while time.time() < end:
            if proc.poll() is not None:
                raise Fail("%s exited with %d" % (what, proc.returncode))
            if self.run_probes(role, spec) == ["open"]:
                return
            time.sleep(0.1)
        raise Fail("%s does not listen on %s:%d" % (what, addr, port))

    def helpers(self, role, specs):
        self.start(role, ["/usr/bin/python3", os.path.abspath(__file__), "serve", role,
                          json.dumps(specs)], "%s/%s-helpers.log" % (self.work, role),
                   ready="ready")

    def run_probes(self, role, specs):
        p = self.nsexec(role, "/usr/bin/python3", os.path.abspath(__file__), "probe",
                        json.dumps(specs))
        return json.loads(p.stdout)

    # -- the factory, the device, the servers
    def factory(self):
        w, f, d = self.a.ward, self.f, self.d
        user = ["--broker-user", "root"] if os.geteuid() == 0 else []
        sh([w, "factory", "init", f, "--name", "ward segment test CA", "--device-class",
            "plug-v1", "--broker-host", "broker.home.arpa", "--broker-port", "8883",
            "--repo-host", "updates.example.com", "--repo-port", "443", *user])
        app = os.path.join(self.work, "app.bin")
        with open(app, "wb") as fh:
            fh.write(os.urandom(4096))
        for v in ("1.0.0", "1.1.0"):
            sh([w, "sign", "-k", f + "/keys/boot-key.pem", "-v", v, "-H", "0x200",
                "--pad-header", "-S", "0x1f000", "-s", "1", app, "%s/app-%s.img" % (self.work, v)])
        sh([w, "factory", "provision", f, "--device-id", "plug-1", "--image",
            self.work + "/app-1.0.0.img", "--out", d])
        sh([w, "repo", "publish", "--ota-key", f + "/keys/ota-key.pem", "--device-class",
            "plug-v1", "--boot-key", f + "/keys/boot-key.pem", self.work + "/app-1.1.0.img",
            f + "/repo/"])
        # The device's broker, as `ward cloud install --broker` records it.
        with open(d + "/cloud.conf", "w") as fh:
            fh.write("broker=broker.home.arpa:8883\n")
        with open(self.work + "/resolv.conf", "w") as fh:
            fh.write("nameserver 192.168.30.1\noptions timeout:1 attempts:2\n")

    def servers(self):
        f = self.f
        self.mosq = self.start("broker", ["mosquitto", "-c", f + "/broker/mosquitto.conf"],
                               self.work + "/mosquitto.log")
        self.nginx = self.start("internet", ["nginx", "-p", f + "/web", "-c", f + "/web/nginx.conf",
                                             "-e", f + "/web/error.log",
                                             "-g", "daemon off; master_process off;"],
                                self.work + "/nginx.out")
        tcp = lambda a, p: {"kind": "tcp", "addr": a, "port": p}
        self.helpers("router", [
            {"kind": "dns", "addr": "192.168.30.1", "port": 53},
            {"kind": "udp", "addr": "192.168.30.1", "port": 67},
            {"kind": "ntp", "addr": "192.168.30.1", "port": 123},
            {"kind": "udp", "addr": "192.168.30.1", "port": 1900},
            tcp("192.168.30.1", 22), tcp("192.168.30.1", 80), tcp("203.0.113.1", 443)])
        self.helpers("lan", [tcp("192.168.1.10", 22), tcp("192.168.1.10", 443),
                             tcp("192.168.1.10", 8883), tcp("2001:db8:1::10", 22)])
        self.helpers("broker", [tcp("192.168.40.10", 1883)])
        self.helpers("iot", [tcp("0.0.0.0", 23), tcp("0.0.0.0", 80), tcp("::", 23)])
        self.helpers("internet", [
            tcp("198.51.100.10", 80), tcp("198.51.100.20", 8883), tcp("198.51.100.20", 1883),
            tcp("198.51.100.20", 23), tcp("192.168.100.1", 8883),
            tcp("2001:db8:100::10", 443), tcp("2001:db8:100::10", 8883),
            tcp("2001:db8:100::10", 80),
            {"kind": "dns", "addr": "198.51.100.53", "port": 53},
            {"kind": "ntp", "addr": "198.51.100.123", "port": 123}])
        self.wait_tcp("broker", "192.168.40.10", 8883, self.mosq, "mosquitto")
        self.wait_tcp("internet", "198.51.100.10", 443, self.nginx, "nginx")

    # -- counters: the ruleset's on the router, the watch table's on the Internet side
    def watch(self):
        return self.counters("internet", "watch")

    def counters(self, role="router", table="ward_iot"):
        p = self.nsexec(role, "nft", "-j", "list", "counters", "table", "inet", table)
        out = {}
        for item in json.loads(p.stdout)["nftables"]:
            c = item.get("counter")
            if c:
                out[c["name"]] = c["packets"]
        return out

    # -- the device's own flows, in its namespace with the router as resolver
    def device(self, *args):
        cmd = ["ip", "netns", "exec", self.ns["iot"], "unshare", "-m", "/bin/sh", "-c",
               'mount --bind "$0" /etc/resolv.conf && exec "$@"', self.work + "/resolv.conf",
               self.a.ward, *args]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return p, time.time() - t0

    def row(self, group, flow, proto, base, expect, got, counter):
        ok = got == expect and base in ("open", "answered", "arrived", "-")
        self.rows.append((flow, proto, base, expect, got, counter, "ok" if ok else "FAIL"))
        if not ok:
            self.failures.append("%s (%s): without the ruleset %s, with it %s, expected %s"
                                 % (flow, group, base, got, expect))

    def main(self):
        self.preflight()
        self.remove_stale()
        self.work = tempfile.mkdtemp(prefix="%s%d-" % (PREFIX, os.getpid()))
        self.f = self.work + "/factory"
        self.d = self.work + "/plug-1"
        t0 = time.time()
        self.factory()
        self.topology()
        self.servers()
        log("topology, factory and servers ready in %.1f s" % (time.time() - t0))

        I4, I6 = "192.168.30.20", "2001:db8:30::20"
        tcp = lambda dst, port, banner, **kw: dict(kind="tcp", dst=dst, port=port,
                                                   banner=banner, **kw)
        # (group, source namespace, description, proto, spec, pass with the ruleset)
        flows = [
            ("allowed", "iot", "iot -> router DNS (udp 53)", "udp 53",
             dict(kind="dns", dst="192.168.30.1", port=53, name="broker.home.arpa",
                  want="192.168.40.10"), True),
            ("allowed", "iot", "iot -> router DHCP port (udp 67)", "udp 67",
             dict(kind="udp", dst="192.168.30.1", port=67), True),
            ("allowed", "iot", "iot -> router NTP (udp 123)", "udp 123",
             dict(kind="ntp", dst="192.168.30.1", port=123), True),
            ("allowed", "iot", "iot -> broker 192.168.40.10:8883 (Mosquitto)", "tcp 8883",
             tcp("192.168.40.10", 8883, None), True),
            ("allowed", "iot", "iot -> broker [fd00:40::10]:8883 (Mosquitto)", "tcp6 8883",
             tcp("fd00:40::10", 8883, None), True),
            ("allowed", "iot", "iot -> internet 198.51.100.10:443 (nginx)", "tcp 443",
             tcp("198.51.100.10", 443, None), True),
            ("allowed", "iot", "iot -> internet 198.51.100.20:8883 (a cloud broker)", "tcp 8883",
             tcp("198.51.100.20", 8883, "internet"), True),
            ("allowed", "iot", "iot -> internet [2001:db8:100::10]:443", "tcp6 443",
             tcp("2001:db8:100::10", 443, "internet"), True),
            ("allowed", "iot", "iot -> internet [2001:db8:100::10]:8883", "tcp6 8883",
             tcp("2001:db8:100::10", 8883, "internet"), True),
            ("iot_to_home", "iot", "iot -> lan 192.168.1.10:22 (SSH)", "tcp 22",
             tcp("192.168.1.10", 22, "lan"), False),
            ("iot_to_home", "iot", "iot -> lan 192.168.1.10:443", "tcp 443",
             tcp("192.168.1.10", 443, "lan"), False),
            ("iot_to_home", "iot", "iot -> lan 192.168.1.10:8883 (not the broker)", "tcp 8883",
             tcp("192.168.1.10", 8883, "lan"), False),
            ("iot_to_home", "iot", "iot -> lan [2001:db8:1::10]:22", "tcp6 22",
             tcp("2001:db8:1::10", 22, "lan"), False),
            ("iot_to_home", "iot", "iot -> broker 192.168.40.10:1883 (clear MQTT)", "tcp 1883",
             tcp("192.168.40.10", 1883, "broker"), False),
            ("iot_to_home", "iot", "iot -> 192.168.100.1:8883 (private, behind wan)", "tcp 8883",
             tcp("192.168.100.1", 8883, "internet"), False),
            ("iot_to_port", "iot", "iot -> internet 198.51.100.10:80 (http)", "tcp 80",
             tcp("198.51.100.10", 80, "internet"), False),
            ("iot_to_port", "iot", "iot -> internet 198.51.100.20:1883 (clear MQTT)", "tcp 1883",
             tcp("198.51.100.20", 1883, "internet"), False),
            ("iot_to_port", "iot", "iot -> internet 198.51.100.20:23 (telnet)", "tcp 23",
             tcp("198.51.100.20", 23, "internet"), False),
            ("iot_to_port", "iot", "iot -> internet [2001:db8:100::10]:80", "tcp6 80",
             tcp("2001:db8:100::10", 80, "internet"), False),
            ("iot_to_port", "iot", "iot -> outside resolver 198.51.100.53 (udp 53)", "udp 53",
             dict(kind="dns", dst="198.51.100.53", port=53, name="updates.example.com",
                  want="198.51.100.10"), False),
            ("iot_to_port", "iot", "iot -> outside NTP 198.51.100.123 (udp 123)", "udp 123",
             dict(kind="ntp", dst="198.51.100.123", port=123), False),
            ("iot_to_router", "iot", "iot -> router 192.168.30.1:22 (SSH)", "tcp 22",
             tcp("192.168.30.1", 22, "router"), False),
            ("iot_to_router", "iot", "iot -> router 192.168.30.1:80 (web UI)", "tcp 80",
             tcp("192.168.30.1", 80, "router"), False),
            ("iot_to_router", "iot", "iot -> router 203.0.113.1:443 (wan address)", "tcp 443",
             tcp("203.0.113.1", 443, "router"), False),
            ("iot_to_router", "iot", "iot -> router SSDP/UPnP (udp 1900)", "udp 1900",
             dict(kind="udp", dst="192.168.30.1", port=1900), False),
            ("to_iot", "internet", "internet -> iot 192.168.30.20:23 (telnet)", "tcp 23",
             tcp(I4, 23, "iot"), False),
            ("to_iot", "internet", "internet -> iot [2001:db8:30::20]:23 (no NAT)", "tcp6 23",
             tcp(I6, 23, "iot"), False),
            ("to_iot", "lan", "lan -> iot 192.168.30.20:80 (web UI)", "tcp 80",
             tcp(I4, 80, "iot"), False),
            ("to_iot", "lan", "lan -> iot [2001:db8:30::20]:23", "tcp6 23",
             tcp(I6, 23, "iot"), False),
            ("to_iot", "broker", "broker -> iot 192.168.30.20:23", "tcp 23",
             tcp(I4, 23, "iot"), False),
            ("iot_spoofed", "iot", "iot from 10.99.0.20 -> internet 198.51.100.20:443", "tcp 443",
             tcp("198.51.100.20", 443, None, src="10.99.0.20", watch="spoof4"), False),
            ("iot_spoofed", "iot", "iot from 2001:db8:1::99 (lan's) -> internet :443", "tcp6 443",
             tcp("2001:db8:100::10", 443, None, src="2001:db8:1::99", watch="spoof6"), False),
            ("iot_invalid", "iot", "iot -> internet 198.51.100.10:443 SYN+FIN", "tcp 443",
             dict(kind="synfin", src=I4, dst="198.51.100.10", port=443, watch="synfin"), False),
        ]
        groups = []
        for fl in flows:
            if fl[0] not in groups:
                groups.append(fl[0])

        def run_group(g):
            by_ns = {}
            for i, fl in enumerate(flows):
                if fl[0] == g:
                    by_ns.setdefault(fl[1], []).append(i)
            res = {}
            threads = []
            w0 = self.watch()

            def one(ns, idx):
                out = self.run_probes(ns, [flows[i][4] for i in idx])
                for i, r in zip(idx, out):
                    res[i] = r
            for ns, idx in by_ns.items():
                threads.append(threading.Thread(target=one, args=(ns, idx)))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # Probes without an answer: did it reach the Internet side?
            w1 = self.watch()
            for i, fl in enumerate(flows):
                if fl[0] == g and fl[4].get("watch"):
                    res[i] = "arrived" if w1[fl[4]["watch"]] > w0[fl[4]["watch"]] else "dropped"
            return res

        # 1. Without the ruleset: every probe must pass.
        t0 = time.time()
        base = {}
        for g in groups:
            base.update(run_group(g))
        log("without the ruleset: %d probes in %.1f s" % (len(flows), time.time() - t0))

        # 2. The ruleset, as shipped.
        sh(["ip", "netns", "exec", self.ns["router"], "nft", "-f", self.a.ruleset])
        c0 = self.counters()
        names = ["iot_to_home", "iot_to_port", "iot_to_router", "to_iot", "iot_spoofed",
                 "iot_invalid"]
        if sorted(c0) != sorted(names) or any(c0.values()):
            raise Fail("counters after loading: %s" % c0)

        # 3. The device's real work, and the allowed probes: no drop counted.
        t0 = time.time()
        ward_rows = []
        p, dt = self.device("cloud", "publish", "--device", self.d, "--qos", "1",
                            "--seconds", "15", "temperature 21.5")
        mlog = open(self.work + "/mosquitto.log").read()
        seen = "New client connected from 192.168.30.20" in mlog and "as plug-1" in mlog
        got = "published" if p.returncode == 0 and seen else "exit %d" % p.returncode
        ward_rows.append(("ward cloud publish -> broker.home.arpa:8883 (mTLS, PUBACK)",
                          "tcp 8883", got, "published", dt, p))
        p, dt = self.device("ota", "check", "--device", self.d, "--server",
                            "https://updates.example.com", "--ca", self.d + "/ca.pem", "--json")
        try:
            res = json.loads(p.stdout).get("result")
        except ValueError:
            res = None
        ward_rows.append(("ward ota check -> https://updates.example.com", "tcp 443",
                          res if p.returncode == 0 else "exit %d" % p.returncode,
                          "offered", dt, p))
        p, dt = self.device("ota", "apply", "--device", self.d, "--server",
                            "https://updates.example.com", "--ca", self.d + "/ca.pem", "--json")
        try:
            j = json.loads(p.stdout)
            res, wire = j.get("result"), j.get("stats", {}).get("wire_bytes")
        except ValueError:
            res, wire = None, None
        ward_rows.append(("ward ota apply -> https://updates.example.com (%s bytes)" % wire,
                          "tcp 443", res if p.returncode == 0 else "exit %d" % p.returncode,
                          "install-requested", dt, p))
        res = run_group("allowed")
        c1 = self.counters()
        for flow, proto, got, want, dt, p in ward_rows:
            self.row("allowed", flow, proto, "-", want, got, "-")
            if got != want:
                log("%s: exit %d\n%s%s" % (flow, p.returncode, p.stdout, p.stderr))
            log("  %s: %.2f s" % (flow, dt))
        for i, fl in enumerate(flows):
            if fl[0] == "allowed":
                self.row("allowed", fl[2], fl[3], base[i], "open" if fl[4]["kind"] == "tcp"
                         else "answered", res[i], "-")
        if c1 != c0:
            self.failures.append("allowed flows counted drops: %s -> %s" % (c0, c1))
        access = open(self.f + "/web/access.log").read()
        n = access.count("203.0.113.1 - ")
        log("nginx: %d requests from 203.0.113.1 (the router's WAN address, masqueraded)" % n)
        if n < 3:
            self.failures.append("nginx logged %d requests through the router, expected the "
                                 "manifest twice and the update" % n)
        log("mosquitto: %s" % next((ln for ln in mlog.splitlines()
                                    if "New client connected from 192.168.30.20" in ln), "-"))

        # 4. Each drop reason: its counter rises, no other moves.
        deltas = {}
        for g in groups:
            if g == "allowed":
                continue
            before = self.counters()
            res = run_group(g)
            after = self.counters()
            n = sum(1 for fl in flows if fl[0] == g)
            d = {k: after[k] - before[k] for k in after}
            deltas[g] = d
            for i, fl in enumerate(flows):
                if fl[0] == g:
                    self.row(g, fl[2], fl[3], base[i],
                             "dropped" if fl[4].get("watch") else "timeout", res[i], g)
            if d[g] < n:
                self.failures.append("counter %s rose by %d for %d probes" % (g, d[g], n))
            moved = {k: v for k, v in d.items() if k != g and v}
            if moved:
                self.failures.append("probes of %s moved other counters: %s" % (g, moved))
        log("probes with the ruleset done in %.1f s" % (time.time() - t0))

        # The table.
        w = max(len(r[0]) for r in self.rows)
        head = ("flow".ljust(w), "proto".ljust(9), "no ruleset".ljust(10), "expected".ljust(17),
                "with ruleset".ljust(17), "drop counter".ljust(13), "")
        log("")
        log("  ".join(head))
        for r in self.rows:
            log("  ".join((r[0].ljust(w), r[1].ljust(9), r[2].ljust(10), r[3].ljust(17),
                           str(r[4]).ljust(17), r[5].ljust(13), r[6])))
        log("")
        final = self.counters()
        log("counters (packets): " + ", ".join("%s %d" % (k, final[k]) for k in names))
        for g, d in deltas.items():
            log("  during the %s probes: %s" % (g, ", ".join("%s +%d" % (k, v)
                                                            for k, v in d.items() if v) or "none"))
        if self.failures:
            for f in self.failures:
                log("FAIL: " + f)
            return 1
        log("segment: %d flows as expected (%d with a ward device, %d probes run twice)"
            % (len(self.rows), len(ward_rows), len(flows)))
        return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(json.loads(sys.argv[3]), sys.argv[2])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        probe(json.loads(sys.argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ward", required=True)
    ap.add_argument("--ruleset", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    a.ward = os.path.abspath(a.ward)
    a.ruleset = os.path.abspath(a.ruleset)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    lab = Lab(a)
    t0 = time.time()
    try:
        rc = lab.main()
    except Skip as e:
        log("SKIP: %s" % e)
        return SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        rc = 1
    except SystemExit as e:
        log("interrupted (%s): removing what the test made" % e)
        raise
    finally:
        lab.cleanup()
    log("segment: %.1f s" % (time.time() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
