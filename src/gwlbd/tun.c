/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "tun.h"

int gwlb_tun_probe(char *why, size_t len)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		if (err == ENOENT || err == ENODEV)
			snprintf(why, len, "no /dev/net/tun: load the tun module (modprobe tun)");
		else
			snprintf(why, len, "cannot open /dev/net/tun: %s", strerror(err));
		return -err;
	}
	close(fd);
	return 0;
}

int gwlb_tun_open(const char *name, unsigned nq, int *fds)
{
	struct ifreq ifr;
	unsigned i;
	int err;

	for (i = 0; i < nq; i++)
		fds[i] = -1;
	for (i = 0; i < nq; i++) {
		fds[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fds[i] < 0) {
			err = -errno;
			goto fail;
		}
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(fds[i], TUNSETIFF, &ifr) < 0) {
			err = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	for (i = 0; i < nq; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return err;
}

/* /proc/sys/net/<family>/conf/<ifname>/<key>, opened with flags; -errno. */
static int sysctl_open(const char *family, const char *ifname, const char *key, int flags)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* /proc/sys/net/<family>/conf/<ifname>/<key> = val */
static int sysctl_write(const char *family, const char *ifname, const char *key, const char *val)
{
	ssize_t n;
	int fd = sysctl_open(family, ifname, key, O_WRONLY);

	if (fd < 0)
		return fd;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A conf/<if>/<key> value: 0 or 1 and up; -errno (-ENOENT: no such key on this kernel). */
static int sysctl_read(const char *family, const char *ifname, const char *key)
{
	char buf[16] = "";
	ssize_t n;
	int fd = sysctl_open(family, ifname, key, O_RDONLY);

	if (fd < 0)
		return fd;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n < 0 ? -errno : atoi(buf);
}

int gwlb_tun_forward(const char *name)
{
	int ret, missing = 0;

	ret = sysctl_write("ipv4", name, "forwarding", "1");
	if (ret < 0)
		return ret;
	ret = sysctl_write("ipv6", name, "force_forwarding", "1");
	if (ret == -ENOENT)
		missing |= GWLB_TUN_FWD_V6;
	else if (ret < 0)
		return ret;
	return missing;
}

bool gwlb_tun_host_forwards(bool v6, char *dev, size_t devlen)
{
	const char *fam = v6 ? "ipv6" : "ipv4", *key = v6 ? "force_forwarding" : "forwarding";
	char dir[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (sysctl_read(fam, "all", "forwarding") > 0) {
		snprintf(dev, devlen, "all");
		return true;
	}
	snprintf(dir, sizeof(dir), "/proc/sys/net/%s/conf", fam);
	d = opendir(dir);
	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") ||
		    !strcmp(de->d_name, "default") || !strncmp(de->d_name, "gwi-", 4) ||
		    !strncmp(de->d_name, "gwo-", 4))
			continue;
		if (sysctl_read(fam, de->d_name, key) > 0) {
			snprintf(dev, devlen, "%s", de->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static int link_addrgenmode_none(unsigned ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *spec, *in6;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned seq = 1, portid;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, spec);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, ret, seq, portid, NULL, NULL);
	ret = ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

int gwlb_tun_setup(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	unsigned ifindex;
	int fd, ret = 0;

	ifindex = if_nametoindex(name);
	if (!ifindex)
		return -errno;
	/* A kernel without IPv6 has nothing to silence. */
	ret = link_addrgenmode_none(ifindex);
	if (ret < 0 && ret != -EAFNOSUPPORT && ret != -EOPNOTSUPP)
		return ret;
	ret = sysctl_write("ipv4", name, "rp_filter", "0");
	if (ret < 0)
		return ret;
	sysctl_write("ipv6", name, "accept_ra", "0");

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = mtu;
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	/* Replies burst when a batch of flows answers at once; 500 is tun's small default. */
	ifr.ifr_qlen = 1000;
	ioctl(fd, SIOCSIFTXQLEN, &ifr);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	/*
	 * Point-to-point with no multicast: otherwise the kernel sends MLD reports out of
	 * every new device (it joins ff02::2 once forwarding is on), which are noise to GWLB.
	 */
	ifr.ifr_flags |= IFF_UP;
	ifr.ifr_flags &= ~IFF_MULTICAST;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}
