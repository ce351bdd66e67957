/*
 * tc_revoke.h: revoked sessions, users and API keys, so that an access token stops working
 * within seconds of a logout, a refresh-token reuse, a suspension or a key revocation instead
 * of at its expiry (ASVS 3.3.1). Every token verifier of the fleet holds one (tc_auth), fed
 * from auth-events by a tail reader (tc_service):
 *
 *   com.techcorp.auth.session_revoked       session_id → that session's tokens;
 *                                           session_id "all" → every token of user_id
 *   com.techcorp.auth.refresh_token_reused  session_id → that session's tokens
 *   com.techcorp.auth.access_revoked        user_id → every token of the user
 *   com.techcorp.auth.api_key_revoked       key_id → every token minted for the key
 *
 * A logout-everywhere refuses the tokens issued (iat) in a second before it, so a login right
 * after it works; a suspension or a key revocation refuses its own second's tokens as well. An
 * entry is kept as long as a token issued before it can live (the longest access-token lifetime),
 * so the list stays small.
 */
#ifndef TC_REVOKE_H
#define TC_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tc/tc_auth.h"
#include "tc/tc_events.h"

typedef struct tc_revocations tc_revocations_t;

tc_revocations_t *tc_revocations_new(int64_t keep_ms);
void tc_revocations_free(tc_revocations_t *r);
/* at_ms: when it was revoked (epoch ms). */
int tc_revoke_session(tc_revocations_t *r, const char *sid, int64_t at_ms);
int tc_revoke_subject(tc_revocations_t *r, const char *sub, int64_t at_ms);
/* A subject that can get no new token (suspended, deleted, a revoked key): its tokens of the
 * revocation's own second are refused too. */
int tc_revoke_subject_for_good(tc_revocations_t *r, const char *sub, int64_t at_ms);
/* Applies one auth event (other types are ignored); TC_EINVAL for a revocation it cannot
 * read. */
int tc_revocations_apply(tc_revocations_t *r, const tc_event_t *ev);
/* Whether the principal's session, or its subject as of the token's issue time, is revoked. */
bool tc_revocations_refuse(tc_revocations_t *r, const tc_principal_t *p);
/* Entries held (expired ones are dropped as new ones arrive). */
size_t tc_revocations_count(tc_revocations_t *r);

#endif
