/* ward mqtt: internals shared by mqtt.c and mqtt_topic.c. */
#ifndef WARD_MQTT_PRIV_H
#define WARD_MQTT_PRIV_H

#include "ward/mqtt.h"

/* n bytes of well-formed UTF-8 (RFC 3629: no overlong form, no surrogate,
 * nothing above U+10FFFF) without U+0000: an MQTT string (spec 1.5.3). */
bool ward_mqtt_utf8_ok(const uint8_t *s, size_t n);

#endif /* WARD_MQTT_PRIV_H */
