/*
 * invoicing.h: issuing and finalizing invoices, inside the periods job's transactions.
 *
 * An invoice is issued when a subscription's period closes and the next one opens: the base
 * fee of the opened period (in advance, as Stripe bills), the usage of the closed period
 * beyond what its price included (in arrears; none for a trial), and the items plan changes
 * left. Nothing owed: no invoice. A draft is finalized after BILLING_FINALIZE_AFTER_MS: it
 * takes the issuer's next number and its ledger transaction, and is immutable from then on.
 */
#ifndef BILLING_INVOICING_H
#define BILLING_INVOICING_H

#include "billing_app.h"
#include "billing_model.h"
#include "invoice_model.h"
#include "tc/tc_db.h"

/* Closes the org's open usage before until_ms under key and rates it as the subscription
 * `as` was (its plan and price version, the inclusion whole; nothing for a trial or a metric
 * the plan does not meter): the lines are appended to lines[*n] (TC_EINVAL rather than
 * closing usage beyond cap lines). Used when a period closes and when a plan changes. */
int usage_settle(tc_dbconn_t *tx, const bill_sub_t *as, int64_t until_ms, const char *key,
                 bill_line_t *lines, int *n, int cap);
/* closed: the subscription as its ended period was; opened: after the roll. */
int invoice_issue(billing_app_t *app, tc_dbconn_t *tx, const bill_sub_t *closed,
                  const bill_sub_t *opened);
/* Pays finalized invoice id (locked here) by reference (a transfer, a provider's payment):
 * status paid and the ledger's payment (Dr cash, Cr receivable) for what credit notes left,
 * and a plan dunning held comes back when nothing else overdue holds it (dunning_settled).
 * TC_ECONFLICT with *why when the invoice is not finalized; TC_ENOTFOUND without it. */
int invoice_pay(tc_dbconn_t *tx, const char *id, const char *reference, const char **why);
/* After an invoice of the org was paid, voided or credited: when its plan is held for
 * invoices past their grace and none of them is owed any more, the plan it had comes back
 * (dunning.c). */
int dunning_settled(tc_dbconn_t *tx, const char *org_id);
/* Finalizes one due draft (none of skip, an array literal of ids) in the caller's
 * transaction: TC_OK, TC_ENOTFOUND when none is due. id (n bytes) names the draft tried. */
int invoice_finalize_in(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n);

#endif
