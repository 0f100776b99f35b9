/*
 * hdlc-peer: spandsp's HDLC (an independent implementation) on both ends of a bit
 * stream, to check tdm::hdlc against.
 *
 *   hdlc rx msb|lsb   stream bytes on stdin -> one line per frame on stdout:
 *                     "FRAME <hex>" (FCS good, FCS not shown) or "BAD <hex>"
 *   hdlc tx msb|lsb   one frame per line on stdin, in hex -> the stream on stdout:
 *                     flags, the frames (FCS added, zero bits inserted), flags
 *
 * msb: the first bit on the line is the most significant bit of each stream byte (a
 * PCM timeslot octet); lsb: the least significant. Frames use the 16-bit ITU FCS.
 * Build: gcc -O2 -Wall -o hdlc hdlc.c -lspandsp
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

static int msb_first;

static void print_hex(const char *tag, const uint8_t *p, int len)
{
	int i;

	printf("%s ", tag);
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static void on_frame(void *user_data, const uint8_t *pkt, int len, int ok)
{
	(void)user_data;
	/* len <= 0: status reports (carrier, framing), not frames. */
	if (len <= 0)
		return;
	print_hex(ok ? "FRAME" : "BAD", pkt, len);
}

static int rx(void)
{
	hdlc_rx_state_t *s = hdlc_rx_init(NULL, 0, 1, 1, on_frame, NULL);
	int c, i;

	hdlc_rx_set_max_frame_len(s, 300);
	while ((c = getchar()) != EOF) {
		for (i = 0; i < 8; i++) {
			int bit = msb_first ? (c >> (7 - i)) & 1 : (c >> i) & 1;

			hdlc_rx_put_bit(s, bit);
		}
	}
	hdlc_rx_free(s);
	return 0;
}

static int underflow;

static void on_underflow(void *user_data)
{
	(void)user_data;
	underflow = 1;
}

/* Packs bits into stream bytes. */
static int acc, nacc;

static void put_bit(int bit)
{
	if (msb_first)
		acc |= (bit & 1) << (7 - nacc);
	else
		acc |= (bit & 1) << nacc;
	if (++nacc == 8) {
		putchar(acc);
		acc = 0;
		nacc = 0;
	}
}

static int tx(void)
{
	hdlc_tx_state_t *s = hdlc_tx_init(NULL, 0, 1, 0, on_underflow, NULL);
	char line[2048];
	uint8_t frame[1024];
	int i;

	hdlc_tx_set_max_frame_len(s, 300);
	hdlc_tx_flags(s, 2);
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strspn(line, "0123456789abcdefABCDEF") / 2;
		size_t k;

		for (k = 0; k < n; k++) {
			unsigned v;

			sscanf(line + 2 * k, "%2x", &v);
			frame[k] = (uint8_t)v;
		}
		if (n == 0)
			continue;
		/* Drain until the transmitter takes a frame. */
		while (hdlc_tx_frame(s, frame, n) < 0)
			put_bit(hdlc_tx_get_bit(s));
	}
	underflow = 0;
	hdlc_tx_flags(s, 4);
	for (i = 0; i < 8 * 400 * 4 && !underflow; i++)
		put_bit(hdlc_tx_get_bit(s));
	for (i = 0; i < 64; i++)
		put_bit(hdlc_tx_get_bit(s));
	hdlc_tx_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "msb") && strcmp(argv[2], "lsb"))) {
		fprintf(stderr, "usage: %s rx|tx msb|lsb\n", argv[0]);
		return 1;
	}
	msb_first = !strcmp(argv[2], "msb");
	if (!strcmp(argv[1], "rx"))
		return rx();
	if (!strcmp(argv[1], "tx"))
		return tx();
	fprintf(stderr, "usage: %s rx|tx msb|lsb\n", argv[0]);
	return 1;
}
