/* ward hci: internals shared by hci.c and l2cap.c. */
#ifndef WARD_BLE_HCI_PRIV_H
#define WARD_BLE_HCI_PRIV_H

#include "ward/hci.h"

/* H4 packet types. */
#define H4_CMD 0x01u
#define H4_ACL 0x02u
#define H4_SCO 0x03u
#define H4_EVT 0x04u
#define H4_ISO 0x05u

/* Connection encryption states (ward_hci_conn_t.enc_state). */
enum {
    ENC_OFF = 0,     /* not encrypted (never, or it failed) */
    ENC_PENDING = 1, /* an LTK was handed to the controller */
    ENC_KEYSIZE = 2, /* the controller says encrypted; reading the key size */
    ENC_ON = 3       /* encrypted, key size known */
};

/* Who queued a command: the engine reports its own failures itself. */
enum { OWNER_ENGINE = 0, OWNER_USER = 1 };

/* The engine's own queue reserve, so an LTK reply always finds a slot. */
#define CMD_RESERVED 2u

ward_hci_conn_t *ward_hci_conn_find(ward_hci_t *hci, uint16_t handle);
ward_err_t ward_hci_cmd_queue(ward_hci_t *hci, uint16_t opcode, const uint8_t *param,
                              size_t len, uint8_t owner);

/* l2cap.c */
void ward_l2cap_acl_in(ward_hci_t *hci, const uint8_t *pkt, size_t len);
void ward_l2cap_conn_drop(ward_hci_t *hci, ward_hci_conn_t *c);
bool ward_l2cap_acl_out(ward_hci_t *hci, uint8_t *out, size_t cap, size_t *len);
/* Hand on (deliver) or forget the PDUs held for a link while its key size
 * was read. */
void ward_l2cap_release_held(ward_hci_t *hci, uint16_t handle, bool deliver);

#endif /* WARD_BLE_HCI_PRIV_H */
