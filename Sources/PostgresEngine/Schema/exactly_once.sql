-- Migration 2, "exactly-once": clients' idempotency keys of transactions, module claims between
-- servers (ModuleClaim), and transactions found by nonce.
CREATE TABLE idempotency_key (
    module text NOT NULL, key text NOT NULL, transaction_id text NOT NULL, time bigint NOT NULL,
    PRIMARY KEY (module, key));
CREATE INDEX idempotency_key_time ON idempotency_key (time);
CREATE TABLE module_claim (module text PRIMARY KEY, owner text NOT NULL, until bigint NOT NULL);
CREATE INDEX ledger_transaction_nonce ON ledger_transaction (nonce);
