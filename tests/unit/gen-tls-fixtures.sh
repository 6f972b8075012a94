#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Capture what real clients send first on a TCP connection and turn it into the byte
# fixtures of tests/unit/test_tls.c and test_http.c (tests/unit/fixtures_tls.h), plus seeds
# for tests/fuzz/fuzz_sni (tests/fuzz/corpus_sni/).
#
#   tests/unit/gen-tls-fixtures.sh [OUT_HEADER [SEED_DIR]]
#
# Not run by make check: the output is committed, and every run differs (client random,
# session id and key shares are fresh). Run it as root to capture inside a private network
# namespace that the script creates and deletes; otherwise it listens on 127.0.0.1 only.
# Needs python3, openssl (s_client) and curl. Nothing is sent anywhere else: the clients
# resolve www.example.com to 127.0.0.1 (-connect / --resolve).
#
# The recorder is a python3 listener that accepts one connection, keeps what the client
# sends until it has been idle for half a second, and closes without answering, so every
# client stops after its first flight (the ClientHello, or the HTTP request).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/fixtures_tls.h}
seeds=${2:-$(cd "$here/.." && pwd)/fuzz/corpus_sni}
TLS_PORT=4433
HTTP_PORT=8080
NAME=www.example.com

for tool in python3 openssl curl; do
	command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gwlb-tlsfx.XXXXXX")
