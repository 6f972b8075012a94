#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The sni verdict module: real curl through gwlbsim + gwlbd to an HTTPS server (its own
# certificate, names allowed.example.com, www.bad.test, other.test) and the lab's plain HTTP
# server, with `module = sni allow=*.example.com deny=*.bad.test unknown=drop`. The allowed
# names download, the denied ones and a name outside the allow list time out; the module's
# counters, the decisions in conntrack marks (accepted 65536, dropped 131072) and the few
# packets an allowed download sends to userspace are checked.
set -eu
. "$(dirname "$0")/lib.sh"

command -v conntrack >/dev/null || skip "conntrack (conntrack-tools) not installed"
command -v nft >/dev/null || skip "nft not installed"
command -v openssl >/dev/null || skip "openssl not installed"
modir=${GWLB_TEST_MODULE_DIR:-$top_builddir/src/modules/.libs}
[ -e "$modir/verdict_sni.so" ] || skip "sni verdict module not built ($modir)"

TLS_PORT=8443

lab_test_lab 1

step "HTTPS server in srv with its own certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$LAB_DIR/key.pem" -out "$LAB_DIR/cert.pem" \
	-subj /CN=allowed.example.com -days 1 \
	-addext subjectAltName=DNS:allowed.example.com,DNS:www.bad.test,DNS:other.test \
	>/dev/null 2>&1 || fail "openssl could not make a certificate"
