/*
 * tc_config.h: typed getters over environment variables (12-factor).
 *
 * Getters never abort: they record what was read and every problem (missing required
 * variable, unparsable or out-of-range value). After reading everything, a service calls
 * tc_config_check(), which logs all problems at once and returns TC_EINVAL, so one start-up
 * attempt reports every mistake. tc_config_log() logs the effective configuration with
 * secrets masked (variables read with tc_config_secret, and passwords inside URLs).
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tc_config tc_config_t;

tc_config_t *tc_config_new(void);
void tc_config_free(tc_config_t *cfg);

/* def == NULL means required. The returned string lives as long as cfg. */
const char *tc_config_str(tc_config_t *cfg, const char *name, const char *def);
/* Same, but the value is masked in tc_config_log(). */
const char *tc_config_secret(tc_config_t *cfg, const char *name, const char *def);
/* A required 32-byte secret key (DATA_KEK, EMAIL_INDEX_KEY, …) given as 64 hex characters or
 * base64: masked in the log, a problem recorded when it is missing or malformed. TC_OK when
 * out holds the key. */
int tc_config_key32(tc_config_t *cfg, const char *name, uint8_t out[32]);
/* Optional string; NULL when unset or empty, never an error. */
const char *tc_config_opt(tc_config_t *cfg, const char *name);
int64_t tc_config_int(tc_config_t *cfg, const char *name, int64_t def, int64_t min, int64_t max);
/* Required integer in [min, max]. */
int64_t tc_config_int_req(tc_config_t *cfg, const char *name, int64_t min, int64_t max);
/* true/false/1/0/yes/no/on/off */
bool tc_config_bool(tc_config_t *cfg, const char *name, bool def);
/* One of the NULL-terminated choices; returns its index (def_index when unset). */
int tc_config_enum(tc_config_t *cfg, const char *name, const char *const *choices, int def_index);

/* A comma- or whitespace-separated list of Kafka topics a service reads customers' events
 * from: 1 to max distinct "<name>-events" topics, never notification-events (it carries
 * invitation and password-reset links), into topics (max + 1 slots, NULL-terminated). *buf
 * (NULL or an earlier list, freed) owns the strings. Problems go into cfg. */
void tc_config_topics(tc_config_t *cfg, const char *name, const char *def, char **buf,
                      const char **topics, size_t max);
/* Records a problem found by the caller's own validation. */
void tc_config_fail(tc_config_t *cfg, const char *name, const char *problem);
/* Number of problems recorded. */
size_t tc_config_errors(const tc_config_t *cfg);
/* Problem i as "NAME: problem". */
const char *tc_config_error(const tc_config_t *cfg, int i);
/* Logs every problem and returns TC_EINVAL if any, TC_OK otherwise. */
int tc_config_check(const tc_config_t *cfg);
/* Logs the values read (secrets masked) as one structured line. */
void tc_config_log(const tc_config_t *cfg);

/* Masks the password of a URL (scheme://user:pass@host → scheme://user:***@host) into out. */
void tc_config_mask_url(const char *url, char *out, size_t outlen);

#endif
