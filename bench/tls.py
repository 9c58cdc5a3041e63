"""The TLS set-up of the HTTP/2 pull benchmark: a throwaway CA and a certificate for
127.0.0.1 signed by it, made with openssl at bench time, and the nginx server block
that serves a directory over HTTPS with HTTP/2 on a loopback port.

The reference (libcurl) negotiates HTTP/2 by ALPN over TLS when the remote's URL is
https and its ``tls-ca-path`` names this CA; ostree-py (httpcore with h2) does the same.
"""

import os
import subprocess


_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _signed(workdir, name, cn, ext):
    """A key and a certificate ``name``.key/.pem for ``cn`` signed by ``workdir``'s CA."""
    key, cert = os.path.join(workdir, f"{name}.key"), os.path.join(workdir, f"{name}.pem")
    csr, extfile = os.path.join(workdir, f"{name}.csr"), os.path.join(workdir, f"{name}.ext")
    _openssl("req", *_EC, "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    with open(extfile, "w") as f:
        f.write(ext)
    _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(workdir, "ca.pem"),
             "-CAkey", os.path.join(workdir, "ca.key"), "-CAcreateserial",
             "-out", cert, "-days", "2", "-extfile", extfile)
    return cert, key


def make_test_ca(workdir):
    """(CA certificate, server certificate, server key) paths under ``workdir``: a CA made
    now and a certificate for 127.0.0.1 and localhost, valid for two days (P-256 keys)."""
    os.makedirs(workdir, exist_ok=True)
    ca = os.path.join(workdir, "ca.pem")
    _openssl("req", "-x509", *_EC, "-keyout", os.path.join(workdir, "ca.key"), "-out", ca,
             "-days", "2", "-subj", "/CN=ostree-py test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    cert, key = _signed(workdir, "server", "127.0.0.1",
                        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    return ca, cert, key


def make_client_cert(workdir):
    """(certificate, key) of a TLS client, signed by the CA that make_test_ca made in ``workdir``."""
    return _signed(workdir, "client", "ostree-py test client",
                   "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n")


def h2_server_block(port, root, cert, key, client_ca=None):
    """An nginx ``server`` block serving ``root`` over HTTPS with HTTP/2 (nginx 1.22's
    syntax: ``listen ... ssl http2``) on 127.0.0.1:``port``; with ``client_ca``, only
    to clients with a certificate that CA signed."""
    verify = f"ssl_verify_client on;\n        ssl_client_certificate {client_ca};\n        " \
        if client_ca else ""
    return f"""    server {{
        listen 127.0.0.1:{port} ssl http2;
        {verify}ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:bench:1m;
        keepalive_requests 100000;
        root {root};
    }}
"""
