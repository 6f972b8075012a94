/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Byte fixtures shared by the unit suites. Addresses: client 198.19.1.2 / 2001:db8:1::2,
 * server 198.19.100.2 / 2001:db8:100::2, router 198.19.50.1 / 2001:db8:50::1.
 * IPv4 header checksums are real (test_pkt verifies them with gwlb_inet_csum); transport
 * checksums are real except in the fragments and the quote in fx_icmp6_ptb.
 * Each line's comment starts with the offset of its first byte.
 */
#ifndef GWLB_TEST_FIXTURES_H
#define GWLB_TEST_FIXTURES_H

#include <stdint.h>

/*
 * GENEVE header as GWLB sends it (40 bytes): version 0, 8 option words,
 * protocol IPv4, VNI 0; ENI 0x076bc493b822cd32f, attachment 0x0123456789abcdef,
 * cookie 0xdeadbeef. Patch bytes 2-3 to 0x86dd for an IPv6 inner packet.
 */
static const uint8_t fx_geneve_aws[] = {
	0x08, 0x00, 0x08, 0x00,                          /*   0: ver 0, opt len 8 words; O=0 C=0; protocol 0x0800 */
	0x00, 0x00, 0x00, 0x00,                          /*   4: VNI 0, reserved */
	0x01, 0x08, 0x01, 0x02,                          /*   8: class 0x0108, type 1 (ENI), 2 words */
	0x76, 0xbc, 0x49, 0x3b, 0x82, 0x2c, 0xd3, 0x2f,  /*  12: ENI id 0x076bc493b822cd32f */
	0x01, 0x08, 0x02, 0x02,                          /*  20: class 0x0108, type 2 (attachment), 2 words */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,  /*  24: attachment id 0x0123456789abcdef */
	0x01, 0x08, 0x03, 0x01,                          /*  32: class 0x0108, type 3 (flow cookie), 1 word */
	0xde, 0xad, 0xbe, 0xef,                          /*  36: flow cookie 0xdeadbeef */
};

/* IPv4 TCP SYN 198.19.1.2:40000 -> 198.19.100.2:80 (40 bytes) */
static const uint8_t fx_ip4_tcp[] = {
	0x45, 0x00, 0x00, 0x28,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 40 */
	0x1c, 0x46, 0x40, 0x00,                          /*   4: id 0x1c46, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x06, 0x2d, 0x5f,                          /*   8: TTL 64, proto 6, header checksum 0x2d5f */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x9c, 0x40, 0x00, 0x50,                          /*  20: TCP source port 40000, destination port 80 */
	0x11, 0x22, 0x33, 0x44,                          /*  24: sequence number 0x11223344 */
	0x00, 0x00, 0x00, 0x00,                          /*  28: acknowledgment number 0x00000000 */
	0x50, 0x02, 0xfa, 0xf0,                          /*  32: data offset 5, flags 0x02, window 64240 */
	0xe2, 0xcf, 0x00, 0x00,                          /*  36: checksum 0xe2cf, urgent pointer 0 */
};

/*
 * IPv4 UDP DNS query 198.19.1.2:40002 -> 198.19.100.2:53 (40 bytes);
 * fx_icmp4_port_unreach quotes it
 */
static const uint8_t fx_ip4_udp[] = {
	0x45, 0x00, 0x00, 0x28,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 40 */
	0x2b, 0x01, 0x40, 0x00,                          /*   4: id 0x2b01, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x11, 0x1e, 0x99,                          /*   8: TTL 64, proto 17, header checksum 0x1e99 */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x9c, 0x42, 0x00, 0x35,                          /*  20: UDP source port 40002, destination port 53 */
	0x00, 0x14, 0xc5, 0x54,                          /*  24: UDP length 20, checksum 0xc554 */
	0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,  /*  28: payload */
	0x00, 0x00, 0x00, 0x00,
};

/*
 * IPv4 with IHL 6 (router alert option) carrying UDP
 * 198.19.1.2:5353 -> 198.19.100.2:5354 (36 bytes). Ports at offset 20 would read
 * the option bytes (0x9404, 0x0000), not the UDP ports.
 */
