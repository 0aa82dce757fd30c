/* ward CLI: the subcommands, one group per file (cmd_<group>.c). */
#ifndef WARD_TOOLS_COMMANDS_H
#define WARD_TOOLS_COMMANDS_H

/* cmd_image.c: keys and signed images */
int ward_cmd_keygen(int argc, char **argv);
int ward_cmd_getpub(int argc, char **argv);
int ward_cmd_sign(int argc, char **argv);
int ward_cmd_verify(int argc, char **argv);
int ward_cmd_inspect(int argc, char **argv);

/* cmd_device.c: simulated devices (flash, OTP, HSM files) and booting */
int ward_cmd_device(int argc, char **argv);

/* cmd_vault.c: the credential vault of a simulated device */
int ward_cmd_vault(int argc, char **argv);

/* cmd_repo.c: the static update repository (publish, show) */
int ward_cmd_repo(int argc, char **argv);

/* cmd_ota.c: the update agent of a simulated device against a server */
int ward_cmd_ota(int argc, char **argv);

/* cmd_factory.c: the production line (init, provision, eol) */
int ward_cmd_factory(int argc, char **argv);
/* cmd_cloud.c: a simulated device's cloud client (MQTT over mutual TLS) */
int ward_cmd_cloud(int argc, char **argv);

/* cmd_fleet.c: the fleet side: rotation service, revocation, CRL */
int ward_cmd_fleet(int argc, char **argv);

/* cmd_board.c: the Cortex-M port's board files (list, show) */
int ward_cmd_board(int argc, char **argv);

/* cmd_explain.c: what a status code means and what to do */
int ward_cmd_explain(int argc, char **argv);

/* cmd_ble.c: BLE, the plug's side and the phone's side, BlueZ's emulator */
int ward_cmd_ble(int argc, char **argv);

/* cmd_audit.c: the security audit of a unit; the device profile */
int ward_cmd_audit(int argc, char **argv);
int ward_cmd_profile(int argc, char **argv);

/* cmd_attack.c: the attack catalogue run against a unit */
int ward_cmd_attack(int argc, char **argv);

/* cmd_demo.c: the whole story on a simulated device */
int ward_cmd_demo(int argc, char **argv);

#endif
