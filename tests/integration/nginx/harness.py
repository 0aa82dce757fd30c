#!/usr/bin/python3
"""Real peers for ward's network tests: a test PKI, Debian's nginx over TLS,
and a proxy of ours that cuts, alters or stalls the server's bytes.

    harness.py [--keep] -- COMMAND [ARGS...]

Makes a temporary directory, starts everything on free ports of 127.0.0.1,
runs COMMAND with the environment below, stops everything it started (also
when COMMAND fails or the harness is interrupted) and exits with COMMAND's
status. Only the Python standard library and the openssl and nginx programs.

Environment given to COMMAND:
  WARD_NGINX_DIR        the temporary directory (nginx.conf, error.log, access.log)
  WARD_NGINX_WWW        the directory nginx serves (COMMAND writes its files here)
  WARD_CA_PEM/_DER      the test CA that issued every server certificate but one
  WARD_OTHER_CA_PEM     an unrelated CA
  WARD_HTTPS_PORT       TLS 1.3 only; certificate for DNS:localhost (no IP SAN,
                        so https://127.0.0.1 is a wrong host name)
  WARD_OTHER_PORT       the same site with a certificate from the other CA
  WARD_TLS12_PORT       the same site, TLS 1.2 only
  WARD_MTLS_PORT        TLS 1.3 requiring a client certificate of the client CA;
                        /whoami answers the client's subject
  WARD_CLIENT_CERT_DER  the client certificate (CN=ward-test-device)
  WARD_CLIENT_KEY_DER   its P-256 key, PKCS#8 DER
  WARD_PROXY_PORT       the proxy, in front of WARD_HTTPS_PORT
  WARD_PROXY_CTL        its control port: one command per TCP connection,
                        answered with one line:
                          cut N      the next connection: forward N bytes from
                                     the server, then close both sides
                          flip K [X] the next connection: XOR the server's byte
                                     at offset K with X (default 0x01)
                          stall N    the next connection: forward N bytes from
                                     the server, then nothing (kept open)
                          pass       the next connection untouched
                          stats      "conns=C s2c=B c2s=B action=A hit=0|1" for
                                     the last finished connection
                          plan A...  the next connections, in order, take the
                                     actions A (pass, cut:N, flip:K[:X],
                                     stall:N); later ones pass. Clears the log
                          log        one word per connection since the last
                                     plan, in the order they were accepted:
                                     "action:s2c:hit" (waits for them to end)
Locations on every server: the files of WARD_NGINX_WWW; /redirect (302),
/redirect/<anything> (302), /moved (301), /huge-header (a 5000-byte header),
/many-headers (40 header fields), /chunked/<file> (the file with chunked
framing and no length).
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def log(msg):
    print(f"harness: {msg}", file=sys.stderr, flush=True)


def run(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def free_ports(n):
    """n distinct free TCP ports of 127.0.0.1 (held until all are chosen)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


# ---- PKI ---------------------------------------------------------------------