static const uint8_t fx_ip4_opts_udp[] = {
	0x46, 0x00, 0x00, 0x24,                          /*   0: IPv4 IHL 6 (24 bytes), TOS 0, total length 36 */
	0x3c, 0x02, 0x40, 0x00,                          /*   4: id 0x3c02, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x11, 0x78, 0x97,                          /*   8: TTL 64, proto 17, header checksum 0x7897 */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x94, 0x04, 0x00, 0x00,                          /*  20: option: router alert (0x94, length 4, value 0) */
	0x14, 0xe9, 0x14, 0xea,                          /*  24: UDP source port 5353, destination port 5354 */
	0x00, 0x0c, 0x10, 0xfe,                          /*  28: UDP length 12, checksum 0x10fe */
	0x67, 0x77, 0x6c, 0x62,                          /*  32: payload */
};

/*
 * IPv4 with IHL 7 (8 bytes of NOP/EOL options) carrying TCP
 * 198.19.1.2:40003 -> 198.19.100.2:8080 (48 bytes); fx_icmp4_time_exceeded quotes it
 */
static const uint8_t fx_ip4_opts_tcp[] = {
	0x47, 0x00, 0x00, 0x30,                          /*   0: IPv4 IHL 7 (28 bytes), TOS 0, total length 48 */
	0x4d, 0x03, 0x40, 0x00,                          /*   4: id 0x4d03, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x06, 0xf6, 0x96,                          /*   8: TTL 64, proto 6, header checksum 0xf696 */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,  /*  20: options: 7 x NOP, EOL */
	0x9c, 0x43, 0x1f, 0x90,                          /*  28: TCP source port 40003, destination port 8080 */
	0xa0, 0xb0, 0xc0, 0xd0,                          /*  32: sequence number 0xa0b0c0d0 */
	0x00, 0x00, 0x00, 0x00,                          /*  36: acknowledgment number 0x00000000 */
	0x50, 0x02, 0xfa, 0xf0,                          /*  40: data offset 5, flags 0x02, window 64240 */
	0xa6, 0x71, 0x00, 0x00,                          /*  44: checksum 0xa671, urgent pointer 0 */
};

/*
 * IPv6 TCP SYN [2001:db8:1::2]:40001 -> [2001:db8:100::2]:443 behind a
 * Hop-by-Hop and a Destination Options header (76 bytes)
 */
static const uint8_t fx_ip6_tcp_ext[] = {
	0x60, 0x00, 0x00, 0x00,                          /*   0: IPv6, traffic class 0, flow label 0 */
	0x00, 0x24, 0x00, 0x40,                          /*   4: payload length 36, next header 0, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*   8: source 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,  /*  24: destination 2001:db8:100::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  /*  40: Hop-by-Hop: next 60, len 0 (8 bytes), PadN 4 */
	0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,  /*  48: Destination Options: next 6 (TCP), len 0, PadN 4 */
	0x9c, 0x41, 0x01, 0xbb,                          /*  56: TCP source port 40001, destination port 443 */
	0x55, 0x66, 0x77, 0x88,                          /*  60: sequence number 0x55667788 */
	0x00, 0x00, 0x00, 0x00,                          /*  64: acknowledgment number 0x00000000 */
	0x50, 0x02, 0xfa, 0xf0,                          /*  68: data offset 5, flags 0x02, window 64240 */
	0xed, 0x8f, 0x00, 0x00,                          /*  72: checksum 0xed8f, urgent pointer 0 */
};

/*
 * IPv6 first fragment (offset 0, M=1, id 0x12345678) of a UDP datagram
 * [2001:db8:1::2]:5000 -> [2001:db8:100::2]:6000 (64 bytes)
 */
