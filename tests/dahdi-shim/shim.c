/*
 * A stand-in for DAHDI, preloaded into gatewayd (LD_PRELOAD) by
 * tests/pri_dahdi_shim.rs, so the gateway's DAHDI span driver runs without a card
 * or kernel module. It answers what the driver asks of /dev/dahdi/channel:
 *
 * - open("/dev/dahdi/channel") gives a SOCK_SEQPACKET socket instead;
 * - DAHDI_SPECIFY(n): for the D-channel (n = $DAHDI_SHIM_DCHANNEL) the socket is
 *   connected to $DAHDI_SHIM_SOCKET, where the libpri peer listens (one message per
 *   frame plus the 2-octet FCS slot: what DAHDI's HDLC-FCS mode reads and writes);
 *   a bearer gets one end of a socketpair whose other end a thread feeds with 20 ms
 *   of A-law silence every 20 ms and drains;
 * - DAHDI_GET_PARAMS reports span 1 and the signalling dchan= / bchan= would give;
 *   DAHDI_SPANSTAT reports no alarm, DAHDI_GETEVENT no event; the set-up requests
 *   (buffers, block size, law, flush, HDLC-FCS mode) succeed and do nothing.
 *
 * Events: with $DAHDI_SHIM_CONTROL set, a datagram socket there takes "ALARM",
 * "NOALARM", "BADFCS", "ABORT" or "OVERRUN". The D-channel then runs through a relay
 * thread, which queues the event and puts a 1-octet marker message in the gateway's
 * way: its read of the marker fails with ELAST, as DAHDI's read does while an event
 * waits, and DAHDI_GETEVENT hands the event over.
 *
 * Other reads and writes are the sockets' own; everything else goes to the real
 * system calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 4096
/* 0: not ours; else the channel number + 1 once specified, -1 before. */
static int chan_of[MAX_FDS];

#define ELAST 500
#define MARKER 0xEE
/* The gateway's D-channel fd, -1 before. */
static int d_fd = -1;
/* Events waiting for DAHDI_GETEVENT. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int events[64];
static int ev_in, ev_out;

static void push_event(int e)
{
	pthread_mutex_lock(&ev_lock);
	if (ev_in - ev_out < 64)
		events[ev_in++ % 64] = e;
	pthread_mutex_unlock(&ev_lock);
}

static int pop_event(void)
{
	int e = 0;

	pthread_mutex_lock(&ev_lock);
	if (ev_out < ev_in)
		e = events[ev_out++ % 64];
	pthread_mutex_unlock(&ev_lock);
	return e;
}

static int event_named(const char *name)
{
	static const struct { const char *name; int value; } table[] = {
		{ "ALARM", 4 }, { "NOALARM", 5 }, { "ABORT", 6 }, { "OVERRUN", 7 }, { "BADFCS", 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(name, table[i].name))
			return table[i].value;
	return 0;
}

struct relay {
	int gw;		/* our end of the gateway's socketpair */
	int peer;	/* the connection to libpri */
	int ctl;	/* the control socket */
};

