-- billing: usage, invoices, credit notes and the double-entry ledger (issue 19's second
-- slice). Every amount is integer minor units.

-- Usage as it arrives from its sources, one row per billable fact. The id is the fact's own
-- (a workflow execution's id, a gateway usage window's id): a redelivery, or the same fact
-- through another event, is a no-op. period_key is set when the period the row falls in is
-- closed (by the periods job, '<subscription>@<end of the period, epoch ms>'), whether an
-- invoice billed it or the plan included it; a row that arrives after its period was closed
-- is counted in the next one, never lost and never counted twice.
CREATE TABLE usage_records (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL,
    metric      text        NOT NULL,
    quantity    bigint      NOT NULL CHECK (quantity >= 0),
    occurred_at timestamptz NOT NULL,
    source      text        NOT NULL,
    period_key  text,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_open ON usage_records (org_id, occurred_at) WHERE period_key IS NULL;

-- A plan change settles the usage so far under the plan it happened on: a pending item of
-- kind 'usage' carries the metric's quantity, inclusion and price.
ALTER TABLE pending_items DROP CONSTRAINT pending_items_kind_check;
ALTER TABLE pending_items ADD CONSTRAINT pending_items_kind_check CHECK (kind IN ('proration', 'usage'));
ALTER TABLE pending_items ADD COLUMN metric text;
ALTER TABLE pending_items ADD COLUMN quantity bigint;
ALTER TABLE pending_items ADD COLUMN included bigint;
ALTER TABLE pending_items ADD COLUMN per bigint;
ALTER TABLE pending_items ADD COLUMN unit_price_minor bigint;

-- The tax hook: a rate per country (basis points), and each org's billing profile.
CREATE TABLE tax_rates (
    country text    PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    rate_bp integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000)
);
CREATE TABLE billing_profiles (
    org_id     text        PRIMARY KEY,
    country    text        CHECK (country ~ '^[A-Z]{2}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Gap-free numbering per issuer: the counter row is locked by the transaction that takes a
-- number, so a rollback gives the number back and no two documents share one.
CREATE TABLE number_sequences (
    issuer text   NOT NULL,
    kind   text   NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    prefix text   NOT NULL,
    next   bigint NOT NULL DEFAULT 1 CHECK (next > 0),
    PRIMARY KEY (issuer, kind)
);

-- One invoice per subscription and period start (the period it opens): generation inside the
-- periods job's transaction, so two replicas or a crash mid-run can never bill a period twice.
CREATE TABLE invoices (
    id              text        PRIMARY KEY,
    org_id          text        NOT NULL,
    subscription_id text        NOT NULL REFERENCES subscriptions (id),
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    issuer          text        NOT NULL,
    number          text        UNIQUE,
    status          text        NOT NULL CHECK (status IN ('draft', 'finalized', 'paid', 'void')),
    currency        text        NOT NULL,
    subtotal_minor  bigint      NOT NULL,
    tax_rate_bp     integer     NOT NULL,
    tax_minor       bigint      NOT NULL,
    total_minor     bigint      NOT NULL,
    credited_minor  bigint      NOT NULL DEFAULT 0,
    country         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finalized_at    timestamptz,
    paid_at         timestamptz,
    voided_at       timestamptz,
    payment_ref     text,
    UNIQUE (subscription_id, period_start),
    CHECK (total_minor = subtotal_minor + tax_minor),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK (credited_minor >= 0 AND credited_minor <= greatest(total_minor, 0))
);
CREATE INDEX invoices_org ON invoices (org_id, created_at DESC);

CREATE TABLE invoice_lines (
    invoice_id       text    NOT NULL REFERENCES invoices (id),
    line_no          integer NOT NULL,
    kind             text    NOT NULL CHECK (kind IN ('base_fee', 'usage', 'proration')),
    description      text    NOT NULL,
    metric           text,
    quantity         bigint,
    included         bigint,
    per              bigint,
    unit_price_minor bigint,
    amount_minor     bigint  NOT NULL,
    period_start     timestamptz NOT NULL,
    period_end       timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, line_no)
);

-- A finalized invoice is immutable: its lines never change, and the invoice row only moves
-- draft -> finalized (number and time set) -> paid (time and reference set) | void (time set),
-- while credit notes raise credited_minor. Nothing else changes, and nothing is deleted.
CREATE FUNCTION invoices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoices are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status = 'draft' THEN
        IF NEW.status NOT IN ('draft', 'finalized') OR NEW.credited_minor <> 0 THEN
            RAISE EXCEPTION 'a draft invoice is finalized before anything else'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.org_id, NEW.subscription_id, NEW.period_start, NEW.period_end, NEW.issuer,
        NEW.number, NEW.currency, NEW.subtotal_minor, NEW.tax_rate_bp, NEW.tax_minor,
        NEW.total_minor, NEW.country, NEW.created_at, NEW.finalized_at)
       IS DISTINCT FROM
       (OLD.id, OLD.org_id, OLD.subscription_id, OLD.period_start, OLD.period_end, OLD.issuer,
        OLD.number, OLD.currency, OLD.subtotal_minor, OLD.tax_rate_bp, OLD.tax_minor,
        OLD.total_minor, OLD.country, OLD.created_at, OLD.finalized_at) THEN
        RAISE EXCEPTION 'a finalized invoice is immutable' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (OLD.status = 'finalized' AND NEW.status IN ('paid', 'void')) THEN
        RAISE EXCEPTION 'invoice % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status = OLD.status AND (NEW.paid_at, NEW.payment_ref, NEW.voided_at)
       IS DISTINCT FROM (OLD.paid_at, OLD.payment_ref, OLD.voided_at) THEN
        RAISE EXCEPTION 'a payment or void is recorded once' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.credited_minor < OLD.credited_minor OR
       (NEW.credited_minor <> OLD.credited_minor AND OLD.status = 'void') THEN
        RAISE EXCEPTION 'credit notes only add to a live invoice' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_guard();