static const uint8_t fx_ip6_frag_first[] = {
	0x60, 0x00, 0x00, 0x00,                          /*   0: IPv6, traffic class 0, flow label 0 */
	0x00, 0x18, 0x2c, 0x40,                          /*   4: payload length 24, next header 44, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*   8: source 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,  /*  24: destination 2001:db8:100::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x11, 0x00, 0x00, 0x01,                          /*  40: Fragment: next 17 (UDP), offset 0, M=1 */
	0x12, 0x34, 0x56, 0x78,                          /*  44: identification 0x12345678 */
	0x13, 0x88, 0x17, 0x70,                          /*  48: UDP source port 5000, destination port 6000 */
	0x00, 0x20, 0x12, 0x34,                          /*  52: UDP length 32, checksum 0x1234 */
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,  /*  56: payload */
};

/* IPv6 later fragment (offset 16 bytes, M=0, id 0x12345678) of the same datagram (64 bytes) */
static const uint8_t fx_ip6_frag_later[] = {
	0x60, 0x00, 0x00, 0x00,                          /*   0: IPv6, traffic class 0, flow label 0 */
	0x00, 0x18, 0x2c, 0x40,                          /*   4: payload length 24, next header 44, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*   8: source 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,  /*  24: destination 2001:db8:100::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x11, 0x00, 0x00, 0x10,                          /*  40: Fragment: next 17 (UDP), offset 2 (16 bytes), M=0 */
	0x12, 0x34, 0x56, 0x78,                          /*  44: identification 0x12345678 */
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,  /*  48: fragment data (not a UDP header) */
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
};

/*
 * IPv4 first fragment (MF, offset 0, id 0xbeef) of a UDP datagram
 * 198.19.1.2:5000 -> 198.19.100.2:6000 (44 bytes)
 */
