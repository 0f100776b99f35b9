/*
 * pri-peer: Debian's libpri on one end of a test span, for the gateway's tests.
 *
 *   peer listen|connect <socket-path> net|cpe <action> [out.pcap]
 *
 * Actions:
 *   answer           answer every incoming call (CALL PROCEEDING, ALERTING, CONNECT)
 *   reject:<cause>   clear every incoming call with that Q.850 cause (17 busy, 1 ...)
 *   call:<number>    once the D-channel is up, call <number> from 2000 (A-law speech,
 *                    B-channel PEER_CHANNEL, default 1, exclusive); clear 1 s after answer;
 *                    answer incoming calls as "answer" does
 *   restart:<chan>   once the D-channel is up, RESTART B-channel <chan> (0: interface)
 *   overlap:<n>      answer incoming calls once the called number has <n> digits,
 *                    asking for more (SETUP ACKNOWLEDGE) while it is shorter
 *   idle             only keep the D-channel up
 *
 * The span is an AF_UNIX SOCK_SEQPACKET socket carrying the D-channel: one message is
 * one Q.921 frame from the address octet, followed by 2 FCS-slot octets (what a DAHDI
 * D-channel read gives libpri; see tdm::test_span for the format). libpri writes and
 * strips those 2 octets itself.
 *
 * Output on stdout, one line each, flushed:
 *   LISTENING                      (listen mode, once the socket accepts connections)
 *   EVENT <NAME> [key=value ...]   one per libpri event
 *   RESULT OK | RESULT TIMEOUT     the last line: OK when the far end closed the span
 * libpri's own messages go to stderr. Exit status 0 for OK, 2 for TIMEOUT, 1 for a
 * usage or socket error.
 *
 * Environment: PEER_SECONDS (run time bound, default 30), PEER_DEBUG (libpri debug
 * mask, decimal, to stderr), PEER_T200 / PEER_T203 (ms) and PEER_N200 (libpri timers),
 * PEER_CHANNEL (B-channel of call:), PEER_PRES=restricted (calling number presentation
 * restricted in call:), PEER_MORE=<digits> (call: dials in overlap: the number without
 * Sending complete, then these digits one INFORMATION each after SETUP ACKNOWLEDGE),
 * PEER_HOLD_MS (how long call: keeps an answered call, default 1000).
 *
 * Bearer audio (PEER_BEARER=<path of the span's bearer socket>, connected at start): one
 * SEQPACKET message is | B-channel (1) | A-law octets |. While a call is answered the
 * peer sends PEER_TONE Hz (default 1000) on its channel every 20 ms, and measures what
 * arrives on it: at the end of the call it prints
 *   EVENT BEARER channel=<n> blocks=<received> heard_hz=<zero-crossing estimate> rms=<level>
 * over the blocks that were not silent. DTMF in the received audio is decoded by spandsp's
 * receiver (an implementation independent of the gateway's): each digit prints
 *   EVENT DTMF digit=<d>
 * and PEER_DIGITS=<digits> makes the peer send those digits in-band with spandsp's DTMF
 * generator one second after the answer (instead of its tone while they play).
 *
 * Every frame sent and received is written to out.pcap (when given) as
 * LINKTYPE_LINUX_LAPD (177): a 16-octet pseudo-header giving the direction and whether
 * this side is the network, then the frame without the FCS slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpri.h>
#include <spandsp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <math.h>

static FILE *pcap;
static int bearer_fd = -1;
static int node_type;
static int far_end_closed;
/* B-channels held by calls, as a PBX's channel table (libpri leaves that to its user). */
static unsigned char busy[32];

static int free_channel(void)
{
	int c;

	for (c = 1; c < 32; c++)
		if (c != 16 && !busy[c])
			return c;
	return 0;
}