CREATE FUNCTION invoice_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE status <> 'draft' AND id IN
               (CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.invoice_id END,
                CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.invoice_id END)) THEN
        RAISE EXCEPTION 'a finalized invoice''s lines are immutable' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();

CREATE TABLE credit_notes (
    id           text        PRIMARY KEY,
    org_id       text        NOT NULL,
    invoice_id   text        NOT NULL REFERENCES invoices (id),
    number       text        NOT NULL UNIQUE,
    amount_minor bigint      NOT NULL CHECK (amount_minor > 0),
    currency     text        NOT NULL,
    reason       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_notes_org ON credit_notes (org_id, created_at DESC);

-- The double-entry ledger, append-only: every invoice, payment, void and credit note is one
-- transaction whose entries balance (checked at commit); balances are derived, never stored.
-- Accounts (per org): receivable (what the org owes; negative: its credit), revenue,
-- tax_payable, cash.
CREATE TABLE ledger_transactions (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('invoice', 'payment', 'void', 'credit_note')),
    ref         text        NOT NULL, -- the invoice or credit note
    currency    text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, ref)
);
CREATE INDEX ledger_transactions_org ON ledger_transactions (org_id, occurred_at);

CREATE TABLE ledger_entries (
    transaction_id text   NOT NULL REFERENCES ledger_transactions (id),
    account        text   NOT NULL CHECK (account IN ('receivable', 'revenue', 'tax_payable', 'cash')),
    debit_minor    bigint NOT NULL DEFAULT 0 CHECK (debit_minor >= 0),
    credit_minor   bigint NOT NULL DEFAULT 0 CHECK (credit_minor >= 0),
    CHECK ((debit_minor = 0) <> (credit_minor = 0))
);
CREATE INDEX ledger_entries_txn ON ledger_entries (transaction_id);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER credit_notes_no_truncate BEFORE TRUNCATE ON credit_notes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Checked at commit for every transaction written and every entry added (an entry appended
-- later to a committed transaction is checked too).
CREATE FUNCTION ledger_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- an entry names its transaction, a transaction is its own id
    txn text := coalesce(to_jsonb(NEW) ->> 'transaction_id', to_jsonb(NEW) ->> 'id');
    d bigint;
    c bigint;
    n integer;
BEGIN
    SELECT coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*)
      INTO d, c, n FROM ledger_entries WHERE transaction_id = txn;
    IF n < 2 OR d <> c THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (debits %, credits %, % entries)',
            txn, d, c, n USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_balanced();
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_balanced();
