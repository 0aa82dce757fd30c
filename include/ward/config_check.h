/* ward: compile-time checks of the configuration in ward/config.h. */
#ifndef WARD_CONFIG_CHECK_H
#define WARD_CONFIG_CHECK_H

#if WARD_CONFIG_IMAGE_CHUNK < 64 || (WARD_CONFIG_IMAGE_CHUNK % 16) != 0
#error "WARD_CONFIG_IMAGE_CHUNK must be a multiple of 16 and at least 64"
#endif

#if WARD_CONFIG_IMAGE_MAX_TLV < 256 || WARD_CONFIG_IMAGE_MAX_TLV > 65535
#error "WARD_CONFIG_IMAGE_MAX_TLV must be in [256, 65535]"
#endif

#if WARD_CONFIG_BOOT_COPY_CHUNK < 32 || (WARD_CONFIG_BOOT_COPY_CHUNK % 32) != 0
#error "WARD_CONFIG_BOOT_COPY_CHUNK must be a multiple of 32"
#endif

#if WARD_CONFIG_OTP_ROLLBACK_BITS < 8 || (WARD_CONFIG_OTP_ROLLBACK_BITS % 8) != 0
#error "WARD_CONFIG_OTP_ROLLBACK_BITS must be a multiple of 8"
#endif

#if WARD_CONFIG_MAX_WRITE_SIZE != 1 && WARD_CONFIG_MAX_WRITE_SIZE != 2 && \
    WARD_CONFIG_MAX_WRITE_SIZE != 4 && WARD_CONFIG_MAX_WRITE_SIZE != 8 && \
    WARD_CONFIG_MAX_WRITE_SIZE != 16 && WARD_CONFIG_MAX_WRITE_SIZE != 32
#error "WARD_CONFIG_MAX_WRITE_SIZE must be a power of two in [1, 32]"
#endif

/* The vault (src/vault) stages programs in 64-byte chunks and starts its
 * entries after a 64-byte sector header: the write size must divide 64, as
 * every write size up to 32 does (src/vault/vault_priv.h checks it too). */
#if 64 % WARD_CONFIG_MAX_WRITE_SIZE != 0
#error "the vault needs a write size that divides 64"
#endif

#if WARD_CONFIG_BOOT_COPY_CHUNK % WARD_CONFIG_MAX_WRITE_SIZE != 0
#error "WARD_CONFIG_BOOT_COPY_CHUNK must be a multiple of WARD_CONFIG_MAX_WRITE_SIZE"
#endif

#endif /* WARD_CONFIG_CHECK_H */
