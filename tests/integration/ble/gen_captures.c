/*
 * Writes two btsnoop captures for test_capture_rules.sh:
 *   DIR/good.btsnoop  well-formed ATT, SMP and L2CAP PDUs of every kind the
 *                     rules look at: check_capture.sh must pass it;
 *   DIR/bad.btsnoop   one frame per rule, each breaking exactly that rule
 *                     (a length, a reserved value), and DIR/bad.want: the
 *                     violations check_capture.sh must find in it.
 * Most of the bad frames pass tshark's own malformed check: they show what
 * the rules add.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/ble_posix.h"
#include "ward/util.h"

static ward_btsnoop_t g_s;
static FILE *g_want;

/* One L2CAP PDU in one ACL packet on handle 0x0040, flags given. */
static void acl(uint16_t flags, uint16_t cid, const uint8_t *pdu, size_t len)
{
    uint8_t h4[600];
    h4[0] = 0x02;
    ward_store_le16(h4 + 1, (uint16_t)(0x0040 | flags));
    ward_store_le16(h4 + 3, (uint16_t)(4 + len));
    ward_store_le16(h4 + 5, (uint16_t)len);
    ward_store_le16(h4 + 7, cid);
    memcpy(h4 + 9, pdu, len);
    if (ward_btsnoop_write(&g_s, false, h4, 9 + len) != WARD_OK) {
        exit(1);
    }
}

static void att(const uint8_t *pdu, size_t len)
{
    acl(0x2000, 4, pdu, len);
}

static void smp(const uint8_t *pdu, size_t len)
{
    acl(0x2000, 6, pdu, len);
}

/* A bad frame and the rules it must trip. */
static void bad(const char *rules)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", rules);
    for (char *r = strtok(buf, " "); r != NULL; r = strtok(NULL, " ")) {
        fprintf(g_want, "%s\n", r);
    }
}