ns=
cleanup()
{
	[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run=()
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
	ns=gwlb-tlsfx-$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	run=(ip netns exec "$ns")
	where="in a private network namespace"
else
	where="in the host's network namespace"
fi

cat >"$work/record.py" <<'EOF'
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(1)
open(path + ".ready", "w").close()
s.settimeout(20)
c, _ = s.accept()
c.settimeout(0.5)
data = b""
while True:
	try:
		chunk = c.recv(65536)
	except socket.timeout:
		break
	if not chunk:
		break
	data += chunk
c.close()
open(path, "wb").write(data)
EOF

# capture FILE PORT CLIENT...: record what CLIENT sends first to 127.0.0.1:PORT.
capture()
{
	local file=$work/$1 port=$2 pid
	shift 2
	"${run[@]}" python3 "$work/record.py" "$port" "$file" &
	pid=$!
	for _ in $(seq 100); do
		[ -e "$file.ready" ] && break
		sleep 0.05
	done
	[ -e "$file.ready" ] || { echo "$0: recorder did not start" >&2; exit 1; }
	"${run[@]}" timeout 10 "$@" </dev/null >/dev/null 2>&1 || true
	wait "$pid"
	[ -s "$file" ] || { echo "$0: nothing captured from: $*" >&2; exit 1; }
	echo "captured $(stat -c %s "$file") bytes: $*" >&2
}

C_TLS13="openssl s_client -connect 127.0.0.1:$TLS_PORT -servername $NAME"
C_TLS12="openssl s_client -connect 127.0.0.1:$TLS_PORT -tls1_2 -servername $NAME"
C_NOSNI="openssl s_client -connect 127.0.0.1:$TLS_PORT -noservername"
C_CURL="curl -sk https://$NAME:$TLS_PORT/ --resolve $NAME:$TLS_PORT:127.0.0.1"
C_HTTP="curl -s http://$NAME:$HTTP_PORT/ --resolve $NAME:$HTTP_PORT:127.0.0.1"

# shellcheck disable=SC2086
{
	capture tls13_openssl.bin $TLS_PORT $C_TLS13
	capture tls12_openssl.bin $TLS_PORT $C_TLS12
	capture tls_nosni.bin $TLS_PORT $C_NOSNI
	capture tls13_curl.bin $TLS_PORT $C_CURL
	capture http_curl.bin $HTTP_PORT $C_HTTP
}

cat >"$work/emit.py" <<'EOF'
import os, sys

work, out, seeds = sys.argv[1], sys.argv[2], sys.argv[3]
cmds = dict(a.split("=", 1) for a in sys.argv[4:])

def be16(b, o):
	return b[o] << 8 | b[o + 1]

def hello_of(stream):
	"""The ClientHello message (4-byte header + body) of a capture, reassembled."""
	hs, o = b"", 0
	while len(hs) < 4 or len(hs) < 4 + (hs[1] << 16 | hs[2] << 8 | hs[3]):
		assert stream[o] == 22 and stream[o + 1] == 3, "not a TLS handshake record"
		n = be16(stream, o + 3)
		hs += stream[o + 5:o + 5 + n]
		o += 5 + n
	return hs[:4 + (hs[1] << 16 | hs[2] << 8 | hs[3])]

def record(hs, version=b"\x03\x01"):
	return b"\x16" + version + len(hs).to_bytes(2, "big") + hs

def layout(hello):
	"""Offsets (in the one-record stream 5 + hello) of every length field of the hello."""
	L = {"rec_len": 3, "hs_len": 6}
	o = 5 + 4 + 2 + 32
	b = record(hello)
	L["sid_len"] = o; o += 1 + b[o]
	L["cs_len"] = o; o += 2 + be16(b, o)
	L["comp_len"] = o; o += 1 + b[o]
	L["ext_len"] = o; end = o + 2 + be16(b, o); o += 2
	for k in ("sni_ext_len", "sni_list_len", "sni_name_len", "sni_name"):
		L[k] = 0
	while o < end:
		t, n = be16(b, o), be16(b, o + 2)
		if t == 0:
			L["sni_ext_len"] = o + 2
			L["sni_list_len"] = o + 4
			assert b[o + 6] == 0
			L["sni_name_len"] = o + 7
			L["sni_name"] = o + 9
		o += 4 + n
	assert o == end == len(b)
	return L

def grease(hello):
	"""Insert GREASE (RFC 8701) the way BoringSSL/Chrome do: a GREASE cipher suite first,
	a GREASE extension (empty) first and another (one zero byte) last, all lengths fixed."""
	b = bytearray(hello)
	o = 4 + 2 + 32
	o += 1 + b[o]
	cs = be16(b, o)
	b[o:o + 2] = (cs + 2).to_bytes(2, "big")
	b[o + 2:o + 2] = b"\x0a\x0a"
	o += 2 + cs + 2
	o += 1 + b[o]
	ext = be16(b, o)
	first, last = b"\x1a\x1a\x00\x00", b"\xfa\xfa\x00\x01\x00"
	b[o:o + 2] = (ext + len(first) + len(last)).to_bytes(2, "big")
	b[o + 2:o + 2] = first
	b += last
	n = len(b) - 4
	b[1:4] = n.to_bytes(3, "big")
	return bytes(b)

def carray(name, data, comment):
	s = "/*\n" + "".join(" * " + l + "\n" for l in comment) + " */\n"
	s += "static const uint8_t %s[%d] = {\n" % (name, len(data))
	for i in range(0, len(data), 12):
		s += "\t" + " ".join("0x%02x," % x for x in data[i:i + 12]) + "\n"
	return s + "};\n\n"

def clayout(name, L):
	s = "static const struct fx_tls_layout %s_layout = {\n" % name
	for k, v in L.items():
		s += "\t.%s = %d,\n" % (k, v)
	return s + "};\n\n"

raw = {k: open(os.path.join(work, k + ".bin"), "rb").read()
       for k in ("tls13_openssl", "tls12_openssl", "tls_nosni", "tls13_curl", "http_curl")}

body = ""
for name in ("tls13_openssl", "tls12_openssl", "tls13_curl", "tls_nosni"):
	data = raw[name]
	hello = hello_of(data)
	assert data == record(hello, data[1:3]), name + ": capture is not exactly one record"
	body += carray("fx_" + name, data, [
		"captured by gen-tls-fixtures.sh: what this command sent first (one TLS record",
		"holding a %d-byte ClientHello):" % len(hello), "  " + cmds[name]])
	body += clayout("fx_" + name, layout(hello))

hello = hello_of(raw["tls13_openssl"])
cut = layout(hello)["sni_name"] - 5 + 4
ver = raw["tls13_openssl"][1:3]
split = record(hello[:cut], ver) + record(hello[cut:], ver)
body += carray("fx_tls13_split", split, [
	"derived by gen-tls-fixtures.sh from fx_tls13_openssl: the same ClientHello fragmented",
	"into two handshake records, the first ending 4 bytes into the host name."])

g = grease(hello_of(raw["tls13_curl"]))
body += carray("fx_tls13_grease", record(g, raw["tls13_curl"][1:3]), [
	"hand-crafted by gen-tls-fixtures.sh from fx_tls13_curl (Debian's curl uses OpenSSL,",
	"which sends no GREASE): cipher suite 0x0a0a inserted first, an empty extension",
	"0x1a1a inserted first and an extension 0xfafa holding one zero byte appended last,",
	"with the cipher suite, extension, handshake and record lengths fixed up."])
body += clayout("fx_tls13_grease", layout(g))

body += carray("fx_http_curl", raw["http_curl"], [
	"captured by gen-tls-fixtures.sh: what this command sent first:",
	"  " + cmds["http_curl"]])

hdr = """/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GENERATED by tests/unit/gen-tls-fixtures.sh -- do not edit; run the script again.
 * What real clients sent first on a TCP connection, all asking for www.example.com, to a
 * recorder listening on 127.0.0.1 %s.
 * Every run gives different bytes (fresh random, session id and key shares); the layouts
 * give the offsets, in the array, of each length field of the ClientHello, computed by the
 * script independently of src/lib/tls.c.
 */
#ifndef GWLB_TEST_FIXTURES_TLS_H
#define GWLB_TEST_FIXTURES_TLS_H

#include <stddef.h>
#include <stdint.h>

struct fx_tls_layout {
	size_t rec_len;		/* 2 bytes: record length */
	size_t hs_len;		/* 3 bytes: handshake message length */
	size_t sid_len;		/* 1 byte: legacy_session_id length */
	size_t cs_len;		/* 2 bytes: cipher_suites length */
	size_t comp_len;	/* 1 byte: legacy_compression_methods length */
	size_t ext_len;		/* 2 bytes: extensions length */
	size_t sni_ext_len;	/* 2 bytes: server_name extension length (0: no SNI) */
	size_t sni_list_len;	/* 2 bytes: server_name_list length */
	size_t sni_name_len;	/* 2 bytes: host_name length */
	size_t sni_name;	/* the host_name bytes */
};

""" % os.environ.get("FX_WHERE", "a private network namespace")
open(out, "w").write(hdr + body + "#endif\n")

os.makedirs(seeds, exist_ok=True)
for name, data in (("tls13-openssl", raw["tls13_openssl"]), ("tls12-openssl", raw["tls12_openssl"]),
		   ("tls-nosni", raw["tls_nosni"]), ("tls13-curl", raw["tls13_curl"]),
		   ("tls13-split", split), ("tls13-grease", record(g, raw["tls13_curl"][1:3])),
		   ("http-curl", raw["http_curl"])):
	open(os.path.join(seeds, name), "wb").write(data)
EOF

FX_WHERE=$where python3 "$work/emit.py" "$work" "$out" "$seeds" \
	"tls13_openssl=$C_TLS13" "tls12_openssl=$C_TLS12" "tls_nosni=$C_NOSNI" \
	"tls13_curl=$C_CURL" "http_curl=$C_HTTP"
echo "wrote $out and seeds in $seeds" >&2
