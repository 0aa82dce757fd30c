/*
 * ward image internals for src/boot: validation of an info that
 * ward_image_parse has just filled. ward_image_validate first checks that
 * a caller's info holds together (offsets consistent, TLV values inside
 * their areas: a caller bug otherwise); an info straight from the parser
 * holds together by construction, and the boot core, which parses and
 * validates in one function, skips that second look (about 200 bytes of
 * the Cortex-M bootloader). Everything else is ward_image_validate.
 */
#ifndef WARD_IMAGE_PRIV_H
#define WARD_IMAGE_PRIV_H

#include "ward/image.h"

/* ward_image_validate for an info that ward_image_parse filled (WARD_OK)
 * and nothing has modified since; info, read, trust, trust->key_hash and
 * fp non-NULL (ward_image_validate checks them). *fp gets the first 4
 * bytes of the SHA-256 computed over the bytes read (which image this is,
 * as authenticated: on success they equal the SHA256 TLV's); untouched
 * when the hash could not be computed. */
ward_fih_t ward_image_validate_parsed(const ward_image_info_t *info, ward_image_read_fn read,
                                      void *rctx, const ward_image_trust_t *trust,
                                      ward_err_t *reason, uint32_t *fp);

#endif /* WARD_IMAGE_PRIV_H */