static const uint8_t fx_ip4_frag_first[] = {
	0x45, 0x00, 0x00, 0x2c,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 44 */
	0xbe, 0xef, 0x20, 0x00,                          /*   4: id 0xbeef, flags MF, fragment offset 0 (0 bytes) */
	0x40, 0x11, 0xaa, 0xa6,                          /*   8: TTL 64, proto 17, header checksum 0xaaa6 */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x13, 0x88, 0x17, 0x70,                          /*  20: UDP source port 5000, destination port 6000 */
	0x00, 0x28, 0x43, 0x21,                          /*  24: UDP length 40, checksum 0x4321 */
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,  /*  28: payload */
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* IPv4 last fragment (offset 3 = 24 bytes, id 0xbeef) of the same datagram (36 bytes) */
static const uint8_t fx_ip4_frag_later[] = {
	0x45, 0x00, 0x00, 0x24,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 36 */
	0xbe, 0xef, 0x00, 0x03,                          /*   4: id 0xbeef, flags 0, fragment offset 3 (24 bytes) */
	0x40, 0x11, 0xca, 0xab,                          /*   8: TTL 64, proto 17, header checksum 0xcaab */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,  /*  20: fragment data (not a UDP header) */
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

/*
 * ICMP echo request 198.19.1.2 -> 198.19.100.2, id 0x4242, seq 1 (36 bytes);
 * fx_icmp4_host_unreach_echo quotes it
 */
static const uint8_t fx_icmp4_echo[] = {
	0x45, 0x00, 0x00, 0x24,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 36 */
	0x5e, 0x04, 0x40, 0x00,                          /*   4: id 0x5e04, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x01, 0xeb, 0xa9,                          /*   8: TTL 64, proto 1, header checksum 0xeba9 */
	0xc6, 0x13, 0x01, 0x02,                          /*  12: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  16: destination 198.19.100.2 */
	0x08, 0x00, 0xfe, 0x28,                          /*  20: ICMP type 8 (echo request), code 0, checksum 0xfe28 */
	0x42, 0x42, 0x00, 0x01,                          /*  24: id 0x4242, sequence 1 */
	0x70, 0x69, 0x6e, 0x67, 0x64, 0x61, 0x74, 0x61,  /*  28: payload "pingdata" */
};

/* ICMPv6 echo request 2001:db8:1::2 -> 2001:db8:100::2, id 0x4243, seq 1 (52 bytes) */
static const uint8_t fx_icmp6_echo[] = {
	0x60, 0x00, 0x00, 0x00,                          /*   0: IPv6, traffic class 0, flow label 0 */
	0x00, 0x0c, 0x3a, 0x40,                          /*   4: payload length 12, next header 58, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*   8: source 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,  /*  24: destination 2001:db8:100::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x80, 0x00, 0x02, 0x2d,                          /*  40: ICMPv6 type 128 (echo request), code 0, checksum 0x022d */
	0x42, 0x43, 0x00, 0x01,                          /*  44: id 0x4243, sequence 1 */
	0x70, 0x69, 0x6e, 0x67,                          /*  48: payload "ping" */
};

/*
 * ICMP port unreachable 198.19.100.2 -> 198.19.1.2 quoting fx_ip4_udp cut to its
 * IP header + 8 bytes (the quoted total length, 40, runs past the quote) (56 bytes)
 */
static const uint8_t fx_icmp4_port_unreach[] = {
	0x45, 0x00, 0x00, 0x38,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 56 */
	0x6f, 0x05, 0x00, 0x00,                          /*   4: id 0x6f05, flags 0, fragment offset 0 (0 bytes) */
	0x40, 0x01, 0x1a, 0x95,                          /*   8: TTL 64, proto 1, header checksum 0x1a95 */
	0xc6, 0x13, 0x64, 0x02,                          /*  12: source 198.19.100.2 */
	0xc6, 0x13, 0x01, 0x02,                          /*  16: destination 198.19.1.2 */
	0x03, 0x03, 0x9b, 0x1c,                          /*  20: ICMP type 3, code 3, checksum 0x9b1c */
	0x00, 0x00, 0x00, 0x00,                          /*  24: unused */
	0x45, 0x00, 0x00, 0x28,                          /*  28: quoted: IPv4 IHL 5 (20 bytes), TOS 0, total length 40 */
	0x2b, 0x01, 0x40, 0x00,                          /*  32: quoted: id 0x2b01, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x11, 0x1e, 0x99,                          /*  36: quoted: TTL 64, proto 17, header checksum 0x1e99 */
	0xc6, 0x13, 0x01, 0x02,                          /*  40: quoted: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  44: quoted: destination 198.19.100.2 */
	0x9c, 0x42, 0x00, 0x35,                          /*  48: quoted: UDP source port 40002, destination port 53 */
	0x00, 0x14, 0xc5, 0x54,                          /*  52: quoted: UDP length 20, checksum 0xc554 */
};

/*
 * ICMP time exceeded from router 198.19.50.1 -> 198.19.1.2 quoting fx_ip4_opts_tcp
 * (IHL 7) cut to its IP header + 8 bytes (64 bytes)
 */
static const uint8_t fx_icmp4_time_exceeded[] = {
	0x45, 0x00, 0x00, 0x40,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 64 */
	0x7a, 0x06, 0x00, 0x00,                          /*   4: id 0x7a06, flags 0, fragment offset 0 (0 bytes) */
	0x40, 0x01, 0x41, 0x8d,                          /*   8: TTL 64, proto 1, header checksum 0x418d */
	0xc6, 0x13, 0x32, 0x01,                          /*  12: source 198.19.50.1 */
	0xc6, 0x13, 0x01, 0x02,                          /*  16: destination 198.19.1.2 */
	0x0b, 0x00, 0xd7, 0xaa,                          /*  20: ICMP type 11, code 0, checksum 0xd7aa */
	0x00, 0x00, 0x00, 0x00,                          /*  24: unused */
	0x47, 0x00, 0x00, 0x30,                          /*  28: quoted: IPv4 IHL 7 (28 bytes), TOS 0, total length 48 */
	0x4d, 0x03, 0x40, 0x00,                          /*  32: quoted: id 0x4d03, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x06, 0xf6, 0x96,                          /*  36: quoted: TTL 64, proto 6, header checksum 0xf696 */
	0xc6, 0x13, 0x01, 0x02,                          /*  40: quoted: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  44: quoted: destination 198.19.100.2 */
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,  /*  48: quoted: options: 7 x NOP, EOL */
	0x9c, 0x43, 0x1f, 0x90,                          /*  56: quoted: TCP source port 40003, destination port 8080 */
	0xa0, 0xb0, 0xc0, 0xd0,                          /*  60: quoted: sequence number 0xa0b0c0d0 */
};

/*
 * ICMP host unreachable from router 198.19.50.1 -> 198.19.1.2 quoting
 * fx_icmp4_echo cut to its IP header + 8 bytes (56 bytes)
 */
static const uint8_t fx_icmp4_host_unreach_echo[] = {
	0x45, 0x00, 0x00, 0x38,                          /*   0: IPv4 IHL 5 (20 bytes), TOS 0, total length 56 */
	0x8b, 0x07, 0x00, 0x00,                          /*   4: id 0x8b07, flags 0, fragment offset 0 (0 bytes) */
	0x40, 0x01, 0x30, 0x94,                          /*   8: TTL 64, proto 1, header checksum 0x3094 */
	0xc6, 0x13, 0x32, 0x01,                          /*  12: source 198.19.50.1 */
	0xc6, 0x13, 0x01, 0x02,                          /*  16: destination 198.19.1.2 */
	0x03, 0x01, 0xb4, 0x92,                          /*  20: ICMP type 3, code 1, checksum 0xb492 */
	0x00, 0x00, 0x00, 0x00,                          /*  24: unused */
	0x45, 0x00, 0x00, 0x24,                          /*  28: quoted: IPv4 IHL 5 (20 bytes), TOS 0, total length 36 */
	0x5e, 0x04, 0x40, 0x00,                          /*  32: quoted: id 0x5e04, flags DF, fragment offset 0 (0 bytes) */
	0x40, 0x01, 0xeb, 0xa9,                          /*  36: quoted: TTL 64, proto 1, header checksum 0xeba9 */
	0xc6, 0x13, 0x01, 0x02,                          /*  40: quoted: source 198.19.1.2 */
	0xc6, 0x13, 0x64, 0x02,                          /*  44: quoted: destination 198.19.100.2 */
	0x08, 0x00, 0xfe, 0x28,                          /*  48: quoted: ICMP type 8 (echo request), code 0, checksum 0xfe28 */
	0x42, 0x42, 0x00, 0x01,                          /*  52: quoted: id 0x4242, sequence 1 */
};

/*
 * ICMPv6 packet too big (MTU 1280) from router 2001:db8:50::1 -> 2001:db8:1::2
 * quoting a 1440-byte TCP segment of the fx_ip6_tcp_ext flow
 * ([2001:db8:1::2]:40001 -> [2001:db8:100::2]:443), cut to IPv6 header + TCP header (108 bytes)
 */
static const uint8_t fx_icmp6_ptb[] = {
	0x60, 0x00, 0x00, 0x00,                          /*   0: IPv6, traffic class 0, flow label 0 */
	0x00, 0x44, 0x3a, 0x40,                          /*   4: payload length 68, next header 58, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x50, 0x00, 0x00,  /*   8: source 2001:db8:50::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*  24: destination 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x02, 0x00, 0x1a, 0x98,                          /*  40: ICMPv6 type 2 (packet too big), code 0, checksum 0x1a98 */
	0x00, 0x00, 0x05, 0x00,                          /*  44: MTU 1280 */
	0x60, 0x00, 0x00, 0x00,                          /*  48: quoted: IPv6, traffic class 0, flow label 0 */
	0x05, 0x78, 0x06, 0x40,                          /*  52: quoted: payload length 1400, next header 6, hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,  /*  56: quoted: source 2001:db8:1::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, 0x00,  /*  72: quoted: destination 2001:db8:100::2 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x9c, 0x41, 0x01, 0xbb,                          /*  88: quoted: TCP source port 40001, destination port 443 */
	0x55, 0x66, 0x77, 0x89,                          /*  92: quoted: sequence number 0x55667789 */
	0x01, 0x02, 0x03, 0x04,                          /*  96: quoted: acknowledgment number 0x01020304 */
	0x50, 0x10, 0xfa, 0xf0,                          /* 100: quoted: data offset 5, flags 0x10, window 64240 */
	0x00, 0x00, 0x00, 0x00,                          /* 104: quoted: checksum 0x0000, urgent pointer 0 */
};

#endif
