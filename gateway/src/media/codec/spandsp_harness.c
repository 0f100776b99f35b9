/* Test harness: spandsp 0.0.6 as an independent G.722 codec and DTMF generator/detector,
 * driven by the gateway's tests over stdin/stdout (built by the test with
 * `gcc spandsp_harness.c -lspandsp -lm`).
 *
 *   g722enc            16 kHz s16le PCM on stdin  -> G.722 octets on stdout
 *   g722dec            G.722 octets on stdin      -> 16 kHz s16le PCM on stdout
 *   dtmftx DIGITS ON OFF LEVEL
 *                      8 kHz s16le PCM of DIGITS (ON/OFF ms, LEVEL dBm0 per tone)
 *   dtmfrx             8 kHz s16le PCM on stdin   -> the digits detected, one line
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#define CHUNK 160

static int g722(int encode)
{
    g722_encode_state_t *enc = NULL;
    g722_decode_state_t *dec = NULL;
    if (encode)
        enc = g722_encode_init(NULL, 64000, 0);
    else
        dec = g722_decode_init(NULL, 64000, 0);
    if (enc == NULL && dec == NULL)
        return 1;
    int16_t pcm[2 * CHUNK];
    uint8_t code[2 * CHUNK];
    for (;;) {
        if (encode) {
            size_t n = fread(pcm, sizeof(int16_t), 2 * CHUNK, stdin);
            if (n == 0)
                break;
            int len = g722_encode(enc, code, pcm, (int) n);
            fwrite(code, 1, (size_t) len, stdout);
        } else {
            size_t n = fread(code, 1, CHUNK, stdin);
            if (n == 0)
                break;
            int len = g722_decode(dec, pcm, code, (int) n);
            fwrite(pcm, sizeof(int16_t), (size_t) len, stdout);
        }
    }
    return 0;
}

static int dtmftx(const char *digits, int on_ms, int off_ms, int level)
{
    dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
    if (tx == NULL)
        return 1;
    dtmf_tx_set_timing(tx, on_ms, off_ms);
    dtmf_tx_set_level(tx, level, 0);
    dtmf_tx_put(tx, digits, -1);
    int16_t pcm[CHUNK];
    int len;
    while ((len = dtmf_tx(tx, pcm, CHUNK)) > 0)
        fwrite(pcm, sizeof(int16_t), (size_t) len, stdout);
    /* 100 ms of silence after the last digit. */
    memset(pcm, 0, sizeof(pcm));
    for (int i = 0; i < 5; i++)
        fwrite(pcm, sizeof(int16_t), CHUNK, stdout);
    return 0;
}

static int dtmfrx(void)
{
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
    if (rx == NULL)
        return 1;
    int16_t pcm[CHUNK];
    size_t n;
    char digits[256];
    size_t got = 0;
    while ((n = fread(pcm, sizeof(int16_t), CHUNK, stdin)) > 0) {
        dtmf_rx(rx, pcm, (int) n);
        got += dtmf_rx_get(rx, digits + got, (int) (sizeof(digits) - 1 - got));
    }
    digits[got] = '\0';
    printf("%s\n", digits);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "g722enc") == 0)
        return g722(1);
    if (argc >= 2 && strcmp(argv[1], "g722dec") == 0)
        return g722(0);
    if (argc >= 6 && strcmp(argv[1], "dtmftx") == 0)
        return dtmftx(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (argc >= 2 && strcmp(argv[1], "dtmfrx") == 0)
        return dtmfrx();
    fprintf(stderr, "usage: g722enc | g722dec | dtmftx DIGITS ON OFF LEVEL | dtmfrx\n");
    return 2;
}
