/*
 * ward_attack: the catalogue. One table is the single source of the
 * report's attack list, docs/attack.md's table and docs/threat-model.md §6
 * (ward attack --catalogue prints it; the attack_docs test compares).
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "attack_priv.h"

static const ward_attack_def_t k_attacks[] = {
    {"boot.tampered_image", "secure_boot", "A tampered image at boot",
     "flip one bit of the unit's own running image, then (1) stage it with an install request, "
     "(2) write it over the primary slot, as a rewritten flash chip would",
     "the install is refused and the running image stays; the tampered primary does not run",
     {"sb.signing", "hard.secure_boot"}, 2,
     {"test_image_tamper", "test_boot_attacks"}, 2, ""},
    {"boot.unsigned_image", "secure_boot", "An unsigned image at boot",
     "the unit's own firmware built into an image with a newer version and no signature (a hash "
     "TLV only, as imgtool without -k): staged, then written over the primary slot",
     "refused for want of a signature (WARD_ERR_IMG_UNSIGNED), in both places",
     {"sb.signing", "hard.secure_boot"}, 2,
     {"test_image_tamper", "test_boot_attacks"}, 2, ""},
    {"boot.foreign_key", "secure_boot", "An image signed with the attacker's key",
     "the unit's own firmware, newer version, signed with a P-256 key the attacker made: staged, "
     "then written over the primary slot",
     "refused: the key is not the one whose hash is burnt into OTP (WARD_ERR_IMG_KEY)",
     {"sb.signing", "sb.provisioning", "hard.secure_boot"}, 3,
     {"test_image_tamper", "test_boot_attacks"}, 2, ""},
    {"boot.downgrade", "secure_boot", "A downgrade to older firmware",
     "genuine images signed with the fleet's boot key (or the older image a swap left in the "
     "staging slot): an older version with the same security counter, and an older version with "
     "a lower counter, staged; the lower counter also written over the primary slot",
     "the older version is refused at install (WARD_ERR_IMG_DOWNGRADE), the lower counter "
     "everywhere (WARD_ERR_IMG_SEC_CNT: below the OTP counter)",
     {"ota.rollback", "hard.ota"}, 2,
     {"test_boot_attacks", "test_ota_attacks"}, 2, "--fleet (the boot key), or an update done"},
    {"ota.mitm", "ota", "A man-in-the-middle update server",
     "divert the unit's connection to its update server (the profile's URL) to a TLS server of "
     "the attacker's with a certificate for the same host name from another CA; run the unit's "
     "update agent against it",
     "the TLS handshake fails (WARD_ERR_TLS_CERT): no HTTP request reaches the attacker, nothing "
     "is written",
     {"ota.https", "hard.tls"}, 2,
     {"net_nginx", "demo"}, 2, ""},
    {"ota.tampered_manifest", "ota", "A tampered update manifest",
     "with --fleet: a manifest signed with the fleet's OTA key, then one byte of its payload "
     "changed (the version); without: a manifest signed with the attacker's own key; served to "
     "the unit's update agent as by a compromised server or CDN",
     "the agent refuses it before anything is written (WARD_ERR_OTA_SIG; WARD_ERR_OTA_KEY for an "
     "unknown key)",
     {"ota.signed_offline", "ota.verify_before_write"}, 2,
     {"test_ota_attacks", "test_ota_manifest"}, 2, ""},
    {"ota.replayed_manifest", "ota", "A replayed update manifest",
     "with --fleet: two manifests signed with the fleet's OTA key, sequence 1 for a newer "
     "version (a withdrawn release) and sequence 2; the unit installs sequence 2, then "
     "sequence 1 is served again; without --fleet: a replay signed with the attacker's key",
     "the replay is refused (WARD_ERR_OTA_REPLAY: its sequence is not above the last accepted; "
     "WARD_ERR_OTA_KEY for an unknown key)",
     {"ota.signed_offline", "ota.rollback"}, 2,
     {"test_ota_attacks", "test_ota_redteam"}, 2, ""},
    {"ota.boot_key_manifest", "ota", "An update signed with the boot key",
     "an attacker who stole the build pipeline's boot key signs an update manifest with it",
     "the same manifest signed with the fleet's OTA key is accepted (the control), the one "
     "signed with the boot key refused: the boot key is not the OTA key (WARD_ERR_OTA_KEY); "
     "one key, one job (a unit whose OTP holds the boot key's hash as the OTA key's takes no "
     "update at all: ward's agent refuses to run so)",
     {"ota.signed_offline", "hard.ota"}, 2,
     {"test_ota_attacks", "audit_broken"}, 2, "--fleet (the boot key)"},
    {"ble.unpaired_write", "ble", "An unpaired write to a control characteristic",
     "while the owner's pairing window is open, a phone connects without pairing and writes the "
     "Relay and the Wi-Fi characteristics",
     "each write gets an ATT error (Insufficient Authentication or Encryption); nothing changes",
     {"ble.unencrypted_rejected", "ble.gatt_authenticated"}, 2,
     {"test_att", "ble_btvirt"}, 2, "an HCI controller (btvirt)"},
    {"ble.just_works_write", "ble", "A Just Works write to a control characteristic",
     "a phone without the label pairs Just Works (no MITM protection) during an open window, "
     "then writes the Relay and the Wi-Fi characteristics",
     "the writes get ATT Insufficient Authentication (0x05) (or the pairing itself is refused)",
     {"ble.gatt_authenticated"}, 1,
     {"test_att", "ble_btvirt", "demo"}, 3, "an HCI controller (btvirt)"},
    {"ble.outside_window", "ble", "Pairing outside the window",
     "after the owner bonded (the bond closes the window), a phone looks for the plug, then "
     "takes the owner's address, connects to the plug's directed advertising and asks to pair",
     "the plug does not advertise for it; the pairing is refused (SMP Pairing Not Supported); no "
     "write is accepted",
     {"ble.window"}, 1,
     {"test_smp_attacks", "test_ble_window"}, 2, "an HCI controller (btvirt)"},
    {"ble.invalid_curve", "ble", "An invalid-curve public key",
     "during an open window a phone pairs and sends a public key off the P-256 curve (the "
     "key's y set to 0: CVE-2018-5383)",
     "the pairing fails (SMP DHKey Check Failed, 0x0B) and no bond is stored",
     {"ble.sc_pairing"}, 1,
     {"test_smp_attacks", "test_ble_crypto"}, 2, "an HCI controller (btvirt)"},
    {"cred.flash_dump", "credentials", "A flash dump searched for every stored secret",
     "dump the flash and OTP and search them for every secret the unit holds: the vault's "
     "plaintexts (a bond's LTK and IRK too), the HSM's HUK, identity and pairing keys, the "
     "label's r (raw, both byte orders, hex); and the flash for credential-shaped plain text "
     "(password=, psk=, token=, ... a PEM private key), the vault's sectors too",
     "no secret and no plain-text credential is found",
     {"cred.no_plaintext", "cred.wifi_encrypted", "cred.keys_in_hsm", "hard.flash_encryption"}, 4,
     {"test_vault_attacks", "test_factory", "audit_broken"}, 3, ""},
    {"cred.cloned_flash", "credentials", "A cloned flash chip",
     "a credential stored in the unit's vault, then its flash.bin put into another unit of the "
     "same model (its own HSM: another HUK, another identity key; its monotonic counters "
     "advanced to the unit's), with every HSM key the attacker can reach programmed into it "
     "(over an open debug port, or found in the flash dump); the clone mounts the vault, reads "
     "the credential and signs for the unit's certificate",
     "the vault does not open on the clone (the vault key is derived from the unit's HUK) and "
     "the clone's HSM key is not the certificate's, so neither the credential nor the identity "
     "moves",
     {"cred.wifi_encrypted", "cred.keys_in_hsm"}, 2,
     {"test_vault_attacks", "test_sim_idkey"}, 2, ""},
    {"cred.vault_rollback", "credentials", "An older flash image written back",
     "store a credential, dump the flash, change the credential, write the old dump back (to "
     "restore an old password or a revoked bond)",
     "the vault refuses the old image (WARD_ERR_ROLLBACK: the HSM's counter is ahead)",
     {"cred.wifi_encrypted"}, 1,
     {"test_vault_attacks", "vault_rollback_model"}, 2, ""},
    {"cloud.cloned_cert", "cloud", "A cloned device certificate used from another device",
     "another unit presents this unit's cert.pem to the factory's Mosquitto (started with the "
     "factory's configuration), with its own HSM key, or with the unit's identity key when the "
     "attacker has it: read over an open debug port, found in the flash dump, or held by "
     "another unit of the fleet whose factory record has this certificate or key; the genuine "
     "unit connects first as the control",
     "the broker refuses the handshake (the CertificateVerify does not verify with the "
     "certificate's key); without --fleet the same signature is checked locally",
     {"cred.cloud_certificate", "cred.keys_in_hsm", "hard.cert_auth"}, 3,
     {"cloud_broker", "test_cloud"}, 2, "--fleet and mosquitto (else checked locally)"},
};

#define N_ATTACKS (sizeof k_attacks / sizeof k_attacks[0])

static const attack_fn k_fns[N_ATTACKS] = {
    attack_boot_tampered,       attack_boot_unsigned,        attack_boot_foreign_key,
    attack_boot_downgrade,      attack_ota_mitm,             attack_ota_tampered_manifest,
    attack_ota_replayed_manifest, attack_ota_boot_key_manifest, attack_ble_unpaired_write,
    attack_ble_just_works_write, attack_ble_outside_window,   attack_ble_invalid_curve,
    attack_cred_flash_dump,     attack_cred_cloned_flash,    attack_cred_vault_rollback,
    attack_cloud_cloned_cert,
};

size_t ward_attack_count(void)
{
    return N_ATTACKS;
}

const ward_attack_def_t *ward_attack_def(size_t i)
{
    return i < N_ATTACKS ? &k_attacks[i] : NULL;
}

attack_fn attack_fn_of(size_t i);
attack_fn attack_fn_of(size_t i)
{
    return i < N_ATTACKS ? k_fns[i] : NULL;
}

const char *ward_attack_pillar_title(const char *pillar)
{
    static const struct {
        const char *id, *title;
    } k[] = {{"secure_boot", "Secure boot"},
             {"ota", "Updates over the air"},
             {"ble", "BLE"},
             {"credentials", "Credential storage"},
             {"cloud", "Cloud identity"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(k[i].id, pillar) == 0) {
            return k[i].title;
        }
    }
    return pillar;
}

const char *ward_attack_verdict_name(ward_attack_verdict_t v)
{
    switch (v) {
    case WARD_ATTACK_REFUSED:
        return "refused";
    case WARD_ATTACK_SUCCEEDED:
        return "succeeded";
    case WARD_ATTACK_SKIPPED:
        return "skipped";
    case WARD_ATTACK_ERROR:
        return "error";
    default:
        return "not_run";
    }
}
