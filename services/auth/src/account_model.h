/*
 * account_model.h: auth's view of a person (DESIGN §6, README "Identity model"), free of I/O.
 *
 * An account is one user of one organization: auth's read model of the user service's user
 * (id, org, email, role, status, version) joined with the credential auth owns. Accounts are
 * per organization: one email address may have an account in several orgs, each with its own
 * password, sessions and second factor.
 */
#ifndef AUTH_ACCOUNT_MODEL_H
#define AUTH_ACCOUNT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "tc/tc_auth.h"

#define AUTH_ID_LEN 64

typedef struct {
    char user_id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
    char role[16];
    char status[16];     /* invited, active, suspended, deleted */
    char *email;         /* plaintext, owned */
    char *name;          /* owned, may be NULL */
    char *password_hash; /* Argon2id PHC string, owned; NULL until set */
    int64_t version;
} account_t;

void account_clear(account_t *a);

/* suspended or deleted: the person may no longer act, and what they hold is revoked. */
bool account_status_disabled(const char *status);
/* An active account with a password: a login may start a session for it. */
bool account_may_log_in(const account_t *a);
/* May single sign-on start a session for this account? An active one (the provider proved
 * who it is; no password needed), or an invited one while its invitation is open: signing
 * in through the org's provider accepts the invitation. */
bool account_may_sign_in_federated(const account_t *a, bool invitation_open);
/* In an org that requires single sign-on, may this account still log in with its password?
 * Owners only: the break-glass path when the provider is down or misconfigured. */
bool sso_password_allowed(const account_t *a);

/* A person's own token (a user of an org), not a service token and not an API key's: only
 * people manage sessions, passwords, second factors and API keys. */
bool auth_principal_is_person(const tc_principal_t *p);

/*
 * Which account a login is for. candidates are the live accounts of the email (of the given
 * org when the request named one); matched[i] tells whether the password fits candidate i.
 * Only accounts that may log in count.
 *   LOGIN_NONE       no account fits: the one 401 every failed login answers
 *   LOGIN_ONE        exactly one: *chosen is its index
 *   LOGIN_AMBIGUOUS  the password fits accounts of several orgs: 409 org_required naming them
 *                    (only now, after the password was proven, may the answer name orgs)
 */
typedef enum { LOGIN_NONE = 0, LOGIN_ONE, LOGIN_AMBIGUOUS } login_match_t;
login_match_t login_resolve(const account_t *candidates, const bool *matched, int n, int *chosen);

/*
 * A request needs the caller's own, active account (MFA enrolment and its confirmation and
 * removal, password change): ACCOUNT_OK, or why not — ACCOUNT_UNKNOWN when auth has no account
 * for the token's subject, ACCOUNT_DISABLED for a suspended or deleted one (403 either way: a
 * token outlives a suspension by up to its lifetime, the stored status decides).
 */
typedef enum { ACCOUNT_OK = 0, ACCOUNT_UNKNOWN, ACCOUNT_DISABLED } account_standing_t;
account_standing_t account_standing(const account_t *a, bool found);

#endif