static void put16be(unsigned char *p, unsigned v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

static void pcap_open(const char *path)
{
	/* pcap global header, native byte order (magic tells readers which). */
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t zone;
		uint32_t sigfigs, snaplen, linktype;
	} hdr = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 177 };

	pcap = fopen(path, "wb");
	if (!pcap) {
		perror(path);
		exit(1);
	}
	fwrite(&hdr, sizeof(hdr), 1, pcap);
	fflush(pcap);
}

/* One record: LINUX_LAPD pseudo-header (big-endian) and the frame without FCS slot. */
static void pcap_frame(const unsigned char *frame, int len, int sent)
{
	struct timeval tv;
	uint32_t rec[4];
	unsigned char ph[16];

	if (!pcap || len <= 0)
		return;
	gettimeofday(&tv, NULL);
	rec[0] = (uint32_t)tv.tv_sec;
	rec[1] = (uint32_t)tv.tv_usec;
	rec[2] = rec[3] = (uint32_t)(len + sizeof(ph));
	memset(ph, 0, sizeof(ph));
	put16be(ph + 0, sent ? 4 : 0);	/* pkttype: 4 sent by us, 0 received */
	put16be(ph + 2, 0x20fd);	/* hatype: LAPD */
	put16be(ph + 4, 1);		/* halen */
	ph[6] = node_type == PRI_NETWORK;	/* addr[0]: 1 when we are the network */
	put16be(ph + 14, 0x0030);	/* protocol */
	fwrite(rec, sizeof(rec), 1, pcap);
	fwrite(ph, sizeof(ph), 1, pcap);
	fwrite(frame, len, 1, pcap);
	fflush(pcap);
}

static int span_read(struct pri *pri, void *buf, int buflen)
{
	ssize_t n = read(pri_fd(pri), buf, buflen);

	if (n == 0) {
		far_end_closed = 1;
		return 0;
	}
	if (n < 0)
		return 0;
	pcap_frame(buf, (int)n - 2, 0);
	return (int)n;
}

static int span_write(struct pri *pri, void *buf, int buflen)
{
	ssize_t n = write(pri_fd(pri), buf, buflen);

	if (n < 0)
		return 0;
	pcap_frame(buf, buflen - 2, 1);
	return (int)n;
}

static void lib_message(struct pri *pri, char *s)
{
	(void)pri;
	fprintf(stderr, "libpri: %s", s);
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static int open_span(const char *mode, const char *path, double deadline)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "socket path too long\n");
		exit(1);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	if (!strcmp(mode, "connect")) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			exit(1);
		}
		return fd;
	}
	if (strcmp(mode, "listen")) {
		fprintf(stderr, "mode must be listen or connect\n");
		exit(1);
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		perror("bind/listen");
		exit(1);
	}
	printf("LISTENING\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ms = (int)((deadline - now_s()) * 1000);

		if (ms <= 0) {
			printf("RESULT TIMEOUT\n");
			exit(2);
		}
		if (poll(&p, 1, ms) > 0) {
			int c = accept(fd, NULL, NULL);

			if (c < 0) {
				perror("accept");
				exit(1);
			}
			close(fd);
			return c;
		}
	}
}

/* G.711 A-law (Table 1a): sign, 3-bit segment, 4-bit step, even bits inverted. */
static unsigned char alaw_of(int x)
{
	int sign = x >= 0 ? 0x80 : 0, mag = x >= 0 ? x : -x - 1, seg = 0, step;

	mag >>= 3;	/* 13-bit magnitude scale */
	if (mag > 0xfff)
		mag = 0xfff;
	while (seg < 7 && mag >= (32 << seg))
		seg++;
	step = seg ? (mag >> seg) & 0xf : (mag >> 1) & 0xf;
	return (unsigned char)((sign | (seg << 4) | step) ^ 0x55);
}

