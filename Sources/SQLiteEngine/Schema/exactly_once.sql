-- Migration "exactly-once": clients' idempotency keys of transactions (IdempotencyRecord), forgotten
-- after their retention; transactions found by nonce (ContentStore.resolve). One server writes a
-- data directory, so it keeps no module claims.
CREATE TABLE "idempotency_key" (
    "module" TEXT NOT NULL, "key" TEXT NOT NULL, "transaction_id" TEXT NOT NULL, "time" INTEGER NOT NULL,
    PRIMARY KEY ("module", "key")) WITHOUT ROWID;
CREATE INDEX "idempotency_key_time" ON "idempotency_key"("time");
CREATE INDEX "ledger_transaction_nonce" ON "ledger_transaction"("nonce");
