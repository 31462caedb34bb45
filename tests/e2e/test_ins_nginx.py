"""nginx (master + 2 workers, epoll, accept4, sendfile, IPv4 and IPv6
listeners) runs unmodified under `moat-ins --isolate`; curl in another
namespace gets every file; curl itself runs under moat-ins as a client,
with the server's name resolved by the broker."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import need
from inslib import SRV_ADDR, SRV_ADDR6, curl, moat_ins, port_open, proc_output, two_namespaces

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
user root;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; use epoll; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 30s;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {extra}
    server {{
        listen 80 default_server;
        listen [::]:80 default_server;
        root {d}/www;
    }}
}}
"""


def nginx_dir(extra=""):
    """A private nginx prefix with a config, a 1 KiB and a 1 MiB file."""
    d = tempfile.mkdtemp(prefix="moat-nginx-")
    os.makedirs(os.path.join(d, "www"))
    with open(os.path.join(d, "www", "1k.bin"), "wb") as f:
        f.write(os.urandom(1024))
    with open(os.path.join(d, "www", "1m.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(d=d, extra=extra))
    return d


def nginx_argv(d):
    return ["nginx", "-e", "stderr", "-p", d, "-c", os.path.join(d, "nginx.conf")]


def test_nginx_under_isolation(topo):
    need("nginx", "curl")
    srv, cli = two_namespaces(topo)
    d = nginx_dir()
    try:
        p = topo.spawn(srv, *moat_ins("--isolate", "--", *nginx_argv(d)))
        port_open(topo, cli, SRV_ADDR, 80)
        codes = [curl(topo, cli, "http://%s/1k.bin" % SRV_ADDR) for _ in range(30)]
        codes += [curl(topo, cli, "http://[%s]/1k.bin" % SRV_ADDR6) for _ in range(10)]
        big = topo.run(cli, "curl", "-s", "-m", "10", "-o", "/dev/null", "-w",
                       "%{http_code} %{size_download}", "http://%s/1m.bin" % SRV_ADDR).stdout
        # keep-alive: several requests on one connection
        ka = topo.run(cli, "curl", "-s", "-m", "10", "-o", "/dev/null", "-o", "/dev/null",
                      "-o", "/dev/null", "-w", "%{num_connects} ",
                      "http://%s/1k.bin" % SRV_ADDR, "http://%s/1k.bin" % SRV_ADDR,
                      "http://%s/1k.bin" % SRV_ADDR).stdout.split()
        # the app's namespace has no network of its own: nginx's sockets are the broker's
        pids = topo.run(srv, "pgrep", "-f", "nginx: worker", check=False).stdout.split()
        out = None
    finally:
        out = proc_output(p) if "p" in locals() else ""
        shutil.rmtree(d, ignore_errors=True)
    assert codes == ["200"] * 40, out
    assert big == "200 %d" % (1 << 20), out
    assert ka == ["1", "0", "0"], ka
    assert len(pids) >= 2, out


def test_curl_client_resolves_through_broker(topo):
    """curl under `moat-ins --isolate` in the client namespace: the name is
    resolved by the broker (from a hosts file only its mount namespace sees)
    and the connection is made on a brokered socket."""
    need("nginx", "curl", "unshare")
    srv, cli = two_namespaces(topo)
    d = nginx_dir()
    hosts = os.path.join(d, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n%s web.moat.test\n" % SRV_ADDR)
    try:
        topo.spawn(srv, *nginx_argv(d))
        port_open(topo, cli, SRV_ADDR, 80)
        # The broker gets a private /etc/hosts; the isolated curl inherits that mount
        # namespace too, but has no network to reach any DNS server by itself.
        script = ('mount --bind "$1" /etc/hosts && shift && exec "$@"')
        r = topo.run(cli, "unshare", "-m", "--propagation", "private", "sh", "-c", script,
                     "sh", hosts, *moat_ins("-v", "--isolate", "--", "curl", "-s", "-m", "5",
                                            "-o", "/dev/null", "-w", "%{http_code}",
                                            "http://web.moat.test/1k.bin"),
                     check=False, timeout=30)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert r.stdout.strip() == "200", r.stdout + r.stderr
    assert "resolving web.moat.test" in r.stderr, r.stderr