static int linear_of_alaw(unsigned char a)
{
	int v = a ^ 0x55, seg = (v >> 4) & 7, step = v & 0xf, mag;

	mag = seg ? ((step << 1) | 0x21) << (seg - 1) : (step << 1) | 1;
	mag <<= 3;
	return v & 0x80 ? mag : -mag;
}

/* The B-channel audio of the current call. */
struct audio {
	int channel;		/* 0: no call with audio */
	double next_send;	/* when the next 20 ms block goes out */
	double phase;
	long blocks, loud, crossings, loud_samples;
	double energy;
	int last_sign;
};

static struct audio audio;
static dtmf_rx_state_t *dtmf_in;
static dtmf_tx_state_t *dtmf_out;
static long audio_sent;

static void dtmf_heard(void *user, const char *digits, int len)
{
	int i;

	(void)user;
	for (i = 0; i < len; i++)
		printf("EVENT DTMF digit=%c\n", digits[i]);
	fflush(stdout);
}

static void audio_start(int channel)
{
	memset(&audio, 0, sizeof(audio));
	audio.channel = channel;
	audio.next_send = 0;
	audio_sent = 0;
	dtmf_in = dtmf_rx_init(dtmf_in, dtmf_heard, NULL);
	dtmf_out = dtmf_tx_init(dtmf_out);
}

static void audio_stop(void)
{
	if (audio.channel && bearer_fd >= 0) {
		double secs = audio.loud_samples / 8000.0;

		printf("EVENT BEARER channel=%d blocks=%ld heard_hz=%.0f rms=%.0f\n",
		       audio.channel, audio.blocks,
		       secs > 0 ? audio.crossings / 2.0 / secs : 0.0,
		       audio.loud_samples ? sqrt(audio.energy / audio.loud_samples) : 0.0);
	}
	audio.channel = 0;
}

static void audio_send(double now)
{
	unsigned char msg[1 + 160];
	double hz = (double)env_long("PEER_TONE", 1000);
	int i;

	if (!audio.channel || bearer_fd < 0 || now < audio.next_send)
		return;
	audio.next_send = audio.next_send ? audio.next_send + 0.02 : now + 0.02;
	msg[0] = (unsigned char)audio.channel;
	if (++audio_sent == 50 && getenv("PEER_DIGITS"))
		dtmf_tx_put(dtmf_out, getenv("PEER_DIGITS"), -1);
	{
		int16_t tones[160];
		int n = dtmf_tx(dtmf_out, tones, 160);

		for (i = 0; i < 160; i++) {
			if (n > 0) {
				msg[1 + i] = alaw_of(i < n ? tones[i] : 0);
				continue;
			}
			msg[1 + i] = alaw_of((int)(8000.0 * sin(audio.phase)));
			audio.phase += 2 * M_PI * hz / 8000.0;
		}
	}
	if (audio.phase > 2 * M_PI * 1000)
		audio.phase = fmod(audio.phase, 2 * M_PI);
	(void)!write(bearer_fd, msg, sizeof(msg));
}

static void audio_receive(void)
{
	unsigned char msg[1 + 1024];
	ssize_t n = read(bearer_fd, msg, sizeof(msg));
	double e = 0;
	int i;

	if (n <= 1 || !audio.channel || msg[0] != audio.channel)
		return;
	audio.blocks++;
	{
		int16_t pcm[1024];

		for (i = 1; i < n; i++)
			pcm[i - 1] = (int16_t)linear_of_alaw(msg[i]);
		dtmf_rx(dtmf_in, pcm, (int)(n - 1));
	}
	for (i = 1; i < n; i++) {
		int x = linear_of_alaw(msg[i]);

		e += (double)x * x;
	}
	if (sqrt(e / (n - 1)) < 200)	/* silence or comfort noise: not a tone */
		return;
	audio.energy += e;
	audio.loud_samples += n - 1;
	for (i = 1; i < n; i++) {
		int sign = linear_of_alaw(msg[i]) >= 0;

		if (audio.last_sign != sign)
			audio.crossings++;
		audio.last_sign = sign;
	}
}