def make_ca(d, name, cn):
    run(OPENSSL, "ecparam", "-name", "prime256v1", "-genkey", "-noout",
        "-out", f"{name}.key", cwd=d)
    run(OPENSSL, "req", "-x509", "-new", "-key", f"{name}.key", "-sha256",
        "-days", "30", "-subj", f"/CN={cn}", "-out", f"{name}.pem",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    run(OPENSSL, "x509", "-in", f"{name}.pem", "-outform", "DER",
        "-out", f"{name}.der", cwd=d)


def make_leaf(d, name, ca, cn, ext):
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    run(OPENSSL, "ecparam", "-name", "prime256v1", "-genkey", "-noout",
        "-out", f"{name}.key", cwd=d)
    run(OPENSSL, "req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}",
        "-out", f"{name}.csr", cwd=d)
    run(OPENSSL, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
        "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "7", "-sha256",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    run(OPENSSL, "x509", "-in", f"{name}.pem", "-outform", "DER",
        "-out", f"{name}.der", cwd=d)
    run(OPENSSL, "pkcs8", "-topk8", "-nocrypt", "-in", f"{name}.key",
        "-outform", "DER", "-out", f"{name}.key.der", cwd=d)


def make_pki(d):
    server_ext = ("basicConstraints=CA:FALSE\n"
                  "keyUsage=critical,digitalSignature\n"
                  "extendedKeyUsage=serverAuth\n"
                  "subjectAltName=DNS:localhost\n")
    make_ca(d, "ca", "ward test CA")
    make_ca(d, "other-ca", "unrelated CA")
    make_ca(d, "client-ca", "ward test device CA")
    make_leaf(d, "server", "ca", "localhost", server_ext)
    make_leaf(d, "other-server", "other-ca", "localhost", server_ext)
    make_leaf(d, "client", "client-ca", "ward-test-device",
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\n")


# ---- nginx -------------------------------------------------------------------

def nginx_conf(d, www, ports):
    big = "b" * 1000  # nginx takes at most 4 KiB per parameter: 5 x 1000
    many = "\n".join(f"    add_header X-Field-{i} v{i};" for i in range(40))
    common = f"""
  root {www};
  location = /redirect {{ return 302 https://localhost/elsewhere; }}
  location /redirect/ {{ return 302 https://localhost/elsewhere; }}
  location = /moved {{ return 301 /index.html; }}
  location = /huge-header {{
    set $b1 {big};
    set $big $b1$b1$b1$b1$b1;
    add_header X-Big $big;
    return 200 "huge\\n";
  }}
  location = /many-headers {{
{many}
    return 200 "many\\n";
  }}
  location /chunked/ {{
    alias {www}/;
    sub_filter 'never-in-the-file-QQQQ' 'x';
    sub_filter_once off;
    sub_filter_types *;
  }}
"""

    def server(port, cert, protocols, extra=""):
        return f"""
 server {{
  listen 127.0.0.1:{port} ssl;
  server_name localhost;
  ssl_certificate {d}/{cert}.pem;
  ssl_certificate_key {d}/{cert}.key;
  ssl_protocols {protocols};
{extra}{common} }}
"""
    mtls = (f"  ssl_verify_client on;\n"
            f"  ssl_client_certificate {d}/client-ca.pem;\n"
            f"  location = /whoami {{ return 200 \"$ssl_client_s_dn\"; }}\n")
    return f"""daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 128; }}
http {{
 default_type application/octet-stream;
 log_format ward '$server_port $ssl_protocol $ssl_cipher "$request" $status $body_bytes_sent';
 access_log {d}/access.log ward;
 client_body_temp_path {d}/tmp-body;
 proxy_temp_path {d}/tmp-proxy;
 fastcgi_temp_path {d}/tmp-fastcgi;
 uwsgi_temp_path {d}/tmp-uwsgi;
 scgi_temp_path {d}/tmp-scgi;
{server(ports["https"], "server", "TLSv1.3")}
{server(ports["other"], "other-server", "TLSv1.3")}
{server(ports["tls12"], "server", "TLSv1.2")}
{server(ports["mtls"], "server", "TLSv1.3", mtls)}
}}
"""


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if the harness dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def wait_listening(ports, proc, seconds=10.0):
    deadline = time.monotonic() + seconds
    for port in ports:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx not listening on {port}")
                time.sleep(0.05)


# ---- proxy -------------------------------------------------------------------

class Proxy:
    """Forwards 127.0.0.1:port to the upstream; each connection takes the
    action set last on the control port (then the action resets to pass)."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.lock = threading.Lock()
        self.next_action = ("pass", 0, 0)
        self.queue = []    # actions of `plan`, for the next connections in order
        self.logged = []   # stats of the connections since the last plan
        self.conns = 0
        self.last = None  # stats of the last finished connection
        self.active = 0
        self.idle = threading.Condition(self.lock)
        self.stopping = False
        self.sock = self._listen()
        self.ctl = self._listen()
        self.port = self.sock.getsockname()[1]
        self.ctl_port = self.ctl.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True),
                        threading.Thread(target=self._control, daemon=True)]
        for t in self.threads:
            t.start()

    @staticmethod
    def _listen():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return s

    def stop(self):
        self.stopping = True
        for s in (self.sock, self.ctl):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _control(self):
        while not self.stopping:
            try:
                c, _ = self.ctl.accept()
            except OSError:
                return
            with c:
                line = b""
                while not line.endswith(b"\n"):
                    chunk = c.recv(256)
                    if not chunk:
                        break
                    line += chunk
                c.sendall((self._command(line.decode().split()) + "\n").encode())

    @staticmethod
    def _parse_action(word):
        parts = word.split(":")
        kind = parts[0]
        if kind == "pass" and len(parts) == 1:
            return ("pass", 0, 0)
        if kind in ("cut", "stall") and len(parts) == 2:
            return (kind, int(parts[1]), 0)
        if kind == "flip" and len(parts) in (2, 3):
            return ("flip", int(parts[1]), int(parts[2], 0) if len(parts) == 3 else 1)
        raise ValueError(word)

    def _command(self, words):
        if not words:
            return "error empty"
        cmd, args = words[0], words[1:]
        if cmd == "plan":
            try:
                plan = [self._parse_action(w) for w in args]
            except ValueError:
                return "error arguments"
            with self.lock:
                self.idle.wait_for(lambda: self.active == 0, timeout=5)
                self.queue = plan
                self.logged = []
            return "ok"
        if cmd == "log":
            with self.lock:
                self.idle.wait_for(lambda: self.active == 0, timeout=5)
                done = sorted(self.logged, key=lambda st: st["n"])
                return " ".join(f"{st['action']}:{st['s2c']}:{int(st['hit'])}" for st in done)
        try:
            if cmd == "pass":
                action = ("pass", 0, 0)
            elif cmd in ("cut", "stall"):
                action = (cmd, int(args[0]), 0)
            elif cmd == "flip":
                action = ("flip", int(args[0]), int(args[1], 0) if len(args) > 1 else 1)
            elif cmd == "stats":
                with self.lock:
                    # Wait until the connections the client closed are done.
                    self.idle.wait_for(lambda: self.active == 0, timeout=5)
                    if self.last is None:
                        return f"conns={self.conns} s2c=0 c2s=0 action=none hit=0"
                    s = self.last
                    return (f"conns={self.conns} s2c={s['s2c']} c2s={s['c2s']} "
                            f"action={s['action']} hit={int(s['hit'])}")
            else:
                return f"error unknown {cmd}"
        except (IndexError, ValueError):
            return "error arguments"
        with self.lock:
            self.next_action = action
        return "ok"

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                if self.queue:
                    action = self.queue.pop(0)
                else:
                    action = self.next_action
                    self.next_action = ("pass", 0, 0)
                self.conns += 1
                self.active += 1
                n = self.conns
            threading.Thread(target=self._serve, args=(c, action, n), daemon=True).start()

    def _serve(self, client, action, conn_no):
        kind, n, x = action
        st = {"s2c": 0, "c2s": 0, "action": kind, "hit": False, "n": conn_no}
        try:
            up = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            self._done(st)
            return
        up.settimeout(None)
        closed = threading.Event()

        def c2s():
            try:
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    st["c2s"] += len(data)
                    up.sendall(data)
            except OSError:
                pass
            closed.set()
            try:
                up.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=c2s, daemon=True)
        t.start()
        try:
            while True:
                data = up.recv(65536)
                if not data:
                    break
                off = st["s2c"]
                if kind in ("cut", "stall") and off + len(data) >= n:
                    data = data[: n - off]
                    if data:
                        client.sendall(data)
                    st["s2c"] += len(data)
                    st["hit"] = True
                    if kind == "stall":
                        closed.wait()  # hold both sides open until the end
                    break
                if kind == "flip" and off <= n < off + len(data):
                    b = bytearray(data)
                    b[n - off] ^= x
                    data = bytes(b)
                    st["hit"] = True
                client.sendall(data)
                st["s2c"] += len(data)
        except OSError:
            pass
        for s in (client, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        t.join(timeout=5)
        client.close()
        up.close()
        self._done(st)

    def _done(self, st):
        with self.lock:
            self.last = st
            self.logged.append(st)
            self.active -= 1
            self.idle.notify_all()


# ---- main --------------------------------------------------------------------

def main(argv):
    keep = False
    if argv and argv[0] == "--keep":
        keep, argv = True, argv[1:]
    if not argv or argv[0] != "--" or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1:]
    d = tempfile.mkdtemp(prefix="ward-nginx-")
    www = os.path.join(d, "www")
    os.mkdir(www)
    nginx = proxy = None

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    status = 1
    try:
        make_pki(d)
        names = ["https", "other", "tls12", "mtls"]
        for attempt in range(3):
            # A port found free may be taken before nginx binds it (other
            # tests run alongside): then nginx exits and we try new ones.
            ports = dict(zip(names, free_ports(len(names))))
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                f.write(nginx_conf(d, www, ports))
            nginx = subprocess.Popen([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                                      "-e", os.path.join(d, "error.log")],
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
            try:
                wait_listening(list(ports.values()), nginx)
                break
            except RuntimeError:
                if nginx.poll() is None or attempt == 2:
                    raise
                log(f"nginx did not start on {ports}, retrying")
        proxy = Proxy(ports["https"])
        env = dict(os.environ,
                   WARD_NGINX_DIR=d, WARD_NGINX_WWW=www,
                   WARD_CA_PEM=os.path.join(d, "ca.pem"),
                   WARD_CA_DER=os.path.join(d, "ca.der"),
                   WARD_OTHER_CA_PEM=os.path.join(d, "other-ca.pem"),
                   WARD_HTTPS_PORT=str(ports["https"]),
                   WARD_OTHER_PORT=str(ports["other"]),
                   WARD_TLS12_PORT=str(ports["tls12"]),
                   WARD_MTLS_PORT=str(ports["mtls"]),
                   WARD_CLIENT_CERT_DER=os.path.join(d, "client.der"),
                   WARD_CLIENT_KEY_DER=os.path.join(d, "client.key.der"),
                   WARD_PROXY_PORT=str(proxy.port),
                   WARD_PROXY_CTL=str(proxy.ctl_port))
        log(f"nginx pid {nginx.pid} in {d}; ports {ports}, proxy {proxy.port} "
            f"(control {proxy.ctl_port})")
        child = subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent)
        try:
            status = child.wait()
            if status < 0:
                status = 128 - status  # killed by a signal
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if status != 0:
            log(f"{cmd[0]} exited with {status}; nginx error log:")
            with open(os.path.join(d, "error.log"), errors="replace") as f:
                sys.stderr.write("".join(f.readlines()[-30:]))
    except subprocess.CalledProcessError as e:
        log(f"{' '.join(e.cmd)} failed: {e.stderr.decode(errors='replace')}")
    except RuntimeError as e:
        log(str(e))
    finally:
        if proxy is not None:
            proxy.stop()
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        if keep:
            log(f"kept {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