/* Moves messages between the gateway and libpri; control datagrams become events. */
static void *relay(void *arg)
{
	struct relay *r = arg;
	unsigned char buf[4096];

	for (;;) {
		struct pollfd p[3] = { { r->gw, POLLIN, 0 }, { r->peer, POLLIN, 0 }, { r->ctl, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			n = recv(r->gw, buf, sizeof(buf), 0);
			if (n <= 0)
				return NULL;
			send(r->peer, buf, n, 0);
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			n = recv(r->peer, buf, sizeof(buf), 0);
			if (n <= 0)
				return NULL;
			send(r->gw, buf, n, 0);
		}
		if (p[2].revents & POLLIN) {
			n = recv(r->ctl, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				unsigned char marker = MARKER;
				int e;

				buf[n] = 0;
				e = event_named((char *)buf);
				if (e) {
					push_event(e);
					send(r->gw, &marker, 1, 0);
				}
			}
		}
	}
}

ssize_t read(int fd, void *buf, size_t count)
{
	if (fd == d_fd && d_fd >= 0) {
		unsigned char first;
		ssize_t n = recv(fd, &first, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

		if (n == 1 && first == MARKER) {
			recv(fd, &first, 1, 0);
			errno = ELAST;
			return -1;
		}
	}
	return syscall(SYS_read, fd, buf, count);
}

static int ours(int fd)
{
	return fd >= 0 && fd < MAX_FDS && chan_of[fd] != 0;
}

static int shim_open(const char *path, int flags, mode_t mode)
{
	if (!strcmp(path, "/dev/dahdi/channel")) {
		int type = SOCK_SEQPACKET | SOCK_CLOEXEC | ((flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
		int fd = socket(AF_UNIX, type, 0);
		if (fd >= 0 && fd < MAX_FDS)
			chan_of[fd] = -1;
		return fd;
	}
	return syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return shim_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return shim_open(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	if (!strcmp(path, "/dev/dahdi/channel"))
		return shim_open(path, flags, mode);
	return syscall(SYS_openat, dir, path, flags, mode);
}

int openat64(int dir, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	if (!strcmp(path, "/dev/dahdi/channel"))
		return shim_open(path, flags, mode);
	return syscall(SYS_openat, dir, path, flags, mode);
}

/* A bearer's far end: 160 octets of A-law silence every 20 ms; what comes is drained. */
static void *bearer_far_end(void *arg)
{
	int fd = (int)(long)arg;
	unsigned char block[160], sink[2048];
	struct timespec t = { 0, 20 * 1000 * 1000 };

	memset(block, 0xD5, sizeof(block));
	for (;;) {
		if (send(fd, block, sizeof(block), MSG_DONTWAIT) < 0 && errno != EAGAIN)
			return NULL;
		while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		nanosleep(&t, NULL);
	}
}

static int specify(int fd, int chan)
{
	const char *d = getenv("DAHDI_SHIM_DCHANNEL");
	int flags = fcntl(fd, F_GETFL);
	int s;

	if (d && atoi(d) == chan) {
		struct sockaddr_un sa;
		const char *path = getenv("DAHDI_SHIM_SOCKET");

		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		if (!path || strlen(path) >= sizeof(sa.sun_path))
			return -EINVAL;
		strcpy(sa.sun_path, path);
		s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -ENXIO;
		if (getenv("DAHDI_SHIM_CONTROL")) {
			static struct relay r;
			struct sockaddr_un ca;
			int pair[2];
			pthread_t t;

			memset(&ca, 0, sizeof(ca));
			ca.sun_family = AF_UNIX;
			strncpy(ca.sun_path, getenv("DAHDI_SHIM_CONTROL"), sizeof(ca.sun_path) - 1);
			r.ctl = socket(AF_UNIX, SOCK_DGRAM, 0);
			unlink(ca.sun_path);
			if (r.ctl < 0 || bind(r.ctl, (struct sockaddr *)&ca, sizeof(ca)) < 0)
				return -ENXIO;
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) < 0)
				return -ENXIO;
			r.gw = pair[1];
			r.peer = s;
			if (pthread_create(&t, NULL, relay, &r))
				return -ENXIO;
			pthread_detach(t);
			s = pair[0];
		}
		d_fd = fd;
	} else {
		int pair[2];
		pthread_t t;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) < 0)
			return -ENXIO;
		if (pthread_create(&t, NULL, bearer_far_end, (void *)(long)pair[1]))
			return -ENXIO;
		pthread_detach(t);
		s = pair[0];
	}
	dup2(s, fd);
	close(s);
	fcntl(fd, F_SETFL, flags);
	chan_of[fd] = chan + 1;
	return 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int *i;
	int nr = req & 0xFF, chan;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!ours(fd) || ((req >> 8) & 0xFF) != 0xDA)
		return syscall(SYS_ioctl, fd, req, arg);
	i = arg;
	chan = chan_of[fd] - 1;
	switch (nr) {
	case 38: { /* DAHDI_SPECIFY */
		int r = specify(fd, *i);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return 0;
	}
	case 5: { /* DAHDI_GET_PARAMS: struct dahdi_params, 136 octets */
		const char *d = getenv("DAHDI_SHIM_DCHANNEL");
		memset(arg, 0, 136);
		i[0] = chan;
		i[1] = 1;                      /* spanno */
		i[2] = chan;                   /* chanpos: span 1 starts at channel 1 */
		i[3] = (d && atoi(d) == chan) ? 0x380 /* HDLCFCS */ : 0x80 /* CLEAR */;
		i[10] = 2;                     /* curlaw: A-law */
		return 0;
	}
	case 10: /* DAHDI_SPANSTAT: struct dahdi_spaninfo (packed); alarms at 64 */
		memset((char *)arg + 4, 0, 310);
		return 0;
	case 8: /* DAHDI_GETEVENT */
		*i = pop_event();
		return 0;
	case 34: /* DAHDI_CHANNO */
		*i = chan;
		return 0;
	case 1: case 3: case 27: case 37: case 39: /* block size, flush, bufinfo, HDLC-FCS, law */
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}