static int open_bearer(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bearer socket\n");
		exit(1);
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect bearer");
		exit(1);
	}
	return fd;
}

struct peer {
	struct pri *pri;
	char digits[512];	/* overlap: the called number so far */
	const char *action;	/* "answer", "idle" or "call:<number>" */
	int called;		/* the call of "call:" was placed */
	q931_call *call;
	double hangup_at;	/* when to clear an answered outgoing call, 0 if not */
};

/* Appends received called-number digits, as many as fit. */
static void append_digits(struct peer *p, const char *more)
{
	size_t have = strlen(p->digits);
	size_t add = strlen(more);

	if (add > sizeof(p->digits) - 1 - have)
		add = sizeof(p->digits) - 1 - have;
	memcpy(p->digits + have, more, add);
	p->digits[have + add] = '\0';
}

static void place_call(struct peer *p)
{
	struct pri_sr *sr = pri_sr_new();
	const char *pres = getenv("PEER_PRES");

	int ch = (int)env_long("PEER_CHANNEL", 1);

	p->call = pri_new_call(p->pri);
	busy[ch & 31] = 1;
	pri_sr_set_channel(sr, ch, 1, 0);
	pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
	pri_sr_set_called(sr, (char *)p->action + 5, PRI_UNKNOWN, getenv("PEER_MORE") ? 0 : 1);
	pri_sr_set_caller(sr, "2000", NULL, PRI_UNKNOWN,
			  pres && !strcmp(pres, "restricted") ?
			  PRES_PROHIB_USER_NUMBER_NOT_SCREENED :
			  PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
	if (pri_setup(p->pri, p->call, sr))
		printf("EVENT SETUP_FAILED\n");
	pri_sr_free(sr);
	p->called = 1;
}

static void on_event(struct peer *p, pri_event *e)
{
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		printf("EVENT DCHAN_UP\n");
		if (!strncmp(p->action, "call:", 5) && !p->called)
			place_call(p);
		if (!strncmp(p->action, "restart:", 8) && !p->called) {
			p->called = 1;
			pri_reset(p->pri, atoi(p->action + 8));
		}
		break;
	case PRI_EVENT_DCHAN_DOWN:
		printf("EVENT DCHAN_DOWN\n");
		break;
	case PRI_EVENT_RING:
		printf("EVENT RING called=%s calling=%s channel=%d pres=%d cref=%d\n",
		       e->ring.callednum, e->ring.callingnum, e->ring.channel,
		       e->ring.callingpres, e->ring.cref);
		if (!strcmp(p->action, "answer") || !strncmp(p->action, "call:", 5)) {
			int ch = e->ring.channel & 0xff;

			/* Glare: the network side keeps its channel; it gives the caller
			 * another one if the SETUP allows it (preferred), else refuses (44).
			 * The user side yields: the network will move or refuse its call. */
			if (ch > 0 && ch < 32 && busy[ch] && node_type == PRI_NETWORK) {
				if (!e->ring.flexible || !(ch = free_channel())) {
					printf("EVENT REFUSING channel=%d\n", e->ring.channel & 0xff);
					pri_hangup(p->pri, e->ring.call, 44);
					break;
				}
			}
			if (ch > 0 && ch < 32)
				busy[ch] = 1;
			printf("EVENT ANSWERING channel=%d\n", ch);
			audio_start(ch);
			pri_proceeding(p->pri, e->ring.call, ch, 0);
			pri_acknowledge(p->pri, e->ring.call, ch, 0);
			pri_answer(p->pri, e->ring.call, ch, 0);
		} else if (!strncmp(p->action, "overlap:", 8)) {
			int ch = e->ring.channel & 0xff;

			p->digits[0] = '\0';
			append_digits(p, e->ring.callednum);
			if ((int)strlen(p->digits) >= atoi(p->action + 8)) {
				printf("EVENT ANSWERING channel=%d number=%s\n", ch, p->digits);
				pri_proceeding(p->pri, e->ring.call, ch, 0);
				pri_acknowledge(p->pri, e->ring.call, ch, 0);
				pri_answer(p->pri, e->ring.call, ch, 0);
			} else {
				printf("EVENT NEED_MORE channel=%d\n", ch);
				pri_need_more_info(p->pri, e->ring.call, ch, 0);
			}
		} else if (!strncmp(p->action, "reject:", 7)) {
			/* As a PBX does: take the call, then clear it with the cause. */
			pri_proceeding(p->pri, e->ring.call, e->ring.channel, 0);
			pri_hangup(p->pri, e->ring.call, atoi(p->action + 7));
		}
		break;
	case PRI_EVENT_SETUP_ACK:
		printf("EVENT SETUP_ACK channel=%d\n", e->setup_ack.channel);
		if (getenv("PEER_MORE") && e->setup_ack.call == p->call) {
			const char *d;

			for (d = getenv("PEER_MORE"); *d; d++)
				pri_information(p->pri, p->call, *d);
		}
		break;
	case PRI_EVENT_INFO_RECEIVED:
		printf("EVENT INFO_RECEIVED digits=%s complete=%d\n", e->ring.callednum,
		       e->ring.complete);
		if (!strncmp(p->action, "overlap:", 8)) {
			append_digits(p, e->ring.callednum);
			if ((int)strlen(p->digits) >= atoi(p->action + 8)) {
				int ch = e->ring.channel & 0xff;

				printf("EVENT ANSWERING channel=%d number=%s\n", ch, p->digits);
				pri_proceeding(p->pri, e->ring.call, ch, 0);
				pri_acknowledge(p->pri, e->ring.call, ch, 0);
				pri_answer(p->pri, e->ring.call, ch, 0);
			}
		}
		break;
	case PRI_EVENT_HANGUP_REQ:
		printf("EVENT HANGUP_REQ cause=%d\n", e->hangup.cause);
		audio_stop();
		pri_hangup(p->pri, e->hangup.call, e->hangup.cause);
		break;
	case PRI_EVENT_HANGUP:
		printf("EVENT HANGUP cause=%d\n", e->hangup.cause);
		audio_stop();
		pri_hangup(p->pri, e->hangup.call, e->hangup.cause);
		if (e->hangup.call == p->call)
			p->call = NULL;
		break;
	case PRI_EVENT_HANGUP_ACK:
		printf("EVENT HANGUP_ACK\n");
		break;
	case PRI_EVENT_PROCEEDING:
		printf("EVENT PROCEEDING channel=%d\n", e->proceeding.channel);
		break;
	case PRI_EVENT_RINGING:
		printf("EVENT RINGING channel=%d\n", e->ringing.channel);
		break;
	case PRI_EVENT_ANSWER:
		printf("EVENT ANSWER channel=%d\n", e->answer.channel);
		if (e->answer.call == p->call)
			p->hangup_at = now_s() + env_long("PEER_HOLD_MS", 1000) / 1000.0;
		audio_start(e->answer.channel & 0xff);
		break;
	case PRI_EVENT_RESTART:
		printf("EVENT RESTART channel=%d\n", e->restart.channel);
		break;
	case PRI_EVENT_RESTART_ACK:
		printf("EVENT RESTART_ACK channel=%d\n", e->restartack.channel);
		break;
	default:
		printf("EVENT %s\n", pri_event2str(e->e));
		break;
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct peer p;
	double deadline;
	int fd;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s listen|connect <socket-path> net|cpe "
			"answer|reject:<cause>|call:<number>|restart:<channel>|idle [out.pcap]\n",
			argv[0]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	deadline = now_s() + env_long("PEER_SECONDS", 30);
	if (!strcmp(argv[3], "net"))
		node_type = PRI_NETWORK;
	else if (!strcmp(argv[3], "cpe"))
		node_type = PRI_CPE;
	else {
		fprintf(stderr, "role must be net or cpe\n");
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.action = argv[4];
	if (strcmp(p.action, "answer") && strcmp(p.action, "idle") && strncmp(p.action, "call:", 5)
	    && strncmp(p.action, "reject:", 7) && strncmp(p.action, "restart:", 8)
	    && strncmp(p.action, "overlap:", 8)) {
		fprintf(stderr, "action must be answer, reject:<cause>, call:<number>, "
			"restart:<channel> or idle\n");
		return 1;
	}
	if (argc == 6)
		pcap_open(argv[5]);
	fd = open_span(argv[1], argv[2], deadline);
	if (getenv("PEER_BEARER"))
		bearer_fd = open_bearer(getenv("PEER_BEARER"));

	pri_set_message(lib_message);
	pri_set_error(lib_message);
	p.pri = pri_new_cb(fd, node_type, PRI_SWITCH_EUROISDN_E1, span_read, span_write, NULL);
	if (!p.pri) {
		fprintf(stderr, "pri_new_cb failed\n");
		return 1;
	}
	pri_set_debug(p.pri, (int)env_long("PEER_DEBUG", 0));
	if (!strncmp(p.action, "overlap:", 8) || getenv("PEER_MORE"))
		pri_set_overlapdial(p.pri, 1);
	if (getenv("PEER_T200"))
		pri_set_timer(p.pri, PRI_TIMER_T200, (int)env_long("PEER_T200", 1000));
	if (getenv("PEER_T203"))
		pri_set_timer(p.pri, PRI_TIMER_T203, (int)env_long("PEER_T203", 10000));
	if (getenv("PEER_N200"))
		pri_set_timer(p.pri, PRI_TIMER_N200, (int)env_long("PEER_N200", 3));

	for (;;) {
		struct pollfd pfds[2] = { { fd, POLLIN, 0 }, { bearer_fd, POLLIN, 0 } };
		struct pollfd pfd;
		struct timeval *next = pri_schedule_next(p.pri);
		double now = now_s();
		double wake = deadline;
		pri_event *e;
		int ms;

		if (next && next->tv_sec + next->tv_usec / 1e6 < wake)
			wake = next->tv_sec + next->tv_usec / 1e6;
		if (p.hangup_at > 0 && p.hangup_at < wake)
			wake = p.hangup_at;
		if (audio.channel && bearer_fd >= 0 && audio.next_send > 0 && audio.next_send < wake)
			wake = audio.next_send;
		ms = (int)((wake - now) * 1000);
		if (ms < 0)
			ms = 0;
		pfd.revents = 0;
		if (poll(pfds, bearer_fd >= 0 ? 2 : 1, ms) > 0) {
			pfd = pfds[0];
			if (bearer_fd >= 0 && (pfds[1].revents & POLLIN))
				audio_receive();
		}
		audio_send(now_s());
		if (pfd.revents) {
			if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
				e = pri_check_event(p.pri);
				if (e)
					on_event(&p, e);
			}
			if (far_end_closed || (pfd.revents & (POLLHUP | POLLERR) && !(pfd.revents & POLLIN))) {
				printf("RESULT OK\n");
				return 0;
			}
		}
		now = now_s();
		if (p.hangup_at > 0 && now >= p.hangup_at) {
			p.hangup_at = 0;
			if (p.call)
				pri_hangup(p.pri, p.call, PRI_CAUSE_NORMAL_CLEARING);
		}
		next = pri_schedule_next(p.pri);
		if (next && next->tv_sec + next->tv_usec / 1e6 <= now) {
			e = pri_schedule_run(p.pri);
			if (e)
				on_event(&p, e);
		}
		if (now >= deadline) {
			printf("RESULT TIMEOUT\n");
			return 2;
		}
	}
}
