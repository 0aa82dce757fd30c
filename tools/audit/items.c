/*
 * ward_audit: the catalogue. Every checklist item of the seeds and every
 * provision of ETSI EN 303 645 that concerns a device, with the checks it
 * rests on, the attack, ward's defence and the tests that show it works.
 * The report, docs/audit.md's table and docs/threat-model.md §4 all come
 * from this table (`ward audit --catalogue`; the test audit_docs checks
 * the documents against it).
 */
#include <string.h>

#include "ward_audit.h"

#define C(x) WARD_AUDIT_C_##x
#define CHECKS(...) .checks = {__VA_ARGS__}, .n_checks = sizeof((ward_audit_check_t[]){__VA_ARGS__}) / sizeof(ward_audit_check_t)
#define T(label, ctest) {label, "ctest --preset host -R '^" ctest "$'"}
#define TESTS(...) .tests = {__VA_ARGS__}, .n_tests = sizeof((ward_audit_test_t[]){__VA_ARGS__}) / sizeof(ward_audit_test_t)

static const ward_audit_item_t k_items[] = {
    /* ---- seed 000: secure boot ---- */
    {.id = "sb.keys_offline", .pillar = "secure_boot", .source = "seed 000",
     .title = "Signing key pair generated and stored securely offline",
     .attack = "a stolen boot signing key signs images every unit boots",
     .defence = "boot and OTA keys made inside a PKCS#11 token (non-extractable) or kept as 0600 "
                "files on the offline factory machine; stations need only their public halves",
     CHECKS(C(F_KEYS_OFFLINE), C(F_KEYS_DISTINCT)),
     TESTS(T("test_pkcs11", "test_pkcs11"), T("factory_cli", "factory_cli"))},
    {.id = "sb.signing", .pillar = "secure_boot", .source = "seed 000",
     .title = "Firmware build pipeline includes signing step",
     .attack = "an unsigned or altered image is flashed and runs",
     .defence = "ward sign makes MCUboot v1 images (ECDSA P-256 over SHA-256); the boot verifies "
                "hash, key hash and signature of the image it runs",
     CHECKS(C(EOL_IMAGE), C(EOL_BOOT_KEY_HASH)),
     TESTS(T("test_image_tamper", "test_image_tamper"), T("cli_image", "cli_image"),
           T("image_interop_python", "image_interop_python"))},
    {.id = "sb.provisioning", .pillar = "secure_boot", .source = "seed 000",
     .title = "Manufacturing process includes key provisioning and secure boot enablement",
     .attack = "a unit leaves the line without a key hash or with secure boot off: any image runs",
     .defence = "ward factory provision burns and write-locks the boot key hash, the OTA key hash "
                "and the device id in OTP, then sets the secure-boot bit",
     CHECKS(C(EOL_BOOT_KEY_HASH), C(EOL_SECURE_BOOT), C(EOL_DEVICE_ID)),
     TESTS(T("test_factory: test_provision_eol_pass", "test_factory"),
           T("test_boot_attacks: test_secure_boot_without_key", "test_boot_attacks"),
           T("audit_broken: test_secure_boot_off", "audit_broken"))},
    {.id = "sb.eol_test", .pillar = "secure_boot", .source = "seed 000",
     .title = "Post-manufacture test confirms secure boot is active on every unit",
     .attack = "a unit whose secure boot failed to enable ships unnoticed",
     .defence = "ward factory eol boots each unit and fails it unless the boot enforced secure "
                "boot; the factory record states it per unit",
     CHECKS(C(EOL_BOOT), C(EOL_SECURE_BOOT), C(RECORD)),
     TESTS(T("test_factory: test_eol_secure_boot_off", "test_factory"),
           T("factory_cli", "factory_cli"), T("audit_broken: test_secure_boot_off", "audit_broken"))},

    /* ---- seed 000: BLE ---- */
    {.id = "ble.sc_pairing", .pillar = "ble", .source = "seed 000",
     .title = "LE Secure Connections pairing implemented, not legacy pairing",
     .attack = "legacy pairing's key is cracked from a sniffed pairing (Crackle); a KNOB-style "
               "key-size downgrade",
     .defence = "the SMP engine refuses a pairing without the SC bit (0x03) and keys below 16 "
                "bytes (0x06); P-256 keys validated",
     CHECKS(C(P_BLE_PAIRING)),
     TESTS(T("test_smp_attacks: test_legacy_and_key_size", "test_smp_attacks"),
           T("test_smp_attacks: test_initiator_refuses_legacy", "test_smp_attacks"),
           T("audit_broken: test_legacy_pairing", "audit_broken"))},
    {.id = "ble.window", .pillar = "ble", .source = "seed 000",
     .title = "Pairing window is time-limited and triggered by physical action",
     .attack = "anyone in radio range pairs with an always-pairable device, or guesses online",
     .defence = "pairing only within a window opened by the button (3 min by default, at most "
                "15), closed by the first bond, by time or after 5 failures, with back-off",
     CHECKS(C(P_BLE_WINDOW)),
     TESTS(T("test_ble_window", "test_ble_window"),
           T("test_smp_attacks: test_window_closed", "test_smp_attacks"),
           T("test_smp_attacks: test_wrong_passkey_lockout", "test_smp_attacks"))},
    {.id = "ble.gatt_authenticated", .pillar = "ble", .source = "seed 000",
     .title = "GATT characteristics require authenticated, encrypted connection for writes",
     .attack = "a Just Works (unauthenticated) pairing, made by a man in the middle, is used to "
               "switch the relay or rewrite Wi-Fi credentials",
     .defence = "every writable characteristic needs an encrypted link with an authenticated LE "
                "SC bond and a 16-byte key; the policy is checked twice before a handler runs",
     CHECKS(C(P_GATT_AUTH)),
     TESTS(T("test_att: test_policy_table", "test_att"),
           T("ble_btvirt: test_encryption_same_ltk", "ble_btvirt"),
           T("audit_broken: test_control_unauthenticated", "audit_broken"))},
    {.id = "ble.unencrypted_rejected", .pillar = "ble", .source = "seed 000",
     .title = "Unencrypted writes to control characteristics are rejected",
     .attack = "a write request or write command on a link that never encrypted (no pairing)",
     .defence = "the ATT server answers 0x05/0x0F and drops write commands on an unencrypted "
                "link; no characteristic offers write-without-response",
     CHECKS(C(P_GATT_ENC)),
     TESTS(T("test_att: test_refused_writes_touch_nothing", "test_att"),
           T("ble_btvirt: test_policy_on_unencrypted_link", "ble_btvirt"),
           T("audit_broken: test_control_unauthenticated", "audit_broken"))},

    /* ---- seed 000: OTA ---- */
    {.id = "ota.signed_offline", .pillar = "ota", .source = "seed 000",
     .title = "All firmware images signed with an offline key before distribution",
     .attack = "an update signed with a leaked or online key, or with the boot key, is pushed",
     .defence = "manifests are COSE_Sign1 ES256 with the OTA key, whose hash is burnt in OTP; "
                "the OTA key is never the boot key (init, provision and publish refuse it)",
     CHECKS(C(EOL_OTA_KEY_HASH), C(OTA_KEY_DISTINCT), C(F_KEYS_OFFLINE), C(F_KEYS_DISTINCT),
            C(F_MANIFESTS)),
     TESTS(T("test_ota_attacks: test_keys_and_signatures", "test_ota_attacks"),
           T("test_ota_attacks: test_device_key_provisioning", "test_ota_attacks"),
           T("audit_broken: test_ota_key_is_boot_key", "audit_broken"))},
    {.id = "ota.https", .pillar = "ota", .source = "seed 000",
     .title = "OTA transport uses HTTPS with server certificate verification",
     .attack = "a man in the middle serves another manifest or image over plain HTTP",
     .defence = "the agent takes https:// only (WARD_ERR_OTA_URL otherwise), TLS 1.3 with the "
                "factory CA pinned and the host name checked; the server serves TLS only",
     CHECKS(C(P_UPDATE_URL), C(PINNED_CA), C(F_REPO)),
     TESTS(T("test_net_url", "test_net_url"), T("net_nginx", "net_nginx"),
           T("audit_broken: test_update_over_http", "audit_broken"))},
    {.id = "ota.verify_before_write", .pillar = "ota", .source = "seed 000",
     .title = "Device verifies image signature before writing to flash",
     .attack = "a tampered block is written to the staging slot before anything is checked",
     .defence = "the manifest signature is checked first; every block is checked against the "
                "manifest's hash chain before it is written; the whole image as boot would",
     CHECKS(C(EOL_OTA_KEY_HASH), C(OTA_KEY_DISTINCT)),
     TESTS(T("test_ota_attacks: test_altered_byte_each_block", "test_ota_attacks"),
           T("test_ota_attacks: test_staged_image_refused", "test_ota_attacks"))},
    {.id = "ota.rollback", .pillar = "ota", .source = "seed 000",
     .title = "Rollback protection prevents downgrade to older firmware versions",
     .attack = "an older, validly signed image with a known hole is installed",
     .defence = "the image's security counter against a 512-bit OTP thermometer raised at "
                "confirm; older versions refused at install and by the agent",
     CHECKS(C(ROLLBACK)),
     TESTS(T("test_boot_attacks: test_downgrade", "test_boot_attacks"),
           T("test_boot_attacks: test_primary_sec_cnt_below_counter", "test_boot_attacks"),
           T("test_ota_attacks: test_device_refusals", "test_ota_attacks"))},
    {.id = "ota.staging", .pillar = "ota", .source = "seed 000",
     .title = "Staging partition model used — active firmware not overwritten until new image "
              "verified",
     .attack = "a bad or interrupted update bricks the device",
     .defence = "updates land in the secondary slot, are verified, swapped power-safely through "
                "a scratch sector with a journal, trial-booted and reverted unless confirmed",
     CHECKS(C(STAGING)),
     TESTS(T("test_boot_flow: test_trial_fails_reverts_at_once", "test_boot_flow"),
           T("test_powerfail_boot_l4", "test_powerfail_boot_l4"),
           T("test_powerfail_ota_nor", "test_powerfail_ota_nor"))},

    /* ---- seed 000: credential storage ---- */
    {.id = "cred.no_plaintext", .pillar = "credentials", .source = "seed 000",
     .title = "No plaintext credentials stored in flash",
     .attack = "a flash dump read with a clip reveals passwords, tokens or keys",
     .defence = "credentials are vault records (AEAD under an HSM-derived key); keys never leave "
                "the HSM; the audit scans flash and files for every secret it can know",
     CHECKS(C(SECRETS_HSM), C(SECRETS_VAULT), C(SECRETS_PATTERNS)),
     TESTS(T("test_vault_attacks: test_dump_has_no_secret", "test_vault_attacks"),
           T("test_factory: test_no_secret_leaves_the_hsm", "test_factory"),
           T("audit_broken: test_plaintext_secret", "audit_broken"))},
    {.id = "cred.wifi_encrypted", .pillar = "credentials", .source = "seed 000",
     .title = "Wi-Fi credentials encrypted using device-unique hardware key",
     .attack = "the home's Wi-Fi password is read from a dumped or cloned flash",
     .defence = "Wi-Fi credentials are written by the plug into the vault, encrypted under a key "
                "the HSM derives from its HUK; another unit cannot read the vault",
     CHECKS(C(EOL_HUK), C(VAULT), C(SECRETS_VAULT), C(P_CREDENTIALS)),
     TESTS(T("test_vault_attacks: test_other_device", "test_vault_attacks"),
           T("test_vault_attacks: test_dump_has_no_secret", "test_vault_attacks"),
           T("audit_broken: test_plaintext_secret", "audit_broken"))},
    {.id = "cred.cloud_certificate", .pillar = "credentials", .source = "seed 000",
     .title = "Cloud authentication uses certificate-based auth or encrypted token storage",
     .attack = "a stored cloud password or token is replayed from another device",
     .defence = "mutual TLS 1.3 with a device certificate for an HSM-held key; the broker "
                "requires client certificates and takes the CN as the identity",
     CHECKS(C(EOL_CERT_CHAIN), C(EOL_CERT_SUBJECT), C(EOL_CERT_KEY), C(P_BROKER),
            C(P_CREDENTIALS), C(F_BROKER_AUTH)),
     TESTS(T("cloud_broker", "cloud_broker"), T("test_cloud: test_rotation_checks", "test_cloud"))},
    {.id = "cred.keys_in_hsm", .pillar = "credentials", .source = "seed 000",
     .title = "Private keys stored in hardware security module, not accessible to application "
              "firmware",
     .attack = "the identity key is copied and the device cloned",
     .defence = "HUK, identity and pairing keys are generated inside the HSM; the port has no "
                "export call; derived keys are non-exportable PSA ids",
     CHECKS(C(EOL_HUK), C(EOL_IDENTITY_KEY), C(EOL_KEYS_NOT_EXPORTED), C(EOL_CERT_KEY),
            C(SECRETS_HSM)),
     TESTS(T("test_factory: test_no_secret_leaves_the_hsm", "test_factory"),
           T("test_sim_idkey", "test_sim_idkey"))},

    /* ---- seed 004: hardening ---- */
    {.id = "hard.default_passwords", .pillar = "hardening", .source = "seed 004",
     .title = "Change default passwords (no default or shared password or pairing secret)",
     .attack = "the same default password (Mirai) or the same pairing secret opens every unit",
     .defence = "no login exists; the pairing secret is a per-unit HSM key and r on the unit's "
                "own label; the factory register shows no key on two units",
     CHECKS(C(P_ACCOUNTS), C(LABEL), C(F_PAIRING_UNIQUE)),
     TESTS(T("test_label", "test_label"), T("test_factory: test_units_differ", "test_factory"),
           T("audit_broken: test_shared_pairing_key", "audit_broken"))},
    {.id = "hard.tls", .pillar = "hardening", .source = "seed 004",
     .title = "Enable encryption (TLS/DTLS) on the secure ports",
     .attack = "MQTT on 1883 or HTTP on 80 is read and altered on the network",
     .defence = "MQTT over TLS 1.3 on 8883 with client certificates, updates over HTTPS; the "
                "broker has one TLS listener and no 1883",
     CHECKS(C(P_SERVICES), C(P_BROKER), C(P_UPDATE_URL), C(F_BROKER_LISTENERS), C(F_REPO)),
     TESTS(T("cloud_broker", "cloud_broker"), T("net_nginx", "net_nginx"),
           T("audit_broken: test_broker_on_1883", "audit_broken"))},
    {.id = "hard.secure_boot", .pillar = "hardening", .source = "seed 004",
     .title = "Implement secure boot",
     .attack = "unsigned or tampered firmware runs",
     .defence = "the boot refuses any image whose hash, key hash or signature fails while the "
                "OTP secure-boot bit is set",
     CHECKS(C(EOL_SECURE_BOOT), C(EOL_IMAGE), C(EOL_BOOT_KEY_HASH)),
     TESTS(T("test_boot_attacks: test_unsigned", "test_boot_attacks"),
           T("test_boot_attacks: test_tampered", "test_boot_attacks"),
           T("test_boot_hostile", "test_boot_hostile"))},
    {.id = "hard.flash_encryption", .pillar = "hardening", .source = "seed 004",
     .title = "Enable flash encryption",
     .attack = "a flash dump reveals secrets stored in it",
     .defence = "no secret is stored in the clear: credentials in the AEAD vault (key in the "
                "HSM), keys in the HSM; the image is public and signed, not encrypted",
     CHECKS(C(VAULT), C(SECRETS_HSM), C(SECRETS_VAULT), C(SECRETS_PATTERNS)),
     TESTS(T("test_vault_attacks: test_dump_has_no_secret", "test_vault_attacks"),
           T("test_vault_hostile", "test_vault_hostile"),
           T("audit_broken: test_plaintext_secret", "audit_broken"))},
    {.id = "hard.unused_services", .pillar = "hardening", .source = "seed 004",
     .title = "Disable unused services",
     .attack = "a forgotten telnet, HTTP or plain MQTT service is the way in",
     .defence = "the image listens on nothing and connects only to the broker (8883) and the "
                "update server (443), both over TLS",
     CHECKS(C(P_SERVICES), C(P_FLOWS)),
     TESTS(T("segment_netns", "segment_netns"), T("audit_broken: test_listening_telnet", "audit_broken"))},
    {.id = "hard.debug", .pillar = "hardening", .source = "seed 004",
     .title = "Disable debug interfaces",
     .attack = "SWD/JTAG or a debug console reads the memory or runs code",
     .defence = "the factory burns the OTP debug lock; the profile's console is off and its port "
                "\"locked\", and the audit requires OTP and profile to agree",
     CHECKS(C(EOL_DEBUG_LOCK), C(P_DEBUG)),
     TESTS(T("test_factory: test_eol_debug_unlocked", "test_factory"),
           T("audit_broken: test_debug_unlocked", "audit_broken"))},
    {.id = "hard.cert_auth", .pillar = "hardening", .source = "seed 004",
     .title = "Use certificate authentication (unique per device, secure element, rotation, "
              "expiry at most 1 year, revocation)",
     .attack = "a shared, long-lived or unrevocable device certificate is reused by a clone",
     .defence = "one certificate per unit for its HSM key, valid at most 365 days, rotated by the "
                "fleet service, revoked through the CRL the broker reads",
     CHECKS(C(EOL_CERT_CHAIN), C(EOL_CERT_VALIDITY), C(EOL_CERT_SUBJECT), C(EOL_CERT_KEY),
            C(F_BROKER_AUTH), C(F_CERT_VALIDITY), C(F_IDENTITY_UNIQUE), C(F_CRL)),
     TESTS(T("cloud_broker", "cloud_broker"), T("test_factory: test_revocation", "test_factory"),
           T("audit_broken: test_certificate_5_years", "audit_broken"),
           T("audit_broken: test_shared_certificate", "audit_broken"))},
    {.id = "hard.ota", .pillar = "hardening", .source = "seed 004",
     .title = "Implement OTA updates",
     .attack = "a known hole cannot be patched in the field",
     .defence = "signed manifests and chained blocks over HTTPS, staging slot, trial boot and "
                "revert, anti-rollback counter",
     CHECKS(C(EOL_OTA_KEY_HASH), C(P_UPDATE_URL), C(ROLLBACK), C(STAGING)),
     TESTS(T("ota_e2e", "ota_e2e"), T("test_powerfail_ota_nor", "test_powerfail_ota_nor"))},
    {.id = "hard.segmentation", .pillar = "hardening", .source = "seed 004",
     .title = "Network segmentation",
     .attack = "a compromised device reaches the home LAN, or is reached from the Internet",
     .defence = "the device needs only 443 and 8883 out and nothing in: the IoT segment's "
                "ruleset (deploy/nftables/ward-iot.nft) allows exactly that",
     CHECKS(C(P_FLOWS)),
     TESTS(T("segment_netns", "segment_netns"))},
    {.id = "hard.monitoring", .pillar = "hardening", .source = "seed 004",
     .title = "Set up security monitoring",
     .attack = "refused boots, refused updates, vault tampering and pairing attacks go unseen",
     .defence = "the device publishes security events on devices/ID/events; the fleet "
                "service's ACL lets it read every device's events",
     CHECKS(C(P_EVENTS), C(F_MONITORING)),
     TESTS(T("test_cloud: test_event_json", "test_cloud"),
           T("test_cloud: test_client_tls_events", "test_cloud"), T("cloud_broker", "cloud_broker"))},

    /* ---- ETSI EN 303 645 ---- */
    {.id = "etsi.5.1", .pillar = "etsi", .source = "EN 303 645 5.1",
     .title = "No universal default passwords (5.1-1 unique per device; 5.1-5 brute force)",
     .attack = "one password opens every unit; online guessing",
     .defence = "no password; per-unit pairing secret on the label; a pairing window with a "
                "failure limit and back-off",
     CHECKS(C(P_ACCOUNTS), C(LABEL), C(F_PAIRING_UNIQUE), C(P_BLE_WINDOW)),
     TESTS(T("test_label", "test_label"),
           T("test_smp_attacks: test_wrong_passkey_lockout", "test_smp_attacks"),
           T("audit_broken: test_default_password", "audit_broken"))},
    {.id = "etsi.5.2", .pillar = "etsi", .source = "EN 303 645 5.2",
     .title = "Implement a means to manage reports of vulnerabilities",
     .attack = "-",
     .defence = "organisational: the maker's policy; the profile may name it (support.disclosure_url)",
     .na_reason = "organisational (5.2-1..3: the manufacturer publishes a disclosure policy and "
                  "acts on reports); a device image cannot show it. The profile's "
                  "support.disclosure_url is shown when set",
     CHECKS(C(P_SUPPORT)),
     TESTS(T("audit_report", "audit_report"))},
    {.id = "etsi.5.3", .pillar = "etsi", .source = "EN 303 645 5.3",
     .title = "Keep software updated (5.3-2 secure update; 5.3-9/10 authenticity, integrity)",
     .attack = "forged, downgraded or interrupted updates",
     .defence = "OTA key in OTP, signed manifests, hash chain, HTTPS, staging, anti-rollback",
     CHECKS(C(EOL_OTA_KEY_HASH), C(OTA_KEY_DISTINCT), C(P_UPDATE_URL), C(ROLLBACK), C(STAGING),
            C(F_MANIFESTS)),
     TESTS(T("test_ota_attacks", "test_ota_attacks"), T("ota_e2e", "ota_e2e"),
           T("test_ota_redteam", "test_ota_redteam"))},
    {.id = "etsi.5.4", .pillar = "etsi", .source = "EN 303 645 5.4",
     .title = "Securely store sensitive security parameters (5.4-1..4)",
     .attack = "keys and credentials read from flash, or the same key on every unit",
     .defence = "vault under an HSM key, keys in the HSM, per-unit identity bound to OTP, no "
                "shared key across the factory's units",
     CHECKS(C(SECRETS_HSM), C(SECRETS_VAULT), C(SECRETS_PATTERNS), C(EOL_HUK),
            C(EOL_KEYS_NOT_EXPORTED), C(EOL_DEVICE_ID), C(VAULT), C(F_IDENTITY_UNIQUE),
            C(F_PAIRING_UNIQUE)),
     TESTS(T("test_vault_attacks", "test_vault_attacks"),
           T("test_factory: test_units_differ", "test_factory"),
           T("audit_broken: test_plaintext_secret", "audit_broken"))},
    {.id = "etsi.5.5", .pillar = "etsi", .source = "EN 303 645 5.5",
     .title = "Communicate securely (5.5-1 best-practice crypto; 5.5-4/5 authenticate first; "
              "5.5-8 manage parameters)",
     .attack = "plain or weak channels; control without authentication; no revocation",
     .defence = "TLS 1.3 with mutual certificates, LE SC with authenticated bonds for control, "
                "rotation and CRL",
     CHECKS(C(P_SERVICES), C(P_BROKER), C(P_BLE_PAIRING), C(P_GATT_AUTH), C(F_BROKER_LISTENERS),
            C(F_BROKER_AUTH), C(F_CRL)),
     TESTS(T("cloud_broker", "cloud_broker"), T("test_smp_attacks", "test_smp_attacks"),
           T("test_att", "test_att"))},
    {.id = "etsi.5.6", .pillar = "etsi", .source = "EN 303 645 5.6",
     .title = "Minimize exposed attack surfaces (5.6-1 unused interfaces; 5.6-4 debug; 5.6-7 "
              "least privilege)",
     .attack = "open ports, a debug port, a device that can reach others' topics",
     .defence = "nothing listening, debug locked in OTP, console off, one topic subtree per "
                "device in the broker's ACL",
     CHECKS(C(P_SERVICES), C(P_DEBUG), C(EOL_DEBUG_LOCK), C(F_BROKER_ACL)),
     TESTS(T("cloud_broker", "cloud_broker"), T("audit_broken: test_debug_unlocked", "audit_broken"))},
    {.id = "etsi.5.7", .pillar = "etsi", .source = "EN 303 645 5.7",
     .title = "Ensure software integrity (5.7-1 secure boot; 5.7-2 alert on tampering)",
     .attack = "modified firmware runs; tampering goes unnoticed",
     .defence = "secure boot with reason codes; boot_refused / boot_reverted security events",
     CHECKS(C(EOL_BOOT), C(EOL_IMAGE), C(EOL_SECURE_BOOT), C(P_EVENTS)),
     TESTS(T("test_boot_attacks", "test_boot_attacks"), T("test_boot_fault", "test_boot_fault"),
           T("test_cloud: test_event_json", "test_cloud"))},
    {.id = "etsi.5.8", .pillar = "etsi", .source = "EN 303 645 5.8",
     .title = "Ensure that personal data is secure (5.8-1/2 in transit; 5.8-3 sensors "
              "documented)",
     .attack = "the relay's state or telemetry read off the air or the network",
     .defence = "TLS for every connection; the status characteristic needs an encrypted link; "
                "the profile lists the sensors",
     CHECKS(C(P_SERVICES), C(P_GATT_ENC), C(P_SENSORS)),
     TESTS(T("ble_btvirt: test_policy_on_unencrypted_link", "ble_btvirt"),
           T("cloud_broker", "cloud_broker"))},
    {.id = "etsi.5.9", .pillar = "etsi", .source = "EN 303 645 5.9",
     .title = "Make systems resilient to outages (5.9-2 recover cleanly from power loss)",
     .attack = "a power cut during an update or a vault write bricks the unit or loses data",
     .defence = "power-safe swap with a journal and trial/revert; power-safe vault; local BLE "
                "control works without the cloud",
     CHECKS(C(STAGING), C(VAULT)),
     TESTS(T("test_powerfail_boot_l4", "test_powerfail_boot_l4"),
           T("test_powerfail_vault_w8", "test_powerfail_vault_w8"),
           T("test_powerfail_ota_nor", "test_powerfail_ota_nor"))},
    {.id = "etsi.5.10", .pillar = "etsi", .source = "EN 303 645 5.10",
     .title = "Examine system telemetry data for security anomalies",
     .attack = "attacks on the fleet are not seen",
     .defence = "security events per device, read by the fleet service",
     CHECKS(C(P_EVENTS), C(F_MONITORING)),
     TESTS(T("test_cloud: test_client_tls_events", "test_cloud"), T("cloud_broker", "cloud_broker"))},
    {.id = "etsi.5.11", .pillar = "etsi", .source = "EN 303 645 5.11",
     .title = "Make it easy for users to delete user data (5.11-1 erasure on the device)",
     .attack = "a sold or returned unit still holds the owner's Wi-Fi credentials and bonds",
     .defence = "the factory-reset characteristic (authenticated) wipes the vault with every "
                "bond and credential",
     CHECKS(C(P_RESET)),
     TESTS(T("test_vault_review", "test_vault_review"), T("test_att: test_plug_service", "test_att"))},
    {.id = "etsi.5.12", .pillar = "etsi", .source = "EN 303 645 5.12",
     .title = "Make installation and maintenance easy (5.12-1..3 secure setup)",
     .attack = "users take the insecure path to set up the device",
     .defence = "the secure path is the easy one: scan the unit's label, pair by OOB, write "
                "Wi-Fi credentials; no password to set",
     CHECKS(C(LABEL), C(P_BLE_WINDOW)),
     TESTS(T("test_label", "test_label"), T("test_smp_attacks: test_oob_forgery", "test_smp_attacks"))},
    {.id = "etsi.5.13", .pillar = "etsi", .source = "EN 303 645 5.13",
     .title = "Validate input data (5.13-1)",
     .attack = "malformed PDUs, manifests, certificates or values crash or confuse the device",
     .defence = "exact lengths and ranges on every parser and value, each parser fuzzed",
     CHECKS(C(P_GATT_BOUNDS)),
     TESTS(T("fuzz_att_corpus", "fuzz_att_corpus"), T("fuzz_smp_corpus", "fuzz_smp_corpus"),
           T("fuzz_manifest_corpus", "fuzz_manifest_corpus"), T("test_att: test_exact_lengths", "test_att"))},
    {.id = "etsi.6", .pillar = "etsi", .source = "EN 303 645 6",
     .title = "Data protection provisions for consumer IoT (6-1..6-5)",
     .attack = "-",
     .defence = "organisational: transparency and consent are the maker's; the profile lists "
                "sensors and the event types the device reports",
     .na_reason = "organisational (6-1..6-5: information to users, consent, telemetry purposes); "
                  "the profile's sensors and security event types are shown as the device's side",
     CHECKS(C(P_SENSORS), C(P_EVENTS)),
     TESTS(T("audit_report", "audit_report"))},
};

size_t ward_audit_item_count(void)
{
    return sizeof k_items / sizeof k_items[0];
}

const ward_audit_item_t *ward_audit_item(size_t i)
{
    return i < ward_audit_item_count() ? &k_items[i] : NULL;
}

const char *ward_audit_pillar_title(const char *pillar)
{
    static const struct {
        const char *id, *title;
    } k[] = {{"secure_boot", "Secure boot"},        {"ble", "BLE"},
             {"ota", "OTA updates"},                {"credentials", "Credential storage"},
             {"hardening", "Hardening (seed 004)"}, {"etsi", "ETSI EN 303 645"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(pillar, k[i].id) == 0) {
            return k[i].title;
        }
    }
    return pillar;
}
