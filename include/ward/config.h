/*
 * ward compile-time configuration.
 *
 * Put your overrides in a header and build with
 *   -DWARD_CONFIG_USER_FILE='"my_ward_config.h"'
 * Every option below is a default that the user file may define first.
 * ward/config_check.h rejects impossible combinations at compile time.
 */
#ifndef WARD_CONFIG_H
#define WARD_CONFIG_H

#if defined(WARD_CONFIG_USER_FILE)
#include WARD_CONFIG_USER_FILE
#endif

/* Bytes read from flash at a time while hashing an image (stack buffer). */
#ifndef WARD_CONFIG_IMAGE_CHUNK
#define WARD_CONFIG_IMAGE_CHUNK 256
#endif

/* Largest protected + unprotected TLV area accepted, in bytes. */
#ifndef WARD_CONFIG_IMAGE_MAX_TLV
#define WARD_CONFIG_IMAGE_MAX_TLV 1024
#endif

/* Bytes copied at a time while swapping slots (buffer in ward_boot_ctx_t). */
#ifndef WARD_CONFIG_BOOT_COPY_CHUNK
#define WARD_CONFIG_BOOT_COPY_CHUNK 256
#endif

/* Bits of OTP used for the anti-rollback counter (thermometer code). */
#ifndef WARD_CONFIG_OTP_ROLLBACK_BITS
#define WARD_CONFIG_OTP_ROLLBACK_BITS 512
#endif

/* Largest flash write granularity supported, in bytes: 32 covers the
 * STM32H7's 256-bit flash words (MCUboot's BOOT_MAX_ALIGN is 32 too). The
 * boot journal keeps one record of this size on the stack. */
#ifndef WARD_CONFIG_MAX_WRITE_SIZE
#define WARD_CONFIG_MAX_WRITE_SIZE 32
#endif

/* Refuse installing an image whose version is older than the running one. */
#ifndef WARD_CONFIG_BOOT_DOWNGRADE_PREVENTION
#define WARD_CONFIG_BOOT_DOWNGRADE_PREVENTION 1
#endif

#include "ward/config_check.h"

#endif /* WARD_CONFIG_H */
