#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what gwlbnf needs to build, test and run its lab on Debian 12.
# Idempotent: installs only what is missing. Run as root.
set -eu

BUILD="build-essential autoconf automake libtool pkg-config"
LIBS="libmicrohttpd-dev libjansson-dev libmnl-dev check libnftnl-dev libnftables-dev libnetfilter-queue-dev libnetfilter-conntrack-dev libinih-dev"
FUZZ="clang libclang-rt-dev"
LAB="iproute2 jq curl python3 procps iputils-ping nftables iptables conntrack openssl"

missing=""
for p in $BUILD $LIBS $FUZZ $LAB; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# One update per run; a stale or empty package list makes install fail.
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "install-deps: all packages present"
fi

# Namespaces, tun and the lab need these modules; they are built in on many kernels.
for m in tun veth; do
	modprobe -q "$m" 2>/dev/null || true
done