cat >"$LAB_DIR/https.py" <<'EOF'
# HTTPS on [::]:PORT serving DIR with CERT/KEY.
import functools, http.server, socket, ssl, sys
port, directory, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
srv = Server(("::", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
# the handshake happens in the request thread: a client whose hello is dropped must not
# block the accept loop
srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
srv.serve_forever()
EOF
lab_bg srv https "$PYTHON" "$LAB_DIR/https.py" "$TLS_PORT" "$LAB_DIR/www" "$LAB_DIR/cert.pem" \
	"$LAB_DIR/key.pem"
wait_for "lab_exec srv ss -Hltn 'sport = :$TLS_PORT' | grep -q LISTEN" 10 ||
	fail "HTTPS server did not start: $(cat "$LAB_DIR/https.log")"
ok "HTTPS server on port $TLS_PORT"

cat >"$LAB_DIR/policy.conf" <<EOF2
[queue]
count = 1

[policy]
module = sni allow=*.example.com deny=*.bad.test unknown=drop

[module-path]
dir = $modir
EOF2
lab_gwlbd_start --policy "$LAB_DIR/policy.conf" --logging policy=info -c "$LAB_HOOK" \
	-r "$LAB_HOOK" -p "$LAB_HEALTH_PORT" || fail "could not start gwlbd --policy"
expect_eq "/json sni module loaded" \
	"$(gwlbd_json '[.policy.modules[] | select(.name == "sni")] | length')" 1

# allowed NODE URL [CURL ARGS...]: the whole blob arrives.
allowed()
{
	local node=$1 url=$2 size sha
	shift 2
	echo "+ [$node] curl -sk -m 20 -o FILE $* $url"
	lab_exec "$node" curl -sk -g -m 20 -o "$LAB_DIR/dl.$node" "$@" "$url" ||
		fail "$url ($*) from $node: curl failed with status $?, expected the download"
	size=$(stat -c %s "$LAB_DIR/dl.$node")
	sha=$(sha256sum "$LAB_DIR/dl.$node" | cut -d' ' -f1)
	rm -f "$LAB_DIR/dl.$node"
	[ "$size" = "$LAB_BLOB_SIZE" ] || fail "$url ($*): $size bytes, expected $LAB_BLOB_SIZE"
	[ "$sha" = "$LAB_BLOB_SHA" ] || fail "$url ($*): sha256 $sha, expected $LAB_BLOB_SHA"
	ok "allowed: $url $* ($size bytes, sha256 matches)"
}

# denied NODE URL [CURL ARGS...]: curl fails (times out) and receives nothing.
denied()
{
	local node=$1 url=$2 rc=0 t0 t1 size
	shift 2
	echo "+ [$node] curl -sk -m 4 -o FILE $* $url"
	t0=$(date +%s)
	lab_exec "$node" curl -sk -g -m 4 -o "$LAB_DIR/dl.$node" "$@" "$url" || rc=$?
	t1=$(date +%s)
	size=$(stat -c %s "$LAB_DIR/dl.$node" 2>/dev/null || echo 0)
	rm -f "$LAB_DIR/dl.$node"
	[ "$rc" != 0 ] || fail "$url ($*) from $node: curl succeeded ($size bytes), expected it denied"
	[ "$size" = 0 ] || fail "$url ($*): $size bytes arrived, expected none"
	ok "denied: $url $* (curl status $rc after $((t1 - t0)) s, nothing received)"
}

# ct_has PORT DECISION WHAT: a conntrack entry to PORT carries DECISION (1 accepted, 2
# dropped) in mark bits 16-17; bits 0-15 are the ENI's index.
ct_has()
{
	local port=$1 d=$2 what=$3 ct
	echo "+ [app] conntrack -L -p tcp --dport $port"
	ct=$(lab_exec app conntrack -L -p tcp --dport "$port" 2>/dev/null)
	echo "$ct"
	[ -n "$(ct_with_decision "$d" <<<"$ct")" ] ||
		fail "no conntrack entry to port $port with decision $d in its mark ($what)"
	ok "$what: conntrack mark carries decision $d"
}

queued() { gwlbd_json '.policy.queues[0].received // 0'; }
tunnel_rx() { gwlbd_json '.enis[0].tunnelIn.packets // 0'; }

step "allowed HTTPS name: downloads, and only its first packets are queued"
q0=$(queued)
rx0=$(tunnel_rx)
allowed cli1 "https://allowed.example.com:$TLS_PORT/blob" \
	--resolve "allowed.example.com:$TLS_PORT:$LAB_SRV4"
q1=$(queued)
rx1=$(tunnel_rx)
echo "packets through gwlbd: $((rx1 - rx0)), queued to userspace: $((q1 - q0))"
expect_gt "packets of the download through gwlbd" "$((rx1 - rx0))" 1000
[ "$((q1 - q0))" -lt 30 ] ||
	fail "$((q1 - q0)) packets of one allowed download were queued: it must be offloaded"
ok "only $((q1 - q0)) of $((rx1 - rx0)) packets went to userspace"
ct_has "$TLS_PORT" 1 "allowed HTTPS flow"

step "denied HTTPS names"
denied cli1 "https://www.bad.test:$TLS_PORT/" --resolve "www.bad.test:$TLS_PORT:$LAB_SRV4"
denied cli1 "https://other.test:$TLS_PORT/" --resolve "other.test:$TLS_PORT:$LAB_SRV4"

step "HTTP Host"
allowed cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob" -H "Host: allowed.example.com"
ct_has "$LAB_HTTP_PORT" 1 "allowed HTTP flow"
denied cli1 "http://$LAB_SRV4:$LAB_HTTP_PORT/blob" -H "Host: www.bad.test"

step "what is neither TLS nor HTTP follows unknown=drop"
echo "+ [cli1] printf 'SSH-2.0-x' | nc to $LAB_SRV4:$LAB_HTTP_PORT"
rc=0
lab_exec cli1 "$PYTHON" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
s.settimeout(3)
data = s.recv(100)
sys.exit(0 if data else 2)' "$LAB_SRV4" "$LAB_HTTP_PORT" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "a non-TLS, non-HTTP stream got an answer with unknown=drop"
ok "non-TLS, non-HTTP stream got no answer (status $rc)"

step "a ClientHello split over several TCP segments"
cat >"$LAB_DIR/splithello.py" <<'EOF'
# splithello.py NAME ADDR PORT: a TLS handshake for NAME whose ClientHello goes out in
# 100-byte segments 50 ms apart; exit 0 when the handshake completes.
import socket, ssl, sys, time
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
rx, tx = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(rx, tx, server_hostname=name)
s = socket.create_connection((addr, port), timeout=3)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = tx.read()
print("ClientHello: %d bytes in %d segments" % (len(hello), (len(hello) + 99) // 100))
for i in range(0, len(hello), 100):
    s.sendall(hello[i:i + 100])
    time.sleep(0.05)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        out = tx.read()
        if out:
            s.sendall(out)
        try:
            data = s.recv(65536)
        except socket.timeout:
            print("timeout")
            sys.exit(1)
        if not data:
            print("closed")
            sys.exit(1)
        rx.write(data)
s.sendall(tx.read())
print("handshake done: %s" % tls.version())
EOF
nm0=$(gwlbd_json '.policy.modules[] | select(.name == "sni") | .counters.need_more')
echo "+ [cli1] splithello.py allowed.example.com $LAB_SRV4 $TLS_PORT"
lab_exec cli1 "$PYTHON" "$LAB_DIR/splithello.py" allowed.example.com "$LAB_SRV4" "$TLS_PORT" ||
	fail "split ClientHello for allowed.example.com: no handshake"
nm1=$(gwlbd_json '.policy.modules[] | select(.name == "sni") | .counters.need_more')
expect_gt "need_more verdicts for the split hello" "$((nm1 - nm0))" 2
ok "split ClientHello for allowed.example.com: handshake completed"
echo "+ [cli1] splithello.py www.bad.test $LAB_SRV4 $TLS_PORT"
if lab_exec cli1 "$PYTHON" "$LAB_DIR/splithello.py" www.bad.test "$LAB_SRV4" "$TLS_PORT"; then
	fail "split ClientHello for www.bad.test: the handshake completed, expected it denied"
fi
ok "split ClientHello for www.bad.test: denied"

step "module counters"
json=$(lab_health /json)
sni=$(jq '.policy.modules[] | select(.name == "sni")' <<<"$json")
echo "$sni" | jq -c '{verdicts, counters}'
allowed_n=$(jq '.counters.allowed' <<<"$sni")
denied_n=$(jq '.counters.denied' <<<"$sni")
[ "$allowed_n" -ge 3 ] || fail "sni counter allowed = $allowed_n, expected >= 3"
ok "sni allowed = $allowed_n (>= 3)"
[ "$denied_n" -ge 4 ] || fail "sni counter denied = $denied_n, expected >= 4"
ok "sni denied = $denied_n (>= 4)"
expect_gt "sni unknown" "$(jq '.counters.unknown' <<<"$sni")" 0
expect_gt "sni flows_tracked" "$(jq '.counters.flows_tracked' <<<"$sni")" 7
grep -q "allow tls allowed.example.com" "$LAB_DIR/gwlbd.log" ||
	fail "no log line for the allowed TLS name"
grep -q "deny tls www.bad.test" "$LAB_DIR/gwlbd.log" || fail "no log line for the denied TLS name"
ok "$(grep -m1 'deny tls www.bad.test' "$LAB_DIR/gwlbd.log" | cut -c1-160)"

step "denied flows in conntrack"
ct=$(lab_exec app conntrack -L -p tcp --dport "$TLS_PORT" 2>/dev/null)
[ "$(ct_with_decision 2 <<<"$ct" | wc -l)" -ge 3 ] ||
	fail "expected three dropped flows (decision 2 in the mark) to port $TLS_PORT: $ct"
ok "three HTTPS flows to port $TLS_PORT with decision 2 (dropped) in their mark"
ct_has "$LAB_HTTP_PORT" 2 "denied HTTP flow"

lab_gwlbd_stop

echo
echo "PASS: $TEST_NAME"