static void open_capture(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ward_btsnoop_open(&g_s, path) != WARD_OK) {
        perror(path);
        exit(1);
    }
    /* The link the PDUs travel on: LE Connection Complete, handle 0x0040. */
    const uint8_t cc[22] = {0x04, 0x3E, 19,   0x01, 0x00, 0x40, 0x00, 0x01, 0x00, 0xA1, 0xA2,
                            0xA3, 0xA4, 0xA5, 0xA6, 0x18, 0x00, 0x00, 0x00, 0x90, 0x01, 0x00};
    if (ward_btsnoop_write(&g_s, false, cc, sizeof cc) != WARD_OK) {
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    uint8_t key[64];
    memset(key, 0x11, sizeof key);

    /* ---- good ---- */
    open_capture(argv[1], "good.btsnoop");
    const uint8_t mtu[3] = {0x02, 247, 0};
    att(mtu, 3);
    const uint8_t err[5] = {0x01, 0x0A, 3, 0, 0x05};
    att(err, 5);
    const uint8_t rbt[16] = {0x09, 7, 2, 0, 2, 3, 0, 0x00, 0x2A, 4, 0, 2, 5, 0, 0x01, 0x2A};
    att(rbt, 16);
    const uint8_t grp[14] = {0x11, 6, 1, 0, 3, 0, 0x00, 0x18, 4, 0, 9, 0, 0x0F, 0x18};
    att(grp, 14);
    const uint8_t fi[10] = {0x05, 1, 1, 0, 0x00, 0x28, 2, 0, 0x03, 0x28};
    att(fi, 10);
    const uint8_t ex[2] = {0x18, 1};
    att(ex, 2);
    const uint8_t preq[7] = {0x01, 0x03, 0x00, 0x2D, 16, 0x0D, 0x0F};
    smp(preq, 7);
    uint8_t pk[65] = {0x0C};
    memcpy(pk + 1, key, 64);
    smp(pk, 65);
    const uint8_t pf[2] = {0x05, 0x0B};
    smp(pf, 2);
    const uint8_t rej[6] = {0x01, 0x07, 2, 0, 0, 0};
    acl(0x2000, 5, rej, 6);
    if (ward_btsnoop_close(&g_s) != WARD_OK) {
        return 1;
    }

    /* ---- bad ---- */
    char path[512];
    snprintf(path, sizeof path, "%s/bad.want", argv[1]);
    g_want = fopen(path, "w");
    if (g_want == NULL) {
        perror(path);
        return 1;
    }
    open_capture(argv[1], "bad.btsnoop");
    const uint8_t b1[4] = {0x0A, 3, 0, 0}; /* Read Request, one byte too many */
    att(b1, 4);
    bad("att-read-req-len");
    const uint8_t b2[5] = {0x01, 0x0A, 3, 0, 0x00}; /* Error Response with code 0 */
    att(b2, 5);
    bad("att-error-code-0");
    const uint8_t b3[12] = {0x09, 7, 2, 0, 2, 3, 0, 0x00, 0x2A, 4, 0, 2}; /* ragged list */
    att(b3, 12);
    bad("att-read-by-type-rsp-len");
    const uint8_t b4[7] = {0x11, 5, 1, 0, 3, 0, 0x00}; /* group entry of 5 */
    att(b4, 7);
    bad("att-read-group-rsp-len");
    const uint8_t b5[2] = {0x18, 2}; /* Execute Write, reserved flags */
    att(b5, 2);
    bad("att-exec-write-flags");
    const uint8_t b6[3] = {0x02, 22, 0}; /* MTU below 23 */
    att(b6, 3);
    bad("att-mtu-below-23");
    const uint8_t b7[2] = {0x13, 0}; /* Write Response with a byte */
    att(b7, 2);
    bad("att-write-rsp-len");
    const uint8_t b8[8] = {0x01, 0x03, 0x00, 0x2D, 16, 0x0D, 0x0F, 0}; /* Pairing Request + 1 */
    smp(b8, 8);
    bad("smp-pairing-len");
    const uint8_t b9[7] = {0x01, 0x05, 0x00, 0x2D, 16, 0x0D, 0x0F}; /* IO capability 5 */
    smp(b9, 7);
    bad("smp-io-capability");
    const uint8_t b10[7] = {0x02, 0x03, 0x00, 0x2D, 6, 0x0D, 0x0F}; /* key size 6 */
    smp(b10, 7);
    bad("smp-key-size");
    const uint8_t b11[7] = {0x01, 0x03, 0x00, 0x6D, 16, 0x0D, 0x0F}; /* AuthReq bit 6 */
    smp(b11, 7);
    bad("smp-authreq-reserved");
    const uint8_t b12[2] = {0x05, 0x00}; /* Pairing Failed, reason 0 */
    smp(b12, 2);
    bad("smp-reason-reserved");
    const uint8_t b13[7] = {0x01, 0x03, 0x02, 0x2D, 16, 0x0D, 0x0F}; /* OOB flag 2 */
    smp(b13, 7);
    bad("smp-oob-flag");
    const uint8_t b14[7] = {0x01, 0x03, 0x00, 0x2D, 16, 0x1D, 0x0F}; /* key dist bit 4 */
    smp(b14, 7);
    bad("smp-key-dist-reserved");
    const uint8_t b15[2] = {0x0F, 0x00}; /* reserved opcode */
    smp(b15, 2);
    bad("smp-opcode-reserved");
    smp(pk, 64); /* Public Key one byte short: tshark's own verdict too */
    bad("smp-public-key-len malformed");
    const uint8_t b17[3] = {0x0A, 3, 0}; /* a dynamic CID on an LE link */
    acl(0x2000, 0x0040, b17, 3);
    bad("l2cap-le-cid");
    const uint8_t b18[8] = {0x01, 0x07, 2, 0, 0, 0, 0xEE, 0xEE}; /* cmd length 2 of 4 */
    acl(0x2000, 5, b18, 8);
    bad("l2cap-signal-len malformed");
    const uint8_t b19[6] = {0x01, 0x00, 2, 0, 0, 0}; /* identifier 0 */
    acl(0x2000, 5, b19, 6);
    bad("l2cap-signal-ident-0");
    acl(0x6000, 4, mtu, 3); /* broadcast flag on LE */
    bad("acl-bc");
    uint8_t big[300];
    memset(big, 0, sizeof big);
    big[0] = 0x52; /* a Write Command in a 304-byte ACL packet */
    att(big, sizeof big);
    bad("acl-le-length");
    fclose(g_want);
    return ward_btsnoop_close(&g_s) == WARD_OK ? 0 : 1;
}
